"""Real timers fire a little early (millisecond rounding; the loop's monotonic clock against the
wall clock of the rollup time): an idle leader's propose timer that fires before its deadline
must be re-armed, not lost — losing it stalled a live 4-process cluster for a view timeout."""
from __future__ import annotations

from sequencer.consensus import TIMER_PROPOSE, SetTimer, Start, TimerFired
from sequencer.pacemaker import ManualClock

import seqkit


def test_an_early_propose_timer_is_rearmed_and_the_leader_proposes_at_the_deadline():
    cluster = seqkit.Cluster(1, seqkit.config(empty_block_delay_ms=50))
    clock = ManualClock(seqkit.T0)
    replica = cluster.replica(0, clock)
    armed = [a for a in replica.handle(Start()) if isinstance(a, SetTimer) and a.kind == TIMER_PROPOSE]
    assert armed and armed[0].at_ms == seqkit.T0 + 50
    clock.advance(49)
    early = replica.handle(TimerFired(TIMER_PROPOSE))
    assert SetTimer(TIMER_PROPOSE, seqkit.T0 + 50) in early
    assert replica.last_proposal is None
    clock.advance(1)
    replica.handle(TimerFired(TIMER_PROPOSE))
    assert replica.last_proposal is not None and replica.last_proposal.block.height >= 1
