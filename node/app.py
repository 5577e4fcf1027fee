"""One node process: wires config, key, stores, roles, the gRPC and admin servers (DESIGN §1, §9).

Start-up order is chosen so that a failure leaves nothing half-done: the config and key are
checked before anything is opened, the ports are bound before the data directory is
created, and any failure after that unwinds what was opened.  Shutdown (SIGTERM/SIGINT)
marks the node not ready, stops accepting gRPC calls, gives in-flight calls
``node.shutdown_grace_s`` to finish, then closes the stores.
"""
from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import socket
from importlib import metadata
from typing import AsyncIterator

import grpc
from aiohttp import web
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from node import admin, api, keys
from node import roles as roles_mod
from node.config import ROLES, Config
from node.keys import NodeKey
from node.metrics import NodeMetrics, loop_lag_probe
from node.store import NodeStore
from node.tasks import cancel_and_wait
from proto.assetl2.v1 import client_pb2, client_pb2_grpc

log = logging.getLogger(__name__)

CLIENT_SERVICE = client_pb2.DESCRIPTOR.services_by_name["ClientApi"].full_name

# Which role answers which client-API method (DESIGN §2 data flow).
ROLE_OF_METHOD = {
    "submit": "sequencer",
    "submit_batch": "sequencer",
    "get_account": "executor",
    "get_order_book": "executor",
    "get_hold": "executor",
    "get_state_value": "executor",
    "get_block": "executor",
    "stream_events": "executor",
    "get_batch": "batchposter",
}


class StartupError(RuntimeError):
    """The node cannot start; ``str()`` is one line naming the cause."""


def version() -> str:
    try:
        return metadata.version("assetl2-node")
    except metadata.PackageNotFoundError:
        return "0+unknown"


class Node:
    """The node process and its ClientBackend."""

    def __init__(self, cfg: Config, key: NodeKey, *, write_key: bool = False):
        self.cfg = cfg
        self.key = key
        self.write_key = write_key
        self.metrics = NodeMetrics(
            version=version(), chain_id=cfg.node.chain_id, node_id=key.address, roles=list(cfg.node.roles)
        )
        self.health = HealthServicer()
        self.grpc_server: grpc.aio.Server | None = None
        self.admin_runner: web.AppRunner | None = None
        self.store: NodeStore | None = None
        self.roles: dict[str, roles_mod.RoleService] = {}
        self.tasks: list[asyncio.Task] = []
        self.ready = False
        self.stopping = False
        self._stop = asyncio.Event()

    # ------------------------------------------------------------------ ClientBackend

    def _role_for(self, method: str):
        """The running role that serves ``method``, or RoleUnavailable saying why not."""
        role = ROLE_OF_METHOD[method]
        service = self.roles.get(role)
        if service is not None and hasattr(service, method):
            return getattr(service, method)
        if not self.cfg.has_role(role):
            raise api.RoleUnavailable(role, "not enabled on this node (node.roles); ask a node that runs it")
        raise api.RoleUnavailable(role, "not built in this release of the node yet")

    async def submit(self, envelope):
        return await self._role_for("submit")(envelope)

    async def submit_batch(self, envelopes):
        return await self._role_for("submit_batch")(envelopes)

    async def get_account(self, req):
        return await self._role_for("get_account")(req)

    async def get_order_book(self, req):
        return await self._role_for("get_order_book")(req)

    async def get_hold(self, req):
        return await self._role_for("get_hold")(req)

    async def get_state_value(self, req):
        return await self._role_for("get_state_value")(req)

    async def get_block(self, req):
        return await self._role_for("get_block")(req)

    async def get_batch(self, req):
        return await self._role_for("get_batch")(req)

    async def stream_events(self, req) -> AsyncIterator:
        async for event in self._role_for("stream_events")(req):
            yield event

    def role_statuses(self) -> list[client_pb2.RoleStatus]:
        built = roles_mod.factories()
        out = []
        for role in ROLES:
            service = self.roles.get(role)
            out.append(client_pb2.RoleStatus(
                role=role, enabled=self.cfg.has_role(role), implemented=role in built,
                ready=bool(service is not None and self.ready and service.ready()),
                detail="" if role in built else "not built in this release",
            ))
        return out

    def status(self) -> client_pb2.NodeStatus:
        """Ready: servers bound, stores open, not stopping, and every enabled built role ready."""
        roles = self.role_statuses()
        roles_ready = all(r.ready for r in roles if r.enabled and r.implemented)
        status = client_pb2.NodeStatus(
            node_id=self.key.address,
            chain_id=self.cfg.node.chain_id,
            version=version(),
            roles=roles,
            ready=self.ready and not self.stopping and roles_ready,
        )
        for service in self.roles.values():
            service.fill_status(status)
        return status

    # ------------------------------------------------------------------ lifecycle

    @staticmethod
    def _probe_bind(key: str, listen: str) -> None:
        """Bind-test an address first, so a busy port is one clear line (gRPC core would log its own)."""
        host, _, port = listen.rpartition(":")
        host = host.strip("[]")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, int(port)))
            except OSError as exc:
                cause = "address in use" if exc.errno == errno.EADDRINUSE else exc.strerror
                raise StartupError(f"{key} {listen}: cannot bind ({cause})") from None

    async def _bind_grpc(self) -> grpc.aio.Server:
        """Create and bind the client gRPC server (started later, once the roles are up)."""
        self._probe_bind("grpc.listen", self.cfg.grpc.listen)
        opts = [
            ("grpc.max_receive_message_length", self.cfg.grpc.max_message_bytes),
            ("grpc.max_send_message_length", self.cfg.grpc.max_message_bytes),
            ("grpc.max_concurrent_streams", self.cfg.grpc.max_concurrent_streams),
            ("grpc.so_reuseport", 0),
        ]
        server = grpc.aio.server(options=opts)
        client_pb2_grpc.add_ClientApiServicer_to_server(api.ClientApiServicer(self), server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        try:
            port = server.add_insecure_port(self.cfg.grpc.listen)
        except RuntimeError:
            port = 0
        if port == 0:
            raise StartupError(f"grpc.listen {self.cfg.grpc.listen}: cannot bind (address in use or not local)")
        return server

    async def _start_roles(self) -> None:
        """Construct and start the enabled, built roles in data-flow order (node/roles.py)."""
        built = roles_mod.factories()
        ctx = roles_mod.RoleContext(cfg=self.cfg, key=self.key, registry=self.metrics.registry)
        for name in roles_mod.START_ORDER:
            if not self.cfg.has_role(name) or name not in built:
                continue
            service = built[name](ctx)
            try:
                await service.start()
            except RuntimeError as exc:
                raise StartupError(f"{name}: {exc}") from None
            self.roles[name] = service
            ctx.started[name] = service

    async def _bind_admin(self) -> web.AppRunner:
        runner = web.AppRunner(admin.make_app(self.metrics, self.status), access_log=None)
        await runner.setup()
        host, _, port = self.cfg.admin.listen.rpartition(":")
        # SO_REUSEADDR: a node restarted right after a crash rebinds while the old socket sits in
        # TIME_WAIT; a port another process is listening on is still refused (Linux).
        site = web.TCPSite(runner, host.strip("[]"), int(port), reuse_address=True, reuse_port=False)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            cause = "address in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise StartupError(f"admin.listen {self.cfg.admin.listen}: cannot bind ({cause})") from None
        return runner

    async def start(self) -> None:
        """Bind servers, then open stores; on failure undo what was done and raise StartupError."""
        try:
            self.grpc_server = await self._bind_grpc()
            self.admin_runner = await self._bind_admin()
            self.cfg.data_dir.mkdir(parents=True, exist_ok=True)
            if self.write_key:
                keys.write(self.cfg.key_path, self.key)
                log.info("created node key", extra={"path": str(self.cfg.key_path), "node_id": self.key.address})
            try:
                self.store = NodeStore.open(self.cfg.data_dir, chain_id=self.cfg.node.chain_id, node_id=self.key.address)
            except (RuntimeError, keys.KeyFileError) as exc:
                raise StartupError(str(exc)) from None
            await self._start_roles()
            services = [CLIENT_SERVICE, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name]
            for service in self.roles.values():
                services += service.grpc_services(self.grpc_server)
            reflection.enable_server_reflection(services + [reflection.SERVICE_NAME], self.grpc_server)
            await self.grpc_server.start()
        except BaseException:
            await self._close()
            raise
        self.tasks.append(asyncio.create_task(
            loop_lag_probe(self.metrics, self.cfg.admin.loop_lag_interval_ms / 1000), name="loop-lag"
        ))
        self.ready = True
        self.metrics.up.set(1)
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        await self.health.set(CLIENT_SERVICE, health_pb2.HealthCheckResponse.SERVING)
        log.info("node started", extra={
            "node_id": self.key.address, "chain_id": self.cfg.node.chain_id,
            "grpc": self.cfg.grpc.listen, "admin": self.cfg.admin.listen, "roles": ",".join(self.cfg.node.roles),
        })

    def request_stop(self) -> None:
        self._stop.set()

    async def wait_stopped(self) -> None:
        await self._stop.wait()
        await self.shutdown()

    async def shutdown(self) -> None:
        """Not ready → stop accepting → drain in-flight calls → close stores."""
        if self.stopping:
            return
        self.stopping = True
        self.ready = False
        self.metrics.up.set(0)
        log.info("node stopping", extra={"grace_s": self.cfg.node.shutdown_grace_s})
        await self.health.enter_graceful_shutdown()
        await self._close()
        log.info("node stopped")

    async def _close(self) -> None:
        await cancel_and_wait(self.tasks)
        self.tasks.clear()
        if self.grpc_server is not None:
            await self.grpc_server.stop(self.cfg.node.shutdown_grace_s)
            self.grpc_server = None
        for name in reversed(roles_mod.START_ORDER):
            service = self.roles.pop(name, None)
            if service is not None:
                try:
                    await service.stop()
                except Exception:  # a failing role must not keep the others' stores open
                    log.exception("role stop failed", extra={"role": name})
        if self.admin_runner is not None:
            await self.admin_runner.cleanup()
            self.admin_runner = None
        if self.store is not None:
            self.store.close()
            self.store = None


PROFILE_ENV = "ASSETL2_PROFILE_OUT"


@contextlib.contextmanager
def _profiled():
    """cProfile of the event-loop thread while the node runs, written to $ASSETL2_PROFILE_OUT at
    shutdown (bench/cluster.py --profile; issue 6 profiling). Off unless the variable is set."""
    out = os.environ.get(PROFILE_ENV)
    if not out:
        yield
        return
    import cProfile
    prof = cProfile.Profile()
    prof.enable()
    try:
        yield
    finally:
        prof.disable()
        prof.dump_stats(out)


async def serve(cfg: Config, key: NodeKey, *, write_key: bool = False) -> None:
    """Run a node until SIGTERM or SIGINT; ``write_key`` persists a freshly generated key."""
    with _profiled():
        await _serve(cfg, key, write_key=write_key)


async def _serve(cfg: Config, key: NodeKey, *, write_key: bool) -> None:
    node = Node(cfg, key, write_key=write_key)
    await node.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, node.request_stop)
    try:
        await node.wait_stopped()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
