"""Pacemaker: the view clock, timeouts with exponential backoff, TCs and view synchronisation.

Liveness only — nothing here can make a replica unsafe; the safety rules (`safety.py`) decide
whether a timeout may be signed. The pacemaker is driven by an injected `Clock` and hands back
deadlines rather than arming timers itself, so the replica turns them into `SetTimer` actions
and tests run on a virtual clock (STYLE: relab/hotstuff's synchroniser as its own module).

Rules (DESIGN §7, HotShot's view-sync task in spirit):
- a view that ends with a QC resets the backoff; each view that ends by timeout doubles the
  next view's timeout (`backoff_factor`), capped at `max_timeout_ms`, so after GST views
  eventually last long enough for an honest leader to finish;
- a timeout vote is re-broadcast every (backed-off) timeout period while the view is stuck, so
  dropped timeout votes are repaired;
- after `view_sync_after` consecutive timeouts the replica also broadcasts a `ViewSync` with
  its highest QC and TC every period: certificates are self-authenticating, so one message
  lets every lagging peer (dropped messages, healed partition, restart) jump to the newest view;
- f+1 replicas whose latest timeout votes are for views ≥ w mean at least one honest replica
  reached w and gave up on it: jump to w and time out too (Bracha-style amplification), so a TC
  forms even when replicas sit in different views — the all-nodes-restart case;
- a replica that sees a peer behind it (a stale timeout vote, a view-sync from a lower view, or
  the view-sync every replica broadcasts on start) sends that peer its certificates directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    """Monotonic milliseconds; the node passes a real clock, tests a virtual one."""

    def now_ms(self) -> int: ...


@dataclass
class ManualClock:
    """A clock that only moves when told (simulator and unit tests)."""

    t_ms: int = 0

    def now_ms(self) -> int:
        return self.t_ms

    def advance(self, ms: int) -> None:
        self.t_ms += ms


@dataclass(frozen=True)
class PacemakerConfig:
    base_timeout_ms: int = 1_000
    backoff_factor: float = 2.0
    max_timeout_ms: int = 10_000
    view_sync_after: int = 2
    max_future_views: int = 10_000


class Pacemaker:
    """Tracks the current view, the timeout streak and the view deadline.

    The streak is `view - high_qc.view - 1`: the number of views in a row that ended without a
    QC. Deriving it from the view and the high QC (not from local history) gives every replica
    that holds the same certificates the same timeout for the same view, which is what makes
    their views line up again after GST.
    """

    def __init__(self, config: PacemakerConfig, clock: Clock, start_view: int = 1, high_qc_view: int = 0) -> None:
        self.config = config
        self.clock = clock
        self.view = start_view
        self.consecutive_timeouts = max(0, start_view - high_qc_view - 1)
        self.repeats = 0
        self.view_started_ms = clock.now_ms()
        self.deadline_ms = self.view_started_ms + self.timeout_ms()

    def timeout_ms(self) -> int:
        """base * factor^(streak + repeats in this view), capped at `max_timeout_ms`."""
        exponent = min(self.consecutive_timeouts + self.repeats, 64)
        raw = self.config.base_timeout_ms * (self.config.backoff_factor**exponent)
        return int(min(raw, self.config.max_timeout_ms))

    def advance(self, new_view: int, high_qc_view: int) -> bool:
        """Enter `new_view` if it is ahead of the current one; returns whether it moved."""
        if new_view <= self.view:
            return False
        self.view = new_view
        self.consecutive_timeouts = max(0, new_view - high_qc_view - 1)
        self.repeats = 0
        self.view_started_ms = self.clock.now_ms()
        self.deadline_ms = self.view_started_ms + self.timeout_ms()
        return True

    def on_local_timeout(self) -> None:
        """The view timer fired: re-arm it (backed off) for the re-broadcast period."""
        self.repeats += 1
        self.deadline_ms = self.clock.now_ms() + self.timeout_ms()

    def expired(self) -> bool:
        return self.clock.now_ms() >= self.deadline_ms

    def in_view_sync(self) -> bool:
        """Consecutive timeouts reached the threshold: also broadcast certificates to everyone."""
        return self.consecutive_timeouts + self.repeats >= self.config.view_sync_after

    def is_future(self, view: int) -> bool:
        """Views too far ahead are spam: nothing honest can be that far ahead of us."""
        return view > self.view + self.config.max_future_views

    def view_duration_ms(self) -> int:
        return self.clock.now_ms() - self.view_started_ms
