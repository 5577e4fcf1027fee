"""An in-process node (node/app.py `Node`) on loopback ports, for tests of the client API and the
sequencer role that need to look inside the running roles (issue 6). Real gRPC, real ed25519,
real LevelDB; only the process boundary is missing."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import AsyncIterator

from nacl.signing import SigningKey

import support
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


def signed_orders(n: int, key: SigningKey | None = None, nonce0: int = 0, chain: str = DEVNET_CHAIN) -> list[tx_pb2.Envelope]:
    """``support.signed_orders`` for this harness's chain."""
    return support.signed_orders(n, chain, key, nonce0)
