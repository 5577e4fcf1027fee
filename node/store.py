"""The node's own metadata store: which chain and which node key a data directory belongs to.

A data directory is bound to one chain id and one node key on first start; starting it
again with another chain id or key is refused, so an operator cannot silently mix two
chains' state or run two identities over one set of consensus votes (DESIGN §7 safety).
"""
from __future__ import annotations

from pathlib import Path

import plyvel

NODE_DB = "node.db"
KEY_CHAIN_ID = b"chain_id"
KEY_NODE_ID = b"node_id"
KEY_FORMAT = b"format"
FORMAT_VERSION = b"1"


class DataDirError(RuntimeError):
    """The data directory cannot be used by this node; one line naming the cause."""


class NodeStore:
    def __init__(self, db: plyvel.DB, path: Path):
        self.db = db
        self.path = path

    @classmethod
    def open(cls, data_dir: Path, *, chain_id: str, node_id: str) -> "NodeStore":
        path = data_dir / NODE_DB
        try:
            db = plyvel.DB(str(path), create_if_missing=True)
        except plyvel.IOError as exc:
            raise DataDirError(f"{path}: cannot open ({exc}); is another node using this data_dir?") from None
        store = cls(db, path)
        try:
            store._bind(chain_id, node_id)
        except DataDirError:
            db.close()
            raise
        return store

    def _bind(self, chain_id: str, node_id: str) -> None:
        have_chain = self.db.get(KEY_CHAIN_ID)
        have_node = self.db.get(KEY_NODE_ID)
        if have_chain is None:
            with self.db.write_batch(sync=True) as wb:
                wb.put(KEY_FORMAT, FORMAT_VERSION)
                wb.put(KEY_CHAIN_ID, chain_id.encode())
                wb.put(KEY_NODE_ID, node_id.encode())
            return
        if have_chain.decode() != chain_id:
            raise DataDirError(
                f"{self.path}: data_dir belongs to chain {have_chain.decode()!r}, config says {chain_id!r}"
            )
        if have_node is not None and have_node.decode() != node_id:
            raise DataDirError(
                f"{self.path}: data_dir belongs to node {have_node.decode()}, key file is {node_id}"
            )

    def close(self) -> None:
        if not self.db.closed:
            self.db.close()
