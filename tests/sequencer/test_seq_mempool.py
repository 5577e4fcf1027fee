"""Mempool: arrival order, dedup, limits, decided removal, rate limits, admission hook."""

from __future__ import annotations

from sequencer.mempool import (
    ACCEPTED,
    ALREADY_DECIDED,
    DUPLICATE,
    POOL_FULL,
    RATE_LIMITED,
    TOO_LARGE,
    HookVerdict,
    Mempool,
    MempoolConfig,
)
from sequencer.pacemaker import ManualClock
from sequencer.types import tx_hash


def pool(**kw) -> tuple[Mempool, ManualClock]:
    clock = ManualClock(0)
    return Mempool(MempoolConfig(**kw), clock), clock


def test_select_returns_transactions_in_arrival_order():
    mp, _ = pool()
    for tx in (b"c", b"a", b"b"):
        assert mp.submit(tx).accepted
    assert mp.select(10, 1_000) == [b"c", b"a", b"b"]


def test_duplicates_are_refused_by_hash():
    mp, _ = pool()
    assert mp.submit(b"x").code == ACCEPTED
    assert mp.submit(b"x").code == DUPLICATE
    assert len(mp) == 1


def test_select_respects_count_and_byte_limits_as_a_prefix():
    mp, _ = pool()
    for tx in (b"1" * 10, b"2" * 30, b"3" * 5):
        mp.submit(tx)
    assert mp.select(2, 1_000) == [b"1" * 10, b"2" * 30]
    assert mp.select(10, 20) == [b"1" * 10]  # the small third never overtakes the big second


def test_select_skips_transactions_already_in_undecided_blocks():
    mp, _ = pool()
    for tx in (b"a", b"b", b"c"):
        mp.submit(tx)
    assert mp.select(10, 100, exclude={tx_hash(b"a")}) == [b"b", b"c"]


def test_decided_transactions_are_removed_and_not_readmitted():
    mp, _ = pool()
    mp.submit(b"a")
    mp.submit(b"b")
    assert mp.remove_decided([tx_hash(b"a")]) == 1
    assert mp.select(10, 100) == [b"b"] and mp.total_bytes == 1
    assert mp.submit(b"a").code == ALREADY_DECIDED


def test_pool_and_transaction_size_limits():
    mp, _ = pool(max_pool_txs=2, max_tx_bytes=4, max_pool_bytes=6)
    assert mp.submit(b"12345").code == TOO_LARGE
    assert mp.submit(b"1234").accepted
    assert mp.submit(b"abc").code == POOL_FULL  # bytes
    assert mp.submit(b"ab").accepted
    assert mp.submit(b"z").code == POOL_FULL  # count


def test_token_bucket_limits_each_client_on_the_injected_clock():
    mp, clock = pool(rate_per_s=10, burst=2)
    results = [mp.submit(b"tx%d" % i, "alice").code for i in range(3)]
    assert results == [ACCEPTED, ACCEPTED, RATE_LIMITED]
    assert mp.submit(b"other", "bob").accepted
    clock.advance(99)
    assert mp.submit(b"tx9", "alice").code == RATE_LIMITED
    clock.advance(1)
    assert mp.submit(b"tx9", "alice").accepted


def test_admission_hook_sees_hash_and_time_and_its_code_is_returned():
    seen = []

    def hook(tx, h, now_ms):
        seen.append((tx, h, now_ms))
        if tx.startswith(b"bad"):
            return HookVerdict(False, "commit_too_early", "commit must land in a later epoch")
        return HookVerdict(True)

    clock = ManualClock(777)
    mp = Mempool(MempoolConfig(), clock, admit=hook)
    refused = mp.submit(b"bad-commit")
    assert (refused.code, refused.message) == ("commit_too_early", "commit must land in a later epoch")
    assert not refused.accepted and len(mp) == 0
    assert mp.submit(b"good").accepted
    assert seen[1] == (b"good", tx_hash(b"good"), 777)
