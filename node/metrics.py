"""Prometheus metrics for one node process (DESIGN §9).

Each node owns a ``CollectorRegistry`` (so several nodes can live in one test process) with
the standard process, platform and GC collectors, build info, and the event-loop lag probe.
Roles receive the registry and register their own metrics on it; they never import ``node``.
"""
from __future__ import annotations

import asyncio
import logging

from prometheus_client import (
    CollectorRegistry,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class NodeMetrics:
    """The node-level metrics; role metrics hang off ``registry``."""

    def __init__(self, *, version: str, chain_id: str, node_id: str, roles: list[str]):
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        Info("assetl2_build", "Node build and identity.", registry=self.registry).info(
            {"version": version, "chain_id": chain_id, "node_id": node_id, "roles": ",".join(roles)}
        )
        self.loop_lag = Gauge(
            "event_loop_lag_seconds", "Most recent event-loop scheduling delay.", registry=self.registry
        )
        self.loop_lag_hist = Histogram(
            "event_loop_lag_seconds_hist", "Event-loop scheduling delay.", buckets=LAG_BUCKETS, registry=self.registry
        )
        self.up = Gauge("assetl2_node_ready", "1 when every enabled role is ready.", registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)


async def loop_lag_probe(metrics: NodeMetrics, interval_s: float) -> None:
    """Sleep ``interval_s`` repeatedly and record how late each wake-up is.

    A busy or blocked event loop shows up here before it shows up as missed consensus
    timeouts, so operators can alert on it (DESIGN §9 "event-loop lag").
    """
    loop = asyncio.get_running_loop()
    while True:
        start = loop.time()
        await asyncio.sleep(interval_s)
        lag = max(0.0, loop.time() - start - interval_s)
        metrics.loop_lag.set(lag)
        metrics.loop_lag_hist.observe(lag)
