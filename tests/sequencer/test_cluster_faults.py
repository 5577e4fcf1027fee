"""Fault scenarios of a real 4-node sequencer cluster (issue 6 tests; DESIGN §7).

n = 4 tolerates f = 1: SIGKILL of the leader and a stopped-and-restarted member must not stop
the cluster, and the restarted member catches up (FetchBlocks catch-up, then in-protocol block
fetch); two members down leave no quorum, so nothing is decided until one returns; all four
restarting at once must resume from their persisted safety state without a fork and without
anyone signing twice in a view (no `equivocation` rejections anywhere).
"""
from __future__ import annotations

import time

from test_cluster_kit import Cluster, assert_one_chain, signed_orders, submit

PROGRESS = 5  # blocks that count as "progress" (idle leaders propose empty blocks every ~25 ms)


def _progress(c: Cluster, timeout_s: float = 20.0) -> int:
    base = max(c.heights().values())
    return max(c.wait_heights(base + PROGRESS, timeout_s).values())


def test_sigkill_of_the_leader_does_not_stop_the_cluster(tmp_path):
    c = Cluster.create(tmp_path, 4)
    try:
        c.start()
        _progress(c)
        leader = c.leader_index()
        c.kill(leader)
        _progress(c)
        others = [m for m in c.members if m.index != leader]
        assert submit(others[0], signed_orders(20))[0].accepted
        time.sleep(0.1)
        c.start(leader)
        top = _progress(c)
        c.wait_heights(top, 20)
    finally:
        c.stop()
    assert assert_one_chain(c.decided_chains()) >= top


def test_a_stopped_member_catches_up_after_restart(tmp_path):
    c = Cluster.create(tmp_path, 4)
    try:
        c.start()
        _progress(c)
        c.stop(3)
        h = _progress(c)
        h = _progress(c)
        assert submit(c.members[0], signed_orders(30))[0].accepted
        c.start(3)
        c.wait_heights(h, 20, [c.members[3]])
        assert c.members[3].metric("sequencer_catchup_blocks_total") >= 1
    finally:
        c.stop()
    assert assert_one_chain(c.decided_chains()) >= h


def test_two_members_down_stops_progress_until_one_returns(tmp_path):
    c = Cluster.create(tmp_path, 4)
    try:
        c.start()
        _progress(c)
        c.kill(2, 3)
        time.sleep(1.0)  # whatever was in flight settles
        stuck = c.heights()
        time.sleep(2.5)
        assert c.heights() == stuck, "decided without a quorum"
        c.start(2)
        top = _progress(c, 30)
        c.start(3)
        c.wait_heights(top, 20)
    finally:
        c.stop()
    assert assert_one_chain(c.decided_chains()) >= top


def test_restarting_all_members_at_once_resumes_without_fork_or_double_vote(tmp_path):
    c = Cluster.create(tmp_path, 4)
    try:
        c.start()
        assert submit(c.members[1], signed_orders(40))[0].accepted
        before = _progress(c)
        c.kill()
        c.start()
        after = _progress(c, 30)
        assert after > before
        equivocations = sum(_reason(m, "equivocation") for m in c.members)
        assert equivocations == 0
    finally:
        c.stop()
    assert assert_one_chain(c.decided_chains()) >= before


def _reason(member, reason: str) -> float:
    text = member.http("/metrics")[1].decode()
    for line in text.splitlines():
        if line.startswith(f'consensus_rejected_messages_total{{reason="{reason}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
