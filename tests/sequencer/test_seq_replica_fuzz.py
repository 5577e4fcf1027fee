"""Property: any interleaving of valid, stale, forged and garbage inputs leaves the replica
consistent — no exception, no internal error, at most one vote per view, views only move
forward, and every vote/timeout/proposal is preceded by a `Persist` covering it."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seqkit import T0, Cluster, config, msg

from sequencer.codec import encode_message
from sequencer.consensus import Broadcast, Persist, RawMessageReceived, Send, Start, TimerFired
from sequencer.pacemaker import ManualClock
from sequencer.types import BlockRequest, BlockResponse, Proposal, TimeoutVote, Vote

C = Cluster(4, config())


CHAIN: list = []


def _pool():
    blocks, qcs = CHAIN, [C.gqc]
    blocks.append(C.genesis)
    for v in (1, 2, 3, 5, 6):
        b = C.block(v, blocks[-1], qcs[-1], payload=[b"p%d" % v])
        blocks.append(b)
        qcs.append(C.qc(b))
    fork = C.block(2, blocks[1], qcs[1], payload=[b"fork"])
    events = []
    for i, b in enumerate(blocks[1:], start=1):
        tc = C.tc(b.view - 1, {0: qcs[i - 1], 1: qcs[i - 1], 2: qcs[i - 1]}) if b.justify.view + 1 != b.view else None
        p = C.proposal(b, tc)
        events.append(msg(b.proposer, p))
        events.append(RawMessageReceived(b.proposer, encode_message(p)))
        for voter in range(4):
            events.append(msg(voter, C.vote(voter, b.view, b.hash)))
    events.append(msg(fork.proposer, C.proposal(fork)))
    events.append(msg(1, C.proposal(replace(blocks[1], payload=(b"twin",)))))
    for view in (1, 2, 3, 4, 7):
        for voter in range(4):
            events.append(msg(voter, C.timeout(voter, view, qcs[min(view - 1, 2)])))
    events.append(msg(2, BlockResponse(2, tuple(reversed(blocks[1:4])))))
    events.append(msg(3, BlockRequest(3, blocks[3].hash, 8)))
    events.append(msg(1, Vote(4, b"\x01" * 32, 1, bytes(64))))
    events.append(msg(2, TimeoutVote(9, C.gqc, 2, bytes(64))))
    events.append(RawMessageReceived(1, b"AL2C\x01\x02junk"))
    events.append(TimerFired("view"))
    events.append(TimerFired("propose"))
    return events


POOL = _pool()


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 3),
    st.lists(st.tuples(st.integers(0, len(POOL) - 1), st.integers(0, 700)), max_size=60),
)
def test_replica_stays_consistent_under_any_input_order(index, steps):
    clock = ManualClock(T0)
    r = C.replica(index, clock)
    r.handle(Start())
    voted: dict[int, bytes] = {}
    persisted_vote_view = 0
    persisted_proposal_view = 0
    last_view = r.view
    for event_index, advance in steps:
        clock.advance(advance)
        event = POOL[event_index]
        if getattr(event, "sender", None) == index:
            continue
        for a in r.handle(event):
            if isinstance(a, Persist):
                persisted_vote_view = a.safety.last_voted_view
                if a.last_proposal is not None:
                    persisted_proposal_view = a.last_proposal.view
            elif isinstance(a, (Send, Broadcast)):
                m = a.message
                if isinstance(m, Vote):
                    assert voted.setdefault(m.view, m.block_hash) == m.block_hash
                    assert persisted_vote_view >= m.view
                elif isinstance(m, TimeoutVote):
                    assert persisted_vote_view >= m.view
                elif isinstance(m, Proposal):
                    assert persisted_proposal_view >= m.view
        assert r.view >= last_view
        last_view = r.view
    assert r.metrics["internal_errors"] == 0
    assert r.decided_tip.block in CHAIN[:5]  # only the certified chain, never the fork or twin
