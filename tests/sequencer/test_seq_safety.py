"""The pure safety rules: vote rule, lock, timeout rule, two-chain decide rule."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from seqkit import Cluster, config

from sequencer import safety as rules
from sequencer.safety import SafetyState

C = Cluster(4, config())


def chain(views):
    """Blocks on one branch with the given views, each justified by a QC for its parent."""
    blocks, qcs = [C.genesis], [C.gqc]
    for v in views:
        b = C.block(v, blocks[-1], qcs[-1])
        blocks.append(b)
        qcs.append(C.qc(b))
    return blocks, qcs


def lookup_of(*block_lists):
    table = {b.hash: b for bl in block_lists for b in bl}
    return table.get


def test_vote_allowed_for_a_block_justified_by_the_previous_view():
    blocks, qcs = chain([1, 2])
    s = SafetyState.initial(C.gqc)
    b3 = C.block(3, blocks[2], qcs[2])
    assert rules.vote_refusal(s, b3, None) is None


def test_vote_refused_in_a_view_already_voted_or_timed_out():
    blocks, qcs = chain([1, 2])
    b3 = C.block(3, blocks[2], qcs[2])
    voted = rules.after_vote(SafetyState.initial(C.gqc), 3)
    assert rules.vote_refusal(voted, b3, None) == rules.ALREADY_VOTED
    timed_out = rules.after_timeout(SafetyState.initial(C.gqc), 3)
    assert rules.vote_refusal(timed_out, b3, None) == rules.ALREADY_VOTED


def test_vote_refused_for_a_view_gap_without_a_timeout_certificate():
    blocks, qcs = chain([1])
    b3 = C.block(3, blocks[1], qcs[1])
    assert rules.vote_refusal(SafetyState.initial(C.gqc), b3, None) == rules.UNJUSTIFIED_VIEW


def test_timeout_certificate_justifies_a_gap_only_with_the_highest_reported_qc():
    blocks, qcs = chain([1, 2])
    tc = C.tc(3, {0: qcs[1], 1: qcs[2], 2: qcs[1]})
    on_highest = C.block(4, blocks[2], qcs[2])
    on_lower = C.block(4, blocks[1], qcs[1])
    s = SafetyState.initial(C.gqc)
    assert rules.vote_refusal(s, on_highest, tc) is None
    assert rules.vote_refusal(s, on_lower, tc) == rules.UNJUSTIFIED_VIEW
    wrong_view_tc = C.tc(2, {0: qcs[1], 1: qcs[1], 2: qcs[1]})
    assert rules.vote_refusal(s, C.block(4, blocks[1], qcs[1]), wrong_view_tc) == rules.UNJUSTIFIED_VIEW


def test_vote_refused_below_the_lock():
    blocks, qcs = chain([1, 2, 3])
    s = rules.after_qc(SafetyState.initial(C.gqc), qcs[3], blocks[3])
    assert s.locked_qc == qcs[2]
    tc = C.tc(4, {0: qcs[1], 1: qcs[1], 2: qcs[1]})
    stale = C.block(5, blocks[1], qcs[1])
    assert rules.vote_refusal(s, stale, tc) == rules.BELOW_LOCK


def test_vote_refused_when_parent_is_not_the_justified_block():
    blocks, qcs = chain([1, 2])
    b = C.block(3, blocks[1], qcs[2])
    assert rules.vote_refusal(SafetyState.initial(C.gqc), b, None) == rules.NOT_EXTENDING_JUSTIFY


def test_lock_is_the_justify_of_the_highest_certified_block_and_never_drops():
    blocks, qcs = chain([1, 2, 3])
    s = SafetyState.initial(C.gqc)
    s = rules.after_qc(s, qcs[3], blocks[3])
    assert (s.high_qc, s.locked_qc) == (qcs[3], qcs[2])
    s2 = rules.after_qc(s, qcs[1], blocks[1])
    assert s2 is s


def test_lock_waits_for_the_certified_block():
    blocks, qcs = chain([1, 2])
    s = rules.after_qc(SafetyState.initial(C.gqc), qcs[2], None)
    assert s.high_qc == qcs[2] and s.locked_qc == C.gqc
    assert rules.after_qc(s, qcs[2], blocks[2]).locked_qc == qcs[1]


def test_timeouts_only_move_forward():
    s = rules.after_vote(SafetyState.initial(C.gqc), 5)
    assert rules.timeout_allowed(s, 5) and rules.timeout_allowed(s, 6)
    assert not rules.timeout_allowed(s, 4)


def test_two_chain_decides_the_parent_of_a_block_certified_in_the_next_view():
    blocks, qcs = chain([1, 2, 3])
    lookup = lookup_of(blocks)
    assert rules.decide_target(qcs[2], lookup) == blocks[1]
    assert rules.decide_target(qcs[3], lookup) == blocks[2]
    assert rules.decide_target(qcs[1], lookup) == C.genesis  # already decided: callers skip it
    assert rules.decide_target(C.gqc, lookup) is None


def test_two_chain_does_not_decide_across_a_view_gap():
    blocks, qcs = chain([1, 3])
    assert rules.decide_target(qcs[2], lookup_of(blocks)) is None


def test_decide_needs_both_blocks():
    blocks, qcs = chain([1, 2])
    assert rules.decide_target(qcs[2], lookup_of(blocks[2:])) is None


def test_extends_walks_parents():
    blocks, _ = chain([1, 2, 3])
    lookup = lookup_of(blocks)
    assert rules.extends(blocks[3], blocks[1].hash, 1, lookup)
    other, _ = chain([5])
    assert not rules.extends(blocks[3], other[1].hash, 1, lookup)
    assert rules.extends(blocks[3], blocks[1].hash, 1, lookup_of(blocks[3:])) is None


_TCS: dict = {}


def _tc_over_qc1(view):
    if view not in _TCS:
        blocks, qcs = _CHAIN1
        _TCS[view] = C.tc(view, {0: qcs[1], 1: qcs[1], 2: qcs[1]})
    return _TCS[view]


_CHAIN1 = chain([1])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["vote", "timeout"]), st.integers(1, 30)), max_size=40))
def test_no_sequence_of_rule_applications_allows_two_votes_in_one_view(ops):
    """Whatever order proposals and timers arrive in, a vote in view v is only ever cast when
    nothing (no vote, no timeout) happened yet at view v or above."""
    blocks, qcs = _CHAIN1
    s = SafetyState.initial(C.gqc)
    history: list[tuple[str, int]] = []
    for op, view in ops:
        if op == "vote":
            b = C.block(view + 1, blocks[1], qcs[1])
            tc = _tc_over_qc1(view) if view > 1 else None
            if rules.vote_refusal(s, b, tc) is None:
                history.append(("vote", b.view))
                s = rules.after_vote(s, b.view)
        elif rules.timeout_allowed(s, view):
            history.append(("timeout", view))
            s = rules.after_timeout(s, view)
    for i, (kind, v) in enumerate(history):
        if kind == "vote":
            assert all(w < v for _, w in history[:i])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=8))
def test_decide_rule_fires_exactly_on_consecutive_views(gaps):
    views, v = [], 0
    for g in gaps:
        v += g
        views.append(v)
    blocks, qcs = chain(views)
    lookup = lookup_of(blocks)
    for i in range(2, len(blocks)):
        decided = rules.decide_target(qcs[i], lookup)
        if blocks[i].view == blocks[i - 1].view + 1:
            assert decided == blocks[i - 1]
        else:
            assert decided is None
