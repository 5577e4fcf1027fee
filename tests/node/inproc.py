"""An in-process node (node/app.py `Node`) on loopback ports, for tests of the client API and the
sequencer role that need to look inside the running roles (issue 6). Real gRPC, real ed25519,
real LevelDB; only the process boundary is missing."""
from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import AsyncIterator

from nacl.signing import SigningKey

from executor.tx import sign_payload
from node import config as config_mod
from node.app import Node
from node.keys import NodeKey
from proto.assetl2.v1 import tx_pb2
from support import free_port

DEVNET_CHAIN = "assetl2-devnet-1"  # the packaged devnet genesis the executor loads by default


def node_config(root: Path, roles: tuple[str, ...], chain: str = DEVNET_CHAIN, **sequencer):
    """A one-node config in `root` with the given roles and [sequencer] overrides."""
    raw = {
        "node": {"chain_id": chain, "data_dir": str(root / "data"), "roles": list(roles), "shutdown_grace_s": 1},
        "grpc": {"listen": f"127.0.0.1:{free_port()}"},
        "admin": {"listen": f"127.0.0.1:{free_port()}"},
        "peer": {"listen": f"127.0.0.1:{free_port()}"},
        "sequencer": {"empty_block_delay_ms": 20, **sequencer},
    }
    return config_mod.from_mapping(raw)


@contextlib.asynccontextmanager
async def running_node(root: Path, roles: tuple[str, ...] = ("executor", "sequencer"), **kw) -> AsyncIterator[Node]:
    """Start a node in this event loop; always shut it down."""
    node = Node(node_config(root, roles, **kw), NodeKey.generate())
    await node.start()
    try:
        yield node
    finally:
        await node.shutdown()


def signed_orders(n: int, chain: str = DEVNET_CHAIN, key: SigningKey | None = None, nonce0: int = 0) -> list[tx_pb2.Envelope]:
    """`n` signed (empty) place-order envelopes: cheap to make, each with a distinct id."""
    key = key or SigningKey.generate()
    until = int(time.time() * 1000) + 600_000
    out = []
    for i in range(n):
        p = tx_pb2.Payload(chain_id=chain, valid_until_ms=until, client_nonce=nonce0 + i)
        p.place_order.SetInParent()
        out.append(sign_payload(key, chain, p))
    return out
