"""The C kernel (``ledger.pyx``: commit's fill accounting and the whole reserve call) against
the Python rules of ``program.py``: the same streams must give identical results and arenas."""
from __future__ import annotations

import dataclasses
import random

import pytest

from executor.errors import ErrorCode as E
from executor.slab.program import DLP, REG
from slab_support import MAKER, PX, T0, TAKER, USERS, apply_op, arena, make_slab, random_op


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
    slow.fast_reserve = False
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
            # commit most holds soon after they are made, so commits dominate the stream;
            # the compiled check (router preview) agrees with the Python one and writes nothing
            before = arena(fast)
            ca = fast.check_commit(ra.hold_id, now_ms=T0 + 10 + step * 7 + 1)
            assert ca == slow.check_commit(rb.hold_id, now_ms=T0 + 10 + step * 7 + 1), (step, "check")
            assert arena(fast) == before, (step, "check_commit wrote")
            ra = fast.commit(ra.hold_id, now_ms=T0 + 10 + step * 7 + 1)
            assert dataclasses.replace(ra, trades=()) == ca, (step, "check differs from commit")
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


@pytest.mark.parametrize(
    "args",
    [
        (0, TAKER, 0, 3, PX, T0 + 2, 1_000),
        (0, TAKER, 0, 3, PX, T0 - 1, 1_000),          # time went backwards
        (2, TAKER, 0, 3, PX, T0 + 2, 1_000),          # unknown instrument
        (-1, TAKER, 0, 3, PX, T0 + 2, 1_000),
        (0, 999, 0, 3, PX, T0 + 2, 1_000),            # unknown account
        (0, TAKER, 2, 3, PX, T0 + 2, 1_000),          # bad side
        (0, TAKER, 0, 0, PX, T0 + 2, 1_000),
        (0, TAKER, 0, 3, 0, T0 + 2, 1_000),
        (0, TAKER, 0, 3, PX + 1, T0 + 2, 1_000),      # tick
        (1, TAKER, 0, 3, PX, T0 + 2, 1_000),          # lot
        (1, TAKER, 0, 2, PX, T0 + 2, 1_000),          # min size
        (0, TAKER, 0, 3, PX, T0 + 2, 0),              # ttl
        (0, TAKER, 0, 3, PX, T0 + 2, 120_001),
        (0, TAKER, 0, 3, PX, T0 + 9_000, 1_000),      # stale oracle
        (0, TAKER, 0, 1 << 40, PX, T0 + 2, 1_000),    # core bound
        (0, TAKER, 0, 1 << 70, PX, T0 + 2, 1_000),    # beyond i64
        (0, MAKER, 0, 3, PX, T0 + 2, 1_000),          # self trade
        (0, TAKER, 1, 3, PX, T0 + 2, 1_000),          # nothing to hit on the bid side
    ],
)
def test_fast_reserve_gives_the_python_result_for_every_input(args):
    """... and the compiled quote (reserve without writing) the Python quote's, with nothing
    written by either."""
    results, arenas, quotes = [], [], []
    for fast in (True, False):
        slab = make_slab()
        slab.fast_reserve = fast
        assert slab.place_order(MAKER, 0, 1, PX, 5, now_ms=T0 + 1).ok
        before = arena(slab)
        quotes.append(slab.quote(*args[:5], now_ms=args[5], ttl_ms=args[6]))
        assert arena(slab) == before
        results.append(slab.reserve(*args[:5], now_ms=args[5], ttl_ms=args[6]))
        arenas.append(arena(slab))
    assert results[0] == results[1]
    assert arenas[0] == arenas[1]
    assert quotes[0] == quotes[1]
    if results[0].ok:
        assert quotes[0] == dataclasses.replace(results[0], hold_id=0)


@pytest.mark.parametrize(
    "case",
    ["ok", "closed", "unknown", "negative", "expired", "stale", "kill_band", "fee_cap_taker",
     "fee_cap_maker", "backwards", "positions_full"],
)
def test_fast_commit_gives_the_python_result_for_every_input(case):
    from executor.slab.config import Capacities
    results, arenas, checks = [], [], []
    for fast in (True, False):
        caps = Capacities(accounts=16, orders=64, positions=2 if case == "positions_full" else 32,
                          reservations=8, slices=64, trades=128)
        slab = make_slab(capacities=caps)
        slab.fast_commit = fast
        assert slab.place_order(MAKER, 0, 1, PX, 5, now_ms=T0 + 1).ok
        if case == "positions_full":
            assert slab.place_order(MAKER, 1, 1, PX, 4, now_ms=T0 + 1).ok
        h = slab.reserve(TAKER, 0, 0, 3, PX, now_ms=T0 + 2, ttl_ms=1_000)
        assert h.ok
        hold, now, kw = h.hold_id, T0 + 3, {}
        if case == "closed":
            slab.release(hold, now_ms=T0 + 3)
        elif case == "unknown":
            hold = 50 << 24
        elif case == "negative":
            hold = -1
        elif case == "expired":
            now = T0 + 1_003
        elif case == "stale":
            now = T0 + 9_000
        elif case == "kill_band":
            slab.update_oracle(0, PX + PX // 100, now_ms=T0 + 3)
        elif case == "fee_cap_taker":
            kw = {"fee_cap_taker_bps": 4}
        elif case == "fee_cap_maker":
            kw = {"fee_cap_maker_bps": 1}
        elif case == "backwards":
            now = T0 + 1
        before = arena(slab)
        checks.append(slab.check_commit(hold, now_ms=now, **kw))
        assert arena(slab) == before, "check_commit writes nothing"
        results.append(slab.commit(hold, now_ms=now, **kw))
        arenas.append(arena(slab))
    assert results[0] == results[1]
    assert checks[0] == checks[1], "the compiled check gives the Python check's result"
    assert dataclasses.replace(results[0], trades=()) == checks[0]
    assert arenas[0] == arenas[1]
    assert results[0].ok == (case == "ok")


@pytest.mark.parametrize("seed, overrides, collateral", [
    (21, {}, 10**13),
    (22, {"imr_bps": 2_000, "mmr_bps": 1_000}, 150 * 10**6),    # margin binds, orders refused
    (23, {"maker_fee_bps": -2, "arg_tax_bps": 25}, 10**9),
])
def test_compiled_router_reads_and_collateral_sync_match_the_python_rules(seed, overrides, collateral):
    """``margin`` / ``_margin`` with a hypothetical resting fill / ``collateral_cash`` /
    ``sync_collateral`` in the kernel (``fast_reads``) against the Python rules: identical
    answers for every user after every step of a random stream, identical arenas, and the same
    order acceptance (the placement margin check runs through the kernel)."""
    fast = make_slab(collateral=collateral, **overrides)
    slow = make_slab(collateral=collateral, **overrides)
    slow.fast_reads = False
    slow.fast_reserve = False          # and the quote the router's routing asks
    rng_a, rng_b = random.Random(seed), random.Random(seed)
    ids_a: dict = {}
    ids_b: dict = {}
    refused = quoted = 0
    for step in range(1500):
        op_a, op_b = random_op(rng_a, step), random_op(rng_b, step)
        ra, rb = apply_op(fast, op_a, ids_a), apply_op(slow, op_b, ids_b)
        assert ra == rb, (step, op_a)
        refused += op_a[0] == "place" and getattr(ra, "code", 0) == E.MARGIN_INSUFFICIENT
        if step % 5 == 0:      # the router's escrow sync after a settlement
            user = USERS[step % len(USERS)]
            amount = collateral // (1 + step % 7)
            now = T0 + 10 + step * 7
            assert fast.sync_collateral(user, amount, now_ms=now) == \
                slow.sync_collateral(user, amount, now_ms=now), step
            # a placement's funding (maker class, cash kept), sometimes with a stale clock
            cls = (None, REG, DLP)[step % 3]
            at = now - 20 if step % 15 == 0 else now
            assert fast.set_collateral(user, amount + 7, maker_class=cls, now_ms=at, reset_cash=step % 2 == 0) == \
                slow.set_collateral(user, amount + 7, maker_class=cls, now_ms=at, reset_cash=step % 2 == 0), step
        for user in USERS:
            assert fast.margin(user) == slow.margin(user), (step, user)
            assert fast.margin_with_orders(user) == slow.margin_with_orders(user), (step, user)
            assert fast.collateral_cash(user) == slow.collateral_cash(user), (step, user)
            for instr in (0, 1):
                for q in (-3, 5):
                    assert fast._margin(user, extra=(instr, q)) == slow._margin(user, extra=(instr, q))
                now = T0 + 10 + step * 7
                qa = fast.quote(user, instr, step % 2, 4, PX + (step % 5 - 2) * 100_000, now_ms=now, ttl_ms=500)
                assert qa == slow.quote(user, instr, step % 2, 4, PX + (step % 5 - 2) * 100_000, now_ms=now,
                                        ttl_ms=500), (step, user, instr)
                quoted += qa.ok
        assert arena(fast) == arena(slow), (step, op_a)
    if overrides.get("imr_bps"):
        assert refused > 0       # the kernel's placement check really refused some orders
    assert quoted > 100, quoted


@pytest.mark.parametrize("fast", [True, False])
def test_sync_collateral_refuses_a_clock_going_backwards_and_writes_nothing(fast):
    slab = make_slab()
    slab.fast_reads = fast
    assert slab.sync_collateral(MAKER, 5 * 10**9, now_ms=T0 + 100) == E.OK
    before = arena(slab)
    assert slab.sync_collateral(MAKER, 7 * 10**9, now_ms=T0 + 50) == E.TIME_WENT_BACKWARDS
    assert arena(slab) == before
    assert slab.sync_collateral(MAKER, 5 * 10**9, now_ms=T0 + 50) == E.OK   # already in sync
    assert slab.collateral_cash(MAKER) == (5 * 10**9, 0)


@pytest.mark.parametrize("fast", [True, False])
def test_out_of_range_arguments_are_refused_with_a_code_on_both_paths(fast):
    """Values beyond i64 never reach the kernel's 64-bit arguments: the same codes as the
    Python rules, nothing written, nothing raised."""
    slab = make_slab()
    slab.fast_reads = fast
    oid = slab.place_order(MAKER, 0, 0, PX - 10 * 10_000, 3, now_ms=T0 + 1).order_id
    before = arena(slab)
    assert slab.sync_collateral(MAKER, 1 << 64, now_ms=T0 + 2) == E.BAD_ARGUMENT
    assert slab.set_collateral(MAKER, 5, now_ms=1 << 64).code == E.BAD_ARGUMENT
    assert arena(slab) == before
    slab2 = make_slab()
    slab2.fast_reads = fast
    oid = slab2.place_order(MAKER, 0, 0, PX - 10 * 10_000, 3, now_ms=T0 + 1).order_id
    before = arena(slab2)
    for qty in (1 << 63, 1 << 64, (1 << 63) - 1):
        r = slab2.modify_order(MAKER, oid, PX - 10 * 10_000, qty, now_ms=T0 + 2)
        assert not r.ok and r.code in (E.MARGIN_INSUFFICIENT, E.OVERFLOW, E.BAD_ARGUMENT), (qty, r)
        assert arena(slab2) == before
    assert slab.ledger.margin(0, 0, [], 0, -(1 << 63), 100) is None      # |q| beyond i64
