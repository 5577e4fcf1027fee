"""How the three roles plug into the node process (DESIGN §1, §2).

A role is a service object with a start/stop lifecycle, a readiness flag, a contribution to
the node status, and the client-API methods it answers.  Roles never import ``node``; this
module is the one place that knows which role modules exist and in which order they start:

    executor  (applies decided blocks, serves proven reads)
    sequencer (orders transactions; hands decided blocks to the executor)
    batchposter (anchors executed batches on Solana)

Data flows one way along that list, so each role is constructed with the ones before it.
A role that is enabled in ``node.roles`` but has no factory here is reported as not built and
its client-API methods answer UNIMPLEMENTED (node/api.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import grpc
from prometheus_client import CollectorRegistry

from node.config import Config
from node.keys import NodeKey
from proto.assetl2.v1 import client_pb2

START_ORDER = ("executor", "sequencer", "batchposter")


@dataclass
class RoleContext:
    """What a role may use: config, identity, metrics, its own data directory, earlier roles."""

    cfg: Config
    key: NodeKey
    registry: CollectorRegistry
    started: dict[str, "RoleService"] = field(default_factory=dict)

    def data_dir(self, role: str) -> Path:
        path = self.cfg.data_dir / role
        path.mkdir(parents=True, exist_ok=True)
        return path


class RoleService(Protocol):
    """A running role.  ``start`` may raise RuntimeError with a one-line cause."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def ready(self) -> bool: ...

    def fill_status(self, status: client_pb2.NodeStatus) -> None:
        """Add this role's fields (height, view, batches, …) to the node status."""

    def grpc_services(self, server: grpc.aio.Server) -> list[str]:
        """Register extra services on the client gRPC server; return their full names."""


RoleFactory = Callable[[RoleContext], RoleService]


def factories() -> dict[str, RoleFactory]:
    """The roles this release implements, by name.  Built roles register here."""
    # Imported here: the role modules import this one.
    from node import executor_role, poster_role, sequencer_role

    found: dict[str, RoleFactory] = {}
    found["executor"] = executor_role.factory
    found["sequencer"] = sequencer_role.factory
    found["batchposter"] = poster_role.factory
    return found
