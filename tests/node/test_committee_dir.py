"""Committee discovery through a shared directory (node/committee.py)."""
from __future__ import annotations

import asyncio

import pytest

from node.committee import CommitteeError, Member, gather, publish, read_members
from node.keys import NodeKey


def member(i: int, peer: str | None = None) -> Member:
    return Member(NodeKey.from_seed(bytes([i]) * 32).address, peer or f"node{i}:50061")


async def test_members_gather_the_same_committee_in_peer_order(tmp_path):
    ms = [member(i) for i in (2, 0, 3, 1)]
    got = await asyncio.gather(*(gather(tmp_path, m, 4, timeout_s=10, poll_s=0.01) for m in ms))
    assert all(g == got[0] for g in got), "every member derives the same committee"
    keys, peers = got[0]
    assert peers == [f"node{i}:50061" for i in range(4)]
    assert keys == [member(i).key for i in range(4)]


async def test_a_restarted_member_finds_the_committee_at_once_and_may_move(tmp_path):
    for i in range(4):
        publish(tmp_path, member(i))
    moved = member(1, "10.0.0.9:50061")
    keys, peers = await gather(tmp_path, moved, 4, timeout_s=1, poll_s=0.01)
    assert "10.0.0.9:50061" in peers and len(keys) == 4 and moved.key in keys


async def test_waiting_is_bounded_and_says_who_is_there(tmp_path):
    publish(tmp_path, member(1))
    with pytest.raises(CommitteeError, match=r"only 2 of 4 .*node0:50061, node1:50061"):
        await gather(tmp_path, member(0), 4, timeout_s=0.05, poll_s=0.01)


def test_a_node_that_came_back_with_a_new_key_is_named(tmp_path):
    publish(tmp_path, member(0))
    publish(tmp_path, member(9, "node0:50061"))
    with pytest.raises(CommitteeError, match="claimed by two keys"):
        read_members(tmp_path)


async def test_too_many_members_and_bad_files_are_refused(tmp_path):
    for i in range(5):
        publish(tmp_path, member(i))
    with pytest.raises(CommitteeError, match="5 members published for a committee of 4"):
        await gather(tmp_path, member(0), 4, timeout_s=1, poll_s=0.01)
    (tmp_path / "junk.member").write_text("key = 1\n")
    with pytest.raises(CommitteeError, match="junk.member"):
        read_members(tmp_path)
    with pytest.raises(CommitteeError, match="not host:port"):
        publish(tmp_path, Member(member(0).key, "nowhere"))
