"""Orders on a slab: input checks (plan S3), maker classes (S4/S7/M2), priority (M1), modify."""
from __future__ import annotations

import pytest

from executor.errors import ErrorCode as E
from executor.slab.program import BUY, FOK, GTC, IOC, POST_ONLY, SELL
from executor.slab.program import Slab
from slab_support import MAKER, MAKER2, PX, REG_MAKER, T0, TAKER, TICK, arena, make_config, make_slab


def test_order_rests_and_shows_in_depth():
    slab = make_slab()
    r = slab.place_order(MAKER, 0, SELL, PX + TICK, 5, now_ms=T0 + 1)
    assert r.ok and r.rested_qty == 5 and not r.pending
    assert slab.depth(0, SELL) == [(PX + TICK, 5)]
    assert slab.best_ask(0) == PX + TICK


@pytest.mark.parametrize(
    "kwargs, code",
    [
        (dict(instrument=9), E.UNKNOWN_INSTRUMENT),
        (dict(price_e6=PX + 1), E.PRICE_NOT_TICK_ALIGNED),
        (dict(instrument=1, qty_lots=5), E.QTY_NOT_LOT_ALIGNED),
        (dict(instrument=1, qty_lots=2), E.BELOW_MIN_SIZE),
        (dict(qty_lots=0), E.QTY_NOT_POSITIVE),
        (dict(qty_lots=-3), E.QTY_NOT_POSITIVE),
        (dict(price_e6=0), E.PRICE_NOT_POSITIVE),
        (dict(price_e6=PX * 2), E.PRICE_OUT_OF_BAND),
        (dict(side=7), E.BAD_SIDE),
        (dict(tif=9), E.BAD_TIME_IN_FORCE),
        (dict(user=999), E.UNKNOWN_ACCOUNT),
        (dict(side=BUY, price_e6=PX + 2 * TICK, tif=POST_ONLY), E.POST_ONLY_WOULD_CROSS),
        (dict(side=BUY, price_e6=PX + 2 * TICK, qty_lots=50, tif=FOK), E.FOK_UNFILLABLE),
        (dict(user=MAKER, side=BUY, price_e6=PX + 2 * TICK, tif=IOC), E.SELF_TRADE),
        (dict(side=BUY, price_e6=PX, reduce_only=True), E.REDUCE_ONLY_WOULD_INCREASE),
        (dict(now_ms=T0 - 1), E.TIME_WENT_BACKWARDS),
        (dict(qty_lots=1 << 40), E.OVERFLOW),
    ],
)
def test_bad_order_is_rejected_with_stable_code_and_no_state_change(kwargs, code):
    slab = make_slab()
    assert slab.place_order(MAKER, 0, SELL, PX + TICK, 5, now_ms=T0 + 1).ok
    args = dict(user=TAKER, instrument=0, side=SELL, price_e6=PX + 3 * TICK, qty_lots=3,
                tif=GTC, now_ms=T0 + 2)
    args.update(kwargs)
    before = arena(slab)
    r = slab.place_order(args.pop("user"), args.pop("instrument"), args.pop("side"),
                         args.pop("price_e6"), args.pop("qty_lots"), **args)
    assert r.code == code and not r.ok and r.message
    assert arena(slab) == before


def test_missing_and_stale_oracle_fail_closed():
    slab = make_slab()
    before = arena(slab)
    r = slab.place_order(MAKER, 0, SELL, PX, 1, now_ms=T0 + 5_001)
    assert r.code == E.ORACLE_STALE and arena(slab) == before
    assert slab.place_order(MAKER, 0, SELL, PX, 1, now_ms=T0 + 5_000).ok   # at the heartbeat
    bare = Slab(make_config())
    bare.set_collateral(MAKER, 10**12, now_ms=T0)
    before = arena(bare)
    assert bare.place_order(MAKER, 0, SELL, PX, 1, now_ms=T0).code == E.ORACLE_MISSING
    assert arena(bare) == before


def test_reg_orders_wait_pending_and_never_match_until_batch_open():
    slab = make_slab()
    r = slab.place_order(REG_MAKER, 0, SELL, PX, 5, now_ms=T0 + 1)
    assert r.ok and r.pending and slab.depth(0, SELL) == []
    taker = slab.place_order(TAKER, 0, BUY, PX, 5, tif=IOC, now_ms=T0 + 2)
    assert taker.ok and taker.filled_qty == 0          # pending never matches (M2)
    opened = slab.batch_open(now_ms=T0 + 50)
    assert opened.promoted == 1 and slab.depth(0, SELL) == [(PX, 5)]
    taker = slab.place_order(TAKER, 0, BUY, PX, 5, tif=IOC, now_ms=T0 + 51)
    assert taker.filled_qty == 5 and taker.fills[0].maker_order_id == r.order_id


def test_promotion_keeps_price_time_priority_by_promotion_order():
    slab = make_slab()
    first = slab.place_order(REG_MAKER, 0, SELL, PX, 2, now_ms=T0 + 1)
    live = slab.place_order(MAKER, 0, SELL, PX, 2, now_ms=T0 + 2)   # DLP: live at once
    second = slab.place_order(REG_MAKER, 0, SELL, PX, 2, now_ms=T0 + 3)
    slab.batch_open(now_ms=T0 + 50)
    r = slab.place_order(TAKER, 0, BUY, PX, 6, tif=IOC, now_ms=T0 + 51)
    assert [f.maker_order_id for f in r.fills] == [live.order_id, first.order_id, second.order_id]


def test_price_time_priority_better_price_first_then_earlier_order():
    slab = make_slab()
    a = slab.place_order(MAKER, 0, SELL, PX + TICK, 1, now_ms=T0 + 1)
    b = slab.place_order(MAKER2, 0, SELL, PX, 1, now_ms=T0 + 2)
    c = slab.place_order(MAKER, 0, SELL, PX, 1, now_ms=T0 + 3)
    r = slab.place_order(TAKER, 0, BUY, PX + TICK, 3, tif=IOC, now_ms=T0 + 4)
    assert [f.maker_order_id for f in r.fills] == [b.order_id, c.order_id, a.order_id]
    assert [f.price_e6 for f in r.fills] == [PX, PX, PX + TICK]
    assert a.order_id < b.order_id < c.order_id      # monotone ids


def test_modify_size_down_keeps_priority_and_price_change_loses_it():
    slab = make_slab()
    a = slab.place_order(MAKER, 0, SELL, PX, 5, now_ms=T0 + 1)
    b = slab.place_order(MAKER2, 0, SELL, PX, 5, now_ms=T0 + 2)
    assert slab.modify_order(MAKER, a.order_id, PX, 3, now_ms=T0 + 3).ok
    r = slab.place_order(TAKER, 0, BUY, PX, 1, tif=IOC, now_ms=T0 + 4)
    assert r.fills[0].maker_order_id == a.order_id
    assert slab.modify_order(MAKER, a.order_id, PX + TICK, 2, now_ms=T0 + 5).ok
    assert slab.modify_order(MAKER, a.order_id, PX, 2, now_ms=T0 + 6).ok   # back, at the tail
    r = slab.place_order(TAKER, 0, BUY, PX, 6, tif=IOC, now_ms=T0 + 7)
    assert [f.maker_order_id for f in r.fills] == [b.order_id, a.order_id]


def test_cancel_is_idempotent_and_unknown_ids_are_rejected():
    slab = make_slab()
    a = slab.place_order(MAKER, 0, SELL, PX, 5, now_ms=T0 + 1)
    assert slab.cancel_order(MAKER2, a.order_id, now_ms=T0 + 2).code == E.NOT_OWNER
    first = slab.cancel_order(MAKER, a.order_id, now_ms=T0 + 2)
    assert first.ok and not first.noop and slab.depth(0, SELL) == []
    before = arena(slab)
    again = slab.cancel_order(MAKER, a.order_id, now_ms=T0 + 3)
    assert again.ok and again.noop and arena(slab) == before
    assert slab.cancel_order(MAKER, 99 << 24, now_ms=T0 + 3).code == E.UNKNOWN_ORDER
    assert slab.modify_order(MAKER, a.order_id, PX, 1, now_ms=T0 + 3).code == E.UNKNOWN_ORDER


def test_full_order_pool_is_a_clean_rejection():
    slab = make_slab()
    for i in range(64):
        assert slab.place_order(MAKER, 0, SELL, PX + (i % 10) * TICK, 1, now_ms=T0 + 1).ok
    before = arena(slab)
    r = slab.place_order(MAKER, 0, SELL, PX, 1, now_ms=T0 + 2)
    assert r.code == E.POOL_FULL_ORDERS and arena(slab) == before
    # a taker that does not rest still works with a full pool
    assert slab.place_order(TAKER, 0, BUY, PX, 1, tif=IOC, now_ms=T0 + 3).filled_qty == 1


def test_oracle_price_beyond_bounds_is_rejected():
    slab = make_slab()
    before = arena(slab)
    assert slab.update_oracle(0, 1 << 60, now_ms=T0 + 1).code == E.OVERFLOW
    assert slab.update_oracle(0, 0, now_ms=T0 + 1).code == E.PRICE_NOT_POSITIVE
    assert arena(slab) == before


def test_maker_class_allowance_bounds_each_accounts_open_quantity():
    """MAKER_CLASS <class> allowance=<lots> (seed 000 §1): the open quantity of one maker
    account's orders, pending ones and reserved parts included, stays within its class's
    allowance; what trades at once does not count, a cancel frees room, a class without a
    statement is unbounded, and a refusal writes nothing."""
    from executor.slab.program import DLP, REG
    slab = make_slab(maker_allowances=((REG, 4), (DLP, 10)))
    assert slab.place_order(MAKER, 0, SELL, PX + TICK, 6, now_ms=T0 + 1).ok
    r = slab.place_order(MAKER, 0, SELL, PX + 2 * TICK, 4, now_ms=T0 + 1)
    assert r.ok and r.rested_qty == 4
    before = arena(slab)
    assert slab.place_order(MAKER, 0, SELL, PX + 3 * TICK, 1, now_ms=T0 + 1).code == E.MAKER_ALLOWANCE_EXCEEDED
    assert slab.modify_order(MAKER, r.order_id, PX + 2 * TICK, 5, now_ms=T0 + 1).code == E.MAKER_ALLOWANCE_EXCEEDED
    assert arena(slab) == before, "a refused order changes nothing"
    assert slab.place_order(MAKER2, 1, BUY, PX - TICK, 10, now_ms=T0 + 1).ok   # per account
    assert slab.place_order(MAKER, 0, SELL, PX - TICK, 3, tif=IOC, now_ms=T0 + 1).code != E.MAKER_ALLOWANCE_EXCEEDED
    assert slab.cancel_order(MAKER, r.order_id, now_ms=T0 + 1).ok
    assert slab.place_order(MAKER, 0, SELL, PX + 3 * TICK, 4, now_ms=T0 + 1).ok
    assert slab.place_order(REG_MAKER, 0, BUY, PX - 2 * TICK, 4, now_ms=T0 + 1).pending
    assert slab.place_order(REG_MAKER, 0, BUY, PX - 3 * TICK, 1, now_ms=T0 + 1).code == E.MAKER_ALLOWANCE_EXCEEDED
    unbounded = make_slab(maker_allowances=((REG, 4),))
    assert unbounded.place_order(MAKER, 0, SELL, PX + TICK, 50, now_ms=T0 + 1).ok


def test_devnet_slabs_carry_their_maker_class_allowances():
    from pathlib import Path

    from executor.curvescript import compile_file
    from executor.slabs import book_slab_config
    curve = Path(__file__).resolve().parents[2] / "executor" / "curvescript" / "examples" / "devnet.curve"
    cfg = compile_file(curve).config
    allowances = {s.slab_id: book_slab_config(cfg, s.slab_id).maker_allowances
                  for s in cfg.slabs if s.kind == "book"}
    assert (1, 5_000_000) in next(iter(allowances.values()))
