"""Differential test: the Cython core and the pure-Python reference model (seed 000 §5.4:
"replay random post/cancel sequences and compare ... against a reference simulator").

Random streams mix every operation — place (GTC/IOC/FOK/post-only, DLP live and REG
pending), cancel, modify, reserve, commit, release and batch_open promotion — over small
pools so that pool-full rejections, slot reuse and the top-K freeze all occur.  After every
operation the return code, ids, fills, trade prints and whole books must be identical.
"""
from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching_support import make_pair

OPS = ("place", "place", "place", "place", "cancel", "modify", "reserve", "commit", "release",
       "batch_open")


def _random_op(rng: random.Random) -> tuple:
    kind = rng.choice(OPS)
    return (kind, rng.randrange(2), rng.randint(1, 4), rng.randrange(2), rng.randint(95, 105),
            rng.randint(1, 12), rng.randrange(4), rng.random() < 0.3, rng.randrange(1 << 16),
            rng.randint(0, 3))


def _check_invariants(snap):
    """EXCHANGE §4 in the core: reserved_qty <= qty, level sums, book never crossed, holds
    sum their slices, pending orders sit outside the LIVE book."""
    books, holds, *_ = snap
    live_ids = set()
    for (bids, asks), pending in books:
        for levels in (bids, asks):
            prices = [lv[0] for lv in levels]
            assert prices == sorted(prices, reverse=levels is bids)
            for _price, total, reserved, orders in levels:
                assert total == sum(o[2] for o in orders)
                assert reserved == sum(o[3] for o in orders)
                for oid, _acct, qty, res, flags in orders:
                    assert 0 <= res <= qty and qty > 0 and not flags & 1
                    live_ids.add(oid)
        if bids and asks:
            assert bids[0][0] < asks[0][0]
        assert not live_ids & {p[0] for p in pending}
    for hold in holds:
        assert hold[6] == sum(q for _o, q, _p in hold[12]) > 0
        assert all(oid in live_ids for oid, _q, _p in hold[12])


def _check_account_views(core, snap, ctx) -> None:
    """``account_orders`` / ``account_open_by_side`` agree with the books' snapshot: every
    order of the account, and the open (not cancelled) quantity per instrument and side."""
    books = snap[0]
    for acct in {o[1] for instr in books for side in instr[0] for lv in side for o in lv[3]} | \
            {p[1] for instr in books for p in instr[1]} | {1}:
        ids, sums = [], {}
        for i, (sides, pend) in enumerate(books):
            for side, levels in enumerate(sides):
                for _px, _tot, _res, orders in levels:
                    for oid, account, qty, _reserved, flags in orders:
                        if account == acct:
                            ids.append(oid)
                            if not flags & 2:
                                sums.setdefault(i, [0, 0])[side] += qty
            for oid, account, side, _px, qty in pend:
                if account == acct:
                    ids.append(oid)
                    sums.setdefault(i, [0, 0])[side] += qty
        assert core.account_orders(acct) == sorted(ids), ctx
        assert core.account_open_by_side(acct) == [(i, b, s) for i, (b, s) in sorted(sums.items()) if b or s], ctx
        assert core.account_open_qty(acct) == sum(b + s for b, s in sums.values()), ctx


def _run_stream(ops, *, freeze_ms=0, topk=0, orders=12, reservations=3, slices=8):
    core, ref, _buf, _layout = make_pair(orders=orders, reservations=reservations, slices=slices,
                                         trades=16, freeze_ms=freeze_ms, topk=topk)
    order_ids: list[int] = [5 << 24, (1 << 24) | 3]  # includes never-issued and odd ids
    resv_ids: list[int] = [7 << 24]
    now = 1
    def choose(ids, pick):
        # mostly recent ids (likely still open), sometimes any id ever seen (closed, reused slot)
        if pick % 4:
            return ids[-1 - (pick >> 2) % min(6, len(ids))]
        return ids[(pick >> 2) % len(ids)]

    for step, (kind, instr, acct, side, px, qty, tif, pending, pick, dt) in enumerate(ops):
        now += dt
        if kind == "place":
            args = (instr, acct, side, px, qty, tif, pending, now)
            rc_c, rc_r = core.place(*args), ref.place(*args)
            if rc_c > 0:
                order_ids.append(rc_c)
        elif kind == "cancel":
            oid = choose(order_ids, pick)
            o = ref.orders.get(oid & 0xFFFFFF)
            owner = o.account if o is not None and pick % 5 else acct
            rc_c, rc_r = core.cancel(oid, owner), ref.cancel(oid, owner)
        elif kind == "modify":
            oid = choose(order_ids, pick)
            o = ref.orders.get(oid & 0xFFFFFF)
            owner = o.account if o is not None and pick % 7 else acct
            rc_c = core.modify(oid, owner, px, qty, now)
            rc_r = ref.modify(oid, owner, px, qty, now)
        elif kind == "reserve":
            args = (instr, acct, side, qty * 2, px, now, now + 50, px, now // 50)
            rc_c, rc_r = core.reserve(*args), ref.reserve(*args)
            if rc_c > 0:
                resv_ids.append(rc_c)
        elif kind == "commit":
            rid = choose(resv_ids, pick)
            rc_c, rc_r = core.commit(rid, now), ref.commit(rid, now)
        elif kind == "release":
            rid = choose(resv_ids, pick)
            rc_c, rc_r = core.release(rid), ref.release(rid)
        else:
            rc_c, rc_r = core.batch_open(now), ref.batch_open(now)
            assert core.cancelled_ids() == ref.cancelled_ids()
        ctx = (step, kind)
        assert rc_c == rc_r, ctx
        if rc_c >= 0 and kind in ("place", "commit", "reserve"):
            assert core.last_id == ref.last_id or kind == "commit", ctx
            assert core.last_filled == ref.last_filled, ctx
            assert core.fills() == ref.fills(), ctx
        snap = core.snapshot()
        assert snap == ref.snapshot(), ctx
        _check_invariants(snap)
        _check_account_views(core, snap, ctx)
        assert core.trades_since(0) == ref.trades_since(0), ctx
        for i in range(2):
            for s in range(2):
                assert core.depth(i, s, 5) == ref.depth(i, s, 5), ctx
                assert core.best(i, s) == ref.best(i, s), ctx
    return core, ref


def test_core_matches_reference_on_long_seeded_streams():
    for seed in range(12):
        rng = random.Random(seed)
        ops = [_random_op(rng) for _ in range(1500)]
        core, ref = _run_stream(ops, orders=16 + seed, reservations=2 + seed % 3,
                                slices=4 + seed)
        assert core.total_traded == ref.total_traded


def test_core_matches_reference_with_topk_freeze_active():
    for seed in range(6):
        rng = random.Random(1000 + seed)
        ops = [_random_op(rng) for _ in range(1200)]
        _run_stream(ops, freeze_ms=6, topk=1 + seed % 3, orders=24, reservations=4, slices=12)


_op = st.tuples(
    st.sampled_from(OPS), st.integers(0, 1), st.integers(1, 4), st.integers(0, 1),
    st.integers(95, 105), st.integers(1, 12), st.integers(0, 3), st.booleans(),
    st.integers(0, 1 << 16), st.integers(0, 3),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_op, min_size=20, max_size=250), st.integers(0, 8), st.integers(0, 3))
def test_core_matches_reference_property(ops, freeze_ms, topk):
    _run_stream(ops, freeze_ms=freeze_ms, topk=topk)


def test_run_batch_gives_exactly_the_per_call_results():
    """The block entry point (``run_batch``, GIL released) is the same state machine."""
    from array import array

    rng = random.Random(77)
    per_call, _r, buf_a, _l = make_pair(orders=32, reservations=4, slices=16)
    batched, _r2, buf_b, _l2 = make_pair(orders=32, reservations=4, slices=16)
    rows, expected = array("q"), []
    ids = [1 << 24]
    holds = [1 << 24]
    for step in range(3000):
        kind, instr, acct, side, px, qty, tif, pending, pick, _dt = _random_op(rng)
        now = step
        if kind == "place":
            row = (1 if pending else 0, instr, acct, side, px, qty, tif, now)
            rc = per_call.place(instr, acct, side, px, qty, tif, pending, now)
            if rc > 0:
                ids.append(rc)
        elif kind in ("cancel", "modify"):
            oid = ids[-1 - pick % min(5, len(ids))]
            o = per_call.order(oid)
            owner = o[1] if o else acct
            if kind == "cancel":
                row = (2, 0, owner, 0, 0, 0, oid, now)
                rc = per_call.cancel(oid, owner)
            else:
                row = (3, 0, owner, 0, px, qty, oid, now)
                rc = per_call.modify(oid, owner, px, qty, now)
        elif kind == "reserve":
            row = (4, instr, acct, side, px, qty, now + 9, now)
            rc = per_call.reserve(instr, acct, side, qty, px, now, now + 9)
            if rc > 0:
                holds.append(rc)
        elif kind in ("commit", "release"):
            hid = holds[-1 - pick % min(3, len(holds))]
            row = (5 if kind == "commit" else 6, 0, 0, 0, 0, 0, hid, now)
            rc = per_call.commit(hid, now) if kind == "commit" else per_call.release(hid)
        else:
            continue
        rows.extend(row)
        expected.append(rc)
    out = array("q", bytes(8 * len(expected)))
    ok = batched.run_batch(memoryview(rows).cast("B").cast("q", (len(expected), 8)), out)
    assert list(out) == expected
    assert ok == sum(1 for rc in expected if rc >= 0)
    assert bytes(buf_a) == bytes(buf_b)
