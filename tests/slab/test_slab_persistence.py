"""Arena persistence (DESIGN §5, seed 000 §3): bit-for-bit rebuild, dirty pages, rejected
operations change nothing, determinism across processes, the 10 MB layout budget."""
from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from executor.errors import ErrorCode as E
from executor.errors import ExecutorError
from executor.slab.config import Capacities
from executor.slab.layout import MAX_ARENA_BYTES, PAGE_SIZE, arena_size
from executor.slab.program import Slab
from slab_support import (MAKER, MAKER2, PX, T0, apply_op, arena, make_config, make_slab,
                          random_op)

REPO = Path(__file__).resolve().parents[2]


def _run(slab, seed, n, ids=None):
    rng = random.Random(seed)
    ids = {} if ids is None else ids
    results = [apply_op(slab, random_op(rng, step), ids) for step in range(n)]
    return results, ids


def _invariants(slab):
    """EXCHANGE §4 invariants that live in a slab: reserved <= qty, book never crossed."""
    books, holds, *_ = slab.core.snapshot()
    for (bids, asks), _pending in books:
        for levels in (bids, asks):
            for price, total, reserved, orders in levels:
                assert 0 <= reserved <= total == sum(o[2] for o in orders)
                for _id, _acct, qty, res, _flags in orders:
                    assert 0 <= res <= qty
        if bids and asks:
            assert bids[0][0] < asks[0][0]
    for hold in holds:
        assert hold[6] == sum(q for _o, q, _p in hold[12])


def test_rebuild_from_arena_is_bit_for_bit_and_continues_identically():
    slab = make_slab()
    _results, ids = _run(slab, 1, 600)
    copy = Slab.from_arena(slab.config, slab.arena_bytes())
    assert arena(copy) == arena(slab)
    assert copy.core.snapshot() == slab.core.snapshot()         # same book, ids, next ids
    assert copy.core.stats() == slab.core.stats()
    ids_copy = {k: list(v) for k, v in ids.items()}
    rng_a, rng_b = random.Random(99), random.Random(99)
    for step in range(600, 900):
        ra = apply_op(slab, random_op(rng_a, step), ids)
        rb = apply_op(copy, random_op(rng_b, step), ids_copy)
        assert ra == rb
    assert arena(copy) == arena(slab)


def test_from_arena_refuses_wrong_size_or_other_config():
    slab = make_slab()
    with pytest.raises(ExecutorError) as exc:
        Slab.from_arena(slab.config, bytes(arena(slab))[:-PAGE_SIZE])
    assert exc.value.code == E.ARENA_MISMATCH
    with pytest.raises(ExecutorError) as exc:
        Slab.from_arena(make_config(taker_fee_bps=6), arena(slab))
    assert exc.value.code == E.ARENA_MISMATCH


def test_dirty_pages_cover_every_changed_page():
    slab = make_slab()
    rng = random.Random(5)
    ids: dict = {}
    for step in range(400):
        before = arena(slab)
        slab.clear_dirty()
        apply_op(slab, random_op(rng, step), ids)
        after = arena(slab)
        changed = {i for i in range(len(after) // PAGE_SIZE)
                   if before[i * PAGE_SIZE:(i + 1) * PAGE_SIZE] != after[i * PAGE_SIZE:(i + 1) * PAGE_SIZE]}
        assert changed <= set(slab.dirty_pages()), step
    assert slab.page(0) == arena(slab)[:PAGE_SIZE]


def test_dirty_pages_are_few_for_a_small_change():
    slab = make_slab(capacities=Capacities(accounts=64, orders=4096, positions=256,
                                           reservations=512, slices=4096, trades=1024))
    slab.clear_dirty()
    assert slab.place_order(MAKER, 0, 1, PX, 1, now_ms=T0 + 1).ok
    assert 0 < len(slab.dirty_pages()) <= 6 < len(arena(slab)) // PAGE_SIZE


_ops = st.lists(st.integers(0, 1 << 30), min_size=30, max_size=150)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ops)
def test_rejected_operations_leave_the_arena_byte_identical(seeds):
    slab = make_slab()
    ids: dict = {}
    for step, seed in enumerate(seeds):
        op = random_op(random.Random(seed), step)
        before = arena(slab)
        r = apply_op(slab, op, ids)
        if not r.ok:
            assert arena(slab) == before, (op, r.code)
        _invariants(slab)


_DETERMINISM = r"""
import hashlib, random, sys
sys.path.insert(0, sys.argv[1])
from slab_support import apply_op, make_slab, random_op
slab = make_slab()
rng = random.Random(2024)
ids = {}
for step in range(1500):
    apply_op(slab, random_op(rng, step), ids)
print(hashlib.sha256(bytes(slab.arena_bytes())).hexdigest())
"""


def test_same_stream_in_two_processes_gives_byte_identical_arenas():
    digests = []
    for seed in ("1", "31337"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run([sys.executable, "-c", _DETERMINISM, str(Path(__file__).parent)],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        digests.append(out.stdout.strip())
    assert digests[0] == digests[1] and len(digests[0]) == 64
    slab = make_slab()
    rng = random.Random(2024)
    ids: dict = {}
    for step in range(1500):
        apply_op(slab, random_op(rng, step), ids)
    assert hashlib.sha256(arena(slab)).hexdigest() == digests[0]


def test_layout_stays_within_ten_megabytes_and_oversize_is_refused():
    assert MAX_ARENA_BYTES == 10 * 1024 * 1024
    size = arena_size(instruments=32, accounts=1024, orders=16384, positions=4096,
                      reservations=2048, slices=16384, trades=4096)
    assert size <= MAX_ARENA_BYTES and size % PAGE_SIZE == 0
    assert Slab(make_config(capacities=Capacities())).layout.size <= MAX_ARENA_BYTES
    with pytest.raises(ExecutorError) as exc:
        Slab(make_config(capacities=Capacities(orders=60_000)))
    assert exc.value.code == E.ARENA_TOO_LARGE
    with pytest.raises(ValueError):
        arena_size(instruments=33, accounts=1, orders=1, positions=1, reservations=1, slices=1,
                   trades=1)


def test_full_account_and_position_pools_are_clean_rejections():
    slab = make_slab(capacities=Capacities(accounts=5, orders=16, positions=2, reservations=2,
                                           slices=8, trades=8))
    before = arena(slab)
    assert slab.set_collateral(77, 10, now_ms=T0).code == E.POOL_FULL_ACCOUNTS
    assert arena(slab) == before
    assert slab.place_order(MAKER, 0, 1, PX, 1, now_ms=T0 + 1).ok
    assert slab.place_order(MAKER, 1, 1, PX, 2 * 2, now_ms=T0 + 1).ok
    before = arena(slab)
    assert slab.place_order(MAKER2, 0, 1, PX, 1, now_ms=T0 + 2).code == E.POOL_FULL_POSITIONS
    assert arena(slab) == before


def test_slab_lives_in_a_supplied_buffer_and_reattaches_in_place():
    """The statetree page region hands its ``buffer``; the slab must write into it directly."""
    config = make_config()
    region = bytearray(b"\xff" * Slab(config).layout.size)    # garbage is wiped on format
    slab = Slab(config, buffer=region)
    fresh = make_slab()
    assert slab.set_collateral(MAKER, 10**12, now_ms=T0).ok
    assert slab.update_oracle(0, PX, now_ms=T0).ok
    assert slab.place_order(MAKER, 0, 1, PX, 3, now_ms=T0 + 1).ok
    assert bytes(region) == arena(slab)
    again = Slab.attach(config, region)
    assert again.dirty_pages() == []
    assert again.core.snapshot() == slab.core.snapshot()
    assert again.place_order(MAKER, 0, 1, PX, 2, now_ms=T0 + 2).ok
    assert bytes(region) == arena(again) and again.dirty_pages()
    with pytest.raises(ExecutorError) as exc:
        Slab(config, buffer=bytearray(10))
    assert exc.value.code == E.ARENA_MISMATCH
    assert fresh.layout == slab.layout
