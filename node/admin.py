"""The aiohttp admin server: liveness, readiness, status and Prometheus metrics (DESIGN §9).

- ``/healthz``: 200 while the event loop answers (liveness; restart the process if not);
- ``/readyz``: 200 when the servers and stores are up, every enabled role that this release
  implements is ready, and the node is not shutting down; 503 otherwise (take it out of the
  load balancer).  The body lists each role's state;
- ``/status``: the node status as JSON (the same message ``GetStatus`` returns over gRPC);
- ``/metrics``: Prometheus text exposition of the node's registry.
"""
from __future__ import annotations

from typing import Callable

from aiohttp import web
from google.protobuf.json_format import MessageToDict

from node.metrics import CONTENT_TYPE, NodeMetrics
from proto.assetl2.v1 import client_pb2


def make_app(metrics: NodeMetrics, status: Callable[[], client_pb2.NodeStatus]) -> web.Application:
    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def readyz(_request: web.Request) -> web.Response:
        st = status()
        body = {"ready": st.ready, "roles": [MessageToDict(r, preserving_proto_field_name=True) for r in st.roles]}
        return web.json_response(body, status=200 if st.ready else 503)

    async def status_handler(_request: web.Request) -> web.Response:
        return web.json_response(
            MessageToDict(status(), preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
        )

    async def metrics_handler(_request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/status", status_handler)
    app.router.add_get("/metrics", metrics_handler)
    return app
