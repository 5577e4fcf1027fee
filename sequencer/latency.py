"""Per-transaction latency histogram cheap enough for the decide path (issue 6 profiling).

`prometheus_client.Histogram.observe` costs a few microseconds (locks, validation) and the
sequencer observes one value per decided transaction: at 10 000 tx/s that alone was ~5 % of
the event loop. This histogram counts with one `bisect` into fixed upper bounds, takes many
observations per call, and is exported at scrape time as an ordinary Prometheus histogram
(same name, buckets, `_count` and `_sum`), so dashboards and bench/cluster.py read it as before.
"""
from __future__ import annotations

from bisect import bisect_left
from typing import Iterable

from prometheus_client.core import HistogramMetricFamily


class LatencyHistogram:
    """Cumulative-at-export histogram over fixed upper bounds (seconds), `+Inf` implied."""

    __slots__ = ("name", "doc", "bounds", "counts", "total")

    def __init__(self, name: str, doc: str, bounds: Iterable[float]) -> None:
        self.name = name
        self.doc = doc
        self.bounds = tuple(sorted(bounds))
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.total += seconds

    def observe_many(self, seconds: Iterable[float]) -> None:
        """Count every value of `seconds` (one call per decided block)."""
        bounds, counts = self.bounds, self.counts
        total = 0.0
        for s in seconds:
            counts[bisect_left(bounds, s)] += 1
            total += s
        self.total += total

    @property
    def count(self) -> int:
        return sum(self.counts)

    def family(self) -> HistogramMetricFamily:
        """The Prometheus histogram (cumulative buckets, `le` as `prometheus_client` prints it)."""
        cumulative, running = [], 0
        for bound, n in zip(self.bounds + (float("inf"),), self.counts):
            running += n
            cumulative.append(("+Inf" if bound == float("inf") else _le(bound), running))
        fam = HistogramMetricFamily(self.name, self.doc)
        fam.add_metric([], cumulative, sum_value=self.total)
        return fam


def _le(bound: float) -> str:
    """`le` label text as prometheus_client writes it for a Histogram (floatToGoString)."""
    from prometheus_client.utils import floatToGoString
    return floatToGoString(bound)
