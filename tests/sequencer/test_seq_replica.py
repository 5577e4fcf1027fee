"""The replica state machine driven by hand: the test plays the other committee members."""

from __future__ import annotations

from dataclasses import replace

import pytest
from seqkit import CHAIN, T0, Cluster, config, msg, persists, sends, started, votes_in

from sequencer.codec import CodecLimits, encode_message
from sequencer.consensus import (
    Broadcast,
    Replica,
    Decide,
    NewTransactions,
    Persist,
    RawMessageReceived,
    Send,
    SetTimer,
    Start,
    TimerFired,
    TxsAdmitted,
)
from sequencer.mempool import Mempool, MempoolConfig
from sequencer.pacemaker import ManualClock
from sequencer.storage import MemorySafetyStore
from sequencer.types import BlockRequest, BlockResponse, Proposal, QuorumCertificate, TimeoutVote, Vote, epoch_of

C = Cluster(4, config())


def chain_views(views, payloads=None):
    blocks, qcs = [C.genesis], [C.gqc]
    for i, v in enumerate(views):
        b = C.block(v, blocks[-1], qcs[-1], payload=(payloads or {}).get(v, ()))
        blocks.append(b)
        qcs.append(C.qc(b))
    return blocks, qcs


B, Q = chain_views([1, 2, 3])
P1 = C.proposal(B[1])
P2 = C.proposal(B[2])


def apply_to(store: MemorySafetyStore, actions) -> None:
    for a in actions:
        if isinstance(a, Persist):
            store.persist(a)
        elif isinstance(a, Decide):
            store.decide(a)


# ---------------------------------------------------------------------------------------------
# Voting and the persist-before-send contract


def test_replica_votes_for_a_valid_proposal_and_sends_it_to_the_next_leader():
    r = started(C.replica(0))
    actions = r.handle(msg(1, P1))
    (vote,) = votes_in(actions)
    assert (vote.view, vote.block_hash, vote.voter) == (1, B[1].hash, 0)
    assert [a.to for a in actions if isinstance(a, Send)] == [C.committee.leader(2)]
    assert r.rejections == {}


def test_vote_is_persisted_before_it_is_sent():
    r = started(C.replica(0))
    actions = r.handle(msg(1, P1))
    i_send = next(i for i, a in enumerate(actions) if isinstance(a, Send))
    before = [a for a in actions[:i_send] if isinstance(a, Persist)]
    assert before and before[-1].safety.last_voted_view == 1 and before[-1].last_vote.view == 1
    assert B[1] in before[-1].blocks


def test_timeout_is_persisted_before_it_is_broadcast():
    clock = ManualClock(T0)
    r = started(C.replica(0, clock))
    clock.t_ms = r.pacemaker.deadline_ms
    actions = r.handle(TimerFired("view"))
    i_bc = next(i for i, a in enumerate(actions) if isinstance(a, Broadcast))
    assert isinstance(actions[i_bc].message, TimeoutVote) and actions[i_bc].message.view == 1
    persisted = [a for a in actions[:i_bc] if isinstance(a, Persist)][-1]
    assert persisted.last_timeout == actions[i_bc].message and persisted.safety.last_voted_view == 1
    assert r.metrics["consensus_number_of_timeouts"] == 1


def test_proposal_is_persisted_before_it_is_broadcast():
    clock = ManualClock(T0)
    r = started(C.replica(1, clock))
    actions = r.handle(NewTransactions((b"tx",)))
    i_bc = next(i for i, a in enumerate(actions) if isinstance(a, Broadcast))
    p = actions[i_bc].message
    assert isinstance(p, Proposal) and p.block.payload == (b"tx",)
    assert [a for a in actions[:i_bc] if isinstance(a, Persist)][-1].last_proposal == p


def test_a_timed_out_replica_does_not_vote_in_that_view():
    clock = ManualClock(T0)
    r = started(C.replica(0, clock))
    clock.t_ms = r.pacemaker.deadline_ms
    r.handle(TimerFired("view"))
    late = C.proposal(C.block(1, C.genesis, C.gqc, ts=clock.t_ms))
    assert votes_in(r.handle(msg(1, late))) == []
    assert r.rejections == {} and late.block.hash in r.blocks


def test_replica_fetches_a_missing_parent_then_votes():
    r = started(C.replica(0))
    actions = r.handle(msg(2, P2))
    (req,) = [a for a in actions if isinstance(a, Send)]
    assert req.to == 2 and req.message == BlockRequest(0, B[1].hash, r.config.max_fetch_blocks)
    assert r.view == 2
    actions = r.handle(msg(2, BlockResponse(2, (B[1],))))
    (vote,) = votes_in(actions)
    assert vote.view == 2 and vote.block_hash == B[2].hash


def test_replica_answers_block_requests_with_ancestors():
    r = started(C.replica(0))
    r.handle(msg(1, P1))
    r.handle(msg(2, P2))
    actions = r.handle(msg(3, BlockRequest(3, B[2].hash, 5)))
    (resp,) = [a.message for a in actions if isinstance(a, Send)]
    assert resp.blocks == (B[2], B[1], C.genesis)


# ---------------------------------------------------------------------------------------------
# Leader behaviour: QC formation, TC path, idle empty blocks, rollup clock


def test_next_leader_forms_a_qc_from_a_quorum_of_votes_and_proposes_on_it():
    r = started(C.replica(2))
    r.handle(msg(1, P1))  # its own vote goes to itself (leader of view 2)
    r.handle(NewTransactions((b"t1",)))
    actions = r.handle(msg(0, C.vote(0, 1, B[1].hash)))
    assert r.view == 1
    actions = r.handle(msg(3, C.vote(3, 1, B[1].hash)))
    (p,) = [a.message for a in actions if isinstance(a, Broadcast)]
    assert r.view == 2 and p.block.view == 2 and p.block.justify.view == 1
    assert p.block.justify.block_hash == B[1].hash and p.block.payload == (b"t1",)


def test_leader_after_a_timeout_certificate_proposes_with_the_tc_and_highest_qc():
    r = started(C.replica(0))
    r.handle(msg(1, P1))
    r.handle(NewTransactions((b"t",)))
    for i in (1, 2, 3):
        r.handle(msg(i, C.timeout(i, 3, Q[1] if i != 2 else C.gqc)))
    assert r.view == 4
    proposals = [p for p in (r.last_proposal,) if p is not None]
    assert proposals and proposals[0].tc.view == 3 and proposals[0].block.justify == Q[1]


def test_f_plus_one_timeouts_for_a_higher_view_make_a_replica_join_them():
    c7 = Cluster(7, config())
    r = started(c7.replica(0))
    for i in (1, 2):
        r.handle(msg(i, c7.timeout(i, 5, c7.gqc)))
    assert r.view == 1  # f = 2 faulty nodes alone cannot drag anyone forward
    actions = r.handle(msg(3, c7.timeout(3, 5, c7.gqc)))
    assert r.view == 5
    timeouts = [a.message for a in actions if isinstance(a, Broadcast) and isinstance(a.message, TimeoutVote)]
    assert [(t.view, t.voter) for t in timeouts] == [(5, 0)]


def test_joined_timeout_completes_a_tc_and_moves_on():
    r = started(C.replica(0))
    r.handle(msg(1, C.timeout(1, 5, C.gqc)))
    r.handle(msg(2, C.timeout(2, 5, C.gqc)))
    assert r.view == 6 and r.safety.high_tc.view == 5


def test_idle_leader_proposes_an_empty_block_only_after_the_idle_delay():
    clock = ManualClock(T0)
    r = C.replica(1, clock)
    actions = r.handle(Start())
    assert SetTimer("propose", T0 + 50) in actions and r.last_proposal is None
    clock.advance(49)
    assert not sends(r.handle(TimerFired("propose")))
    clock.advance(1)
    (bc,) = [a for a in r.handle(TimerFired("propose")) if isinstance(a, Broadcast)]
    assert bc.message.block.payload == () and bc.message.block.timestamp_ms == T0 + 50


def test_leader_timestamps_strictly_increase_even_when_its_clock_stands_still():
    clock = ManualClock(T0)
    single = Cluster(1, config())
    r = started(single.replica(0, clock))
    stamps = []
    for k in range(5):
        for a in r.handle(NewTransactions((b"tx%d" % k,))):
            if isinstance(a, Decide):
                stamps.extend(d.block.timestamp_ms for d in a.blocks)
    assert stamps == sorted(set(stamps)) and len(stamps) >= 5


# ---------------------------------------------------------------------------------------------
# n = 1


def test_single_node_decides_every_block_within_the_event_that_carries_it():
    clock = ManualClock(T0)
    single = Cluster(1, config(reservation_batch_ms=50))
    r = started(single.replica(0, clock))
    for k in range(10):
        clock.advance(7)
        txs = (b"a%d" % k, b"b%d" % k)
        actions = r.handle(NewTransactions(txs))
        decided = [d for a in actions if isinstance(a, Decide) for d in a.blocks]
        assert any(d.block.payload == txs for d in decided)
        for d in decided:
            assert d.epoch == epoch_of(d.block.timestamp_ms, 50)
            assert d.qc.block_hash == d.block.hash
    assert r.metrics["consensus_decided_txs"] == 20 and r.rejections == {}


def test_single_node_keeps_deciding_empty_blocks_when_idle():
    clock = ManualClock(T0)
    single = Cluster(1, config())
    r = started(single.replica(0, clock))
    heights = []
    for _ in range(6):
        clock.advance(50)
        r.handle(TimerFired("propose"))
        heights.append(r.decided_height)
    assert heights == sorted(heights) and heights[-1] >= 4


# ---------------------------------------------------------------------------------------------
# Restart


def test_restarted_replica_never_votes_twice_in_a_view():
    store = MemorySafetyStore()
    r = C.replica(0)
    apply_to(store, r.handle(Start()))
    apply_to(store, r.handle(msg(1, P1)))
    restarted = C.replica(0, recovered=store.load())
    actions = restarted.handle(Start())
    resent = votes_in(actions)
    assert resent == [r.last_vote]  # the same signed vote, never a new one
    twin = C.proposal(replace(B[1], payload=(b"conflicting",)))
    assert votes_in(restarted.handle(msg(1, twin))) == []
    assert votes_in(restarted.handle(msg(1, P1))) == []


def test_restarted_leader_rebroadcasts_its_proposal_instead_of_making_a_new_one():
    store = MemorySafetyStore()
    clock = ManualClock(T0)
    r = C.replica(1, clock)
    apply_to(store, r.handle(Start()))
    apply_to(store, r.handle(NewTransactions((b"first",))))
    first = r.last_proposal
    mp = Mempool(MempoolConfig(), clock)
    mp.submit(b"second")
    restarted = C.replica(1, clock, recovered=store.load(), mempool=mp)
    proposals = [a.message for a in restarted.handle(Start()) if isinstance(a, Broadcast) and isinstance(a.message, Proposal)]
    assert proposals == [first]


def test_restart_keeps_high_qc_lock_and_undecided_blocks():
    store = MemorySafetyStore()
    r = C.replica(0)
    for ev in (Start(), msg(1, P1), msg(2, P2), msg(3, C.proposal(B[3]))):
        apply_to(store, r.handle(ev))
    assert r.decided_height == 1
    back = C.replica(0, recovered=store.load())
    assert back.safety == r.safety and back.view == r.view
    assert back.decided_tip.block == B[1] and B[2].hash in back.blocks and B[3].hash in back.blocks


# ---------------------------------------------------------------------------------------------
# Bad input: counted by reason, state unchanged, nothing sent, nothing raised


def _far_future_proposal():
    view = 20_001
    while C.committee.leader(view) != 1:
        view += 1
    return msg(1, C.proposal(C.block(view, C.genesis, C.gqc)))


def _bad_qc_proposal():
    q = Q[1]
    forged = QuorumCertificate(q.view, q.block_hash, q.signer_bitmap, (q.signatures[1], q.signatures[0], q.signatures[2]))
    return msg(2, C.proposal(C.block(2, B[1], forged)))


def _tc_setup():
    return [msg(i, C.timeout(i, 2, C.gqc)) for i in (1, 2, 3)]


BAD = {
    # reason: (replica index, setup events, bad event)
    "invalid_signature": (0, [], lambda: msg(1, C.proposal(B[1], signer=2))),
    "invalid_signature/vote": (2, [], lambda: msg(0, Vote(1, B[1].hash, 0, C.vote(3, 1, B[1].hash).signature))),
    "invalid_signature/timeout": (0, [], lambda: msg(1, TimeoutVote(1, C.gqc, 1, bytes(64)))),
    "invalid_certificate": (0, [msg(1, P1)], _bad_qc_proposal),
    "not_leader": (0, [], lambda: msg(2, C.proposal(C.block(1, C.genesis, C.gqc, proposer=2)))),
    "sender_mismatch": (0, [], lambda: msg(3, P1)),
    "unknown_sender": (0, [], lambda: msg(9, P1)),
    "stale_view": (0, [msg(1, P1), msg(2, P2)], lambda: msg(1, C.proposal(replace(B[1], payload=(b"late",))))),
    "future_view": (0, [], lambda: msg(1, C.timeout(1, 10_002, C.gqc))),
    "future_view/proposal": (0, [], _far_future_proposal),
    "equivocation": (0, [msg(1, P1)], lambda: msg(1, C.proposal(replace(B[1], payload=(b"twin",))))),
    "duplicate": (0, [msg(1, P1)], lambda: msg(1, P1)),
    "unknown_block": (2, [msg(1, P1)], lambda: msg(0, C.vote(0, 1, b"\x05" * 32))),
    "misdirected": (0, [], lambda: msg(1, C.vote(1, 1, B[1].hash))),
    "oversized": (0, [], lambda: RawMessageReceived(1, encode_message(C.proposal(C.block(1, C.genesis, C.gqc, payload=[b"x" * 600]))))),
    "oversized/block_limit": (0, [], lambda: msg(1, C.proposal(C.block(1, C.genesis, C.gqc, payload=[b"y"] * 11)))),
    "malformed": (0, [], lambda: RawMessageReceived(1, b"\x00garbage")),
    "timestamp_skew": (0, [], lambda: msg(1, C.proposal(C.block(1, C.genesis, C.gqc, ts=T0 + 501)))),
    "timestamp_skew/past": (0, [], lambda: msg(1, C.proposal(C.block(1, C.genesis, C.gqc, ts=T0 - 501)))),
    "timestamp_not_increasing": (0, [], lambda: msg(1, C.proposal(C.block(1, C.genesis, C.gqc, ts=C.genesis.timestamp_ms)))),
    "wrong_chain": (0, [], lambda: msg(1, C.proposal(C.block(1, C.genesis, C.gqc, chain_id=b"elsewhere")))),
    "unsolicited": (0, [], lambda: msg(1, BlockResponse(1, (B[1],)))),
    "unjustified_view": (0, _tc_setup(), lambda: msg(3, C.proposal(C.block(3, C.genesis, C.gqc)))),
    "malformed/parent": (0, [], lambda: msg(1, C.proposal(C.block(1, C.genesis, C.gqc, parent_hash=b"\x01" * 32)))),
}


def _bad_config():
    return config(max_block_txs=10, codec_limits=CodecLimits(max_message_bytes=512))


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_counted_by_reason_and_changes_nothing(case):
    reason = case.split("/")[0]
    index, setup, make_bad = BAD[case]
    cluster = Cluster(4, _bad_config())
    r = started(cluster.replica(index))
    for ev in setup:
        r.handle(ev)
    assert r.rejections.get(reason, 0) == 0, r.rejections
    before = r.snapshot()
    counts_before = dict(r.rejections)
    actions = r.handle(make_bad())
    assert r.rejections.get(reason, 0) == counts_before.get(reason, 0) + 1, r.rejections
    assert r.snapshot() == before
    assert not [a for a in actions if isinstance(a, (Send, Broadcast))]
    assert r.metrics["internal_errors"] == 0


def test_handle_never_raises_even_on_unexpected_events_or_internal_errors(monkeypatch):
    r = started(C.replica(0))
    r.handle(object())
    assert r.rejections == {"unknown_event": 1}

    def boom(*_a, **_k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(r, "_on_proposal", boom)
    r.handle(msg(1, P1))
    assert r.metrics["internal_errors"] == 1


def test_vote_equivocation_is_detected_at_the_collecting_leader():
    r = started(C.replica(2))
    r.handle(msg(0, C.vote(0, 1, B[1].hash)))
    r.handle(msg(0, C.vote(0, 1, b"\x09" * 32)))
    assert r.rejections == {"equivocation": 1}


def test_admission_results_are_reported_for_new_transactions():
    r = started(C.replica(0))
    (admitted,) = [a for a in r.handle(NewTransactions((b"a", b"a"))) if isinstance(a, TxsAdmitted)]
    assert [x.code for x in admitted.results] == ["accepted", "duplicate"]


def test_a_key_outside_the_committee_cannot_run_a_replica():
    outsider = Cluster(5, config()).signers[4]
    clock = ManualClock(T0)
    with pytest.raises(ValueError):
        Replica(C.cfg, C.committee, outsider, clock, Mempool(MempoolConfig(), clock))
