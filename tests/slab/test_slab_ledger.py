"""The C accounting kernel (``ledger.pyx``, used by commit) against the Python rules of
``program.py``: the same random streams must give identical results and identical arenas."""
from __future__ import annotations

import random

import pytest

from executor.errors import ErrorCode as E
from slab_support import MAKER, PX, T0, TAKER, apply_op, arena, make_slab, random_op


@pytest.mark.parametrize(
    "seed, overrides, collateral",
    [
        (11, {}, 10**13),
        (12, {"maker_fee_bps": -1}, 10**13),
        (13, {"maker_fee_bps": -2, "jit_penalty": False, "arg_tax_bps": 25}, 10**13),
        (14, {"imr_bps": 2_000, "mmr_bps": 1_000}, 150 * 10**6),    # margin binds sometimes
        (15, {"taker_fee_bps": 0, "maker_fee_bps": 0, "arg_tax_bps": 0}, 10**10),
    ],
)
def test_fast_commit_matches_python_rules_byte_for_byte(seed, overrides, collateral):
    fast = make_slab(collateral=collateral, **overrides)
    slow = make_slab(collateral=collateral, **overrides)
    slow.fast_commit = False
    rng_a, rng_b = random.Random(seed), random.Random(seed)
    ids_a: dict = {}
    ids_b: dict = {}
    commits = {}
    for step in range(2500):
        op_a, op_b = random_op(rng_a, step), random_op(rng_b, step)
        ra, rb = apply_op(fast, op_a, ids_a), apply_op(slow, op_b, ids_b)
        assert ra == rb, (step, op_a)
        if op_a[0] == "commit":
            commits[ra.code] = commits.get(ra.code, 0) + 1
        if op_a[0] == "reserve" and ra.ok and step % 4:
            # commit most holds soon after they are made, so commits dominate the stream
            ra = fast.commit(ra.hold_id, now_ms=T0 + 10 + step * 7 + 1)
            rb = slow.commit(rb.hold_id, now_ms=T0 + 10 + step * 7 + 1)
            assert ra == rb, (step, "commit")
            commits[ra.code] = commits.get(ra.code, 0) + 1
        assert arena(fast) == arena(slow), (step, op_a)
    assert commits.get(E.OK, 0) > 25, commits


def test_fast_commit_marks_every_page_it_writes():
    slab = make_slab(maker_fee_bps=-1)
    rng = random.Random(3)
    ids: dict = {}
    for step in range(600):
        before = arena(slab)
        slab.clear_dirty()
        op = random_op(rng, step)
        apply_op(slab, op, ids)
        after = arena(slab)
        changed = {i for i in range(len(after) // 4096)
                   if before[i * 4096:(i + 1) * 4096] != after[i * 4096:(i + 1) * 4096]}
        assert changed <= set(slab.dirty_pages()), (step, op)


def test_fast_commit_rejects_margin_breach_without_writing():
    slab = make_slab(imr_bps=5_000)
    slab.set_collateral(TAKER, 10 * 10**6, now_ms=T0)
    assert slab.place_order(MAKER, 0, 1, PX, 5, now_ms=T0 + 1).ok
    h = slab.reserve(TAKER, 0, 0, 5, PX, now_ms=T0 + 2, ttl_ms=1_000)
    before = arena(slab)
    assert slab.commit(h.hold_id, now_ms=T0 + 3).code == E.MARGIN_INSUFFICIENT
    assert arena(slab) == before
