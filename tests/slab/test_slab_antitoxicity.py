"""Anti-toxicity rules (seed 000 §5.4, EXCHANGE §3/§6): each with a case that triggers it and
one that just does not."""
from __future__ import annotations

from executor.errors import ErrorCode as E
from executor.slab.program import BUY, IOC, SELL
from executor.units import bps_of, notional
from slab_support import MAKER, MAKER2, PX, T0, TAKER, TAKER2, TICK, arena, make_slab


def _held(slab, now=T0 + 3):
    assert slab.place_order(MAKER, 0, SELL, PX, 5, now_ms=T0 + 1).ok
    h = slab.reserve(TAKER, 0, BUY, 3, PX, now_ms=now, ttl_ms=10_000)
    assert h.ok
    return h


# -- kill band: oracle at commit vs oracle at reserve (EXCHANGE §6) ---------------------------
def test_kill_band_rejects_commit_when_oracle_moved_beyond_band():
    slab = make_slab()
    h = _held(slab)
    slab.update_oracle(0, PX + PX * 76 // 10_000, now_ms=T0 + 4)       # 76 bps > 75
    before = arena(slab)
    assert slab.commit(h.hold_id, now_ms=T0 + 5).code == E.KILL_BAND
    assert arena(slab) == before


def test_kill_band_allows_commit_at_exactly_the_band():
    slab = make_slab()
    h = _held(slab)
    slab.update_oracle(0, PX - PX * 75 // 10_000, now_ms=T0 + 4)       # 75 bps: inside
    assert slab.commit(h.hold_id, now_ms=T0 + 5).ok


# -- JIT penalty: an order created at/after the current batch opened earns no rebate --------
def test_jit_order_created_at_batch_open_earns_no_rebate():
    slab = make_slab(maker_fee_bps=-1)
    slab.batch_open(now_ms=T0 + 50)
    slab.place_order(MAKER, 0, SELL, PX, 5, now_ms=T0 + 50)
    r = slab.place_order(TAKER, 0, BUY, PX, 5, tif=IOC, now_ms=T0 + 51)
    assert r.fills[0].maker_fee_atoms == 0


def test_order_resting_before_the_batch_opened_earns_the_rebate():
    slab = make_slab(maker_fee_bps=-1)
    slab.place_order(MAKER, 0, SELL, PX, 5, now_ms=T0 + 49)
    slab.batch_open(now_ms=T0 + 50)
    r = slab.place_order(TAKER, 0, BUY, PX, 5, tif=IOC, now_ms=T0 + 51)
    assert r.fills[0].maker_fee_atoms == -(5 * PX // 10_000)


def test_jit_penalty_off_pays_rebate_to_fresh_orders():
    slab = make_slab(maker_fee_bps=-1, jit_penalty=False)
    slab.batch_open(now_ms=T0 + 50)
    slab.place_order(MAKER, 0, SELL, PX, 5, now_ms=T0 + 50)
    r = slab.place_order(TAKER, 0, BUY, PX, 5, tif=IOC, now_ms=T0 + 51)
    assert r.fills[0].maker_fee_atoms == -(5 * PX // 10_000)


# -- ARG: overlapping buy/sell taker volume in an epoch, each unit taxed once ---------------
def _arg(units, px=PX):
    return bps_of(notional(units, px, 1_000_000, round_up=True), 10, round_up=True)


def test_arg_taxes_round_trip_overlap_once_per_unit():
    slab = make_slab()
    slab.place_order(MAKER, 0, SELL, PX, 2, now_ms=T0 + 1)
    slab.place_order(MAKER2, 0, BUY, PX - TICK, 10, now_ms=T0 + 1)
    buy = slab.place_order(TAKER, 0, BUY, PX, 2, tif=IOC, now_ms=T0 + 2)
    assert buy.arg_tax_atoms == 0
    sell = slab.place_order(TAKER, 0, SELL, PX - TICK, 3, tif=IOC, now_ms=T0 + 3)
    assert sell.arg_tax_atoms == _arg(2, PX - TICK)             # overlap 2, taxed now
    sell2 = slab.place_order(TAKER, 0, SELL, PX - TICK, 1, tif=IOC, now_ms=T0 + 4)
    assert sell2.arg_tax_atoms == 0                              # no new overlap
    slab.place_order(MAKER, 0, SELL, PX, 3, now_ms=T0 + 5)
    buy2 = slab.place_order(TAKER, 0, BUY, PX, 3, tif=IOC, now_ms=T0 + 6)
    assert buy2.arg_tax_atoms == _arg(2, PX)                     # overlap 2 -> 4: two new units
    pos = slab.position(TAKER, 0)
    assert pos["arg_taxed_lots"] == 4 == min(pos["arg_buy_lots"], pos["arg_sell_lots"])
    assert slab.fee_pool_atoms >= _arg(2, PX - TICK) + _arg(2, PX)


def test_arg_does_not_tax_round_trips_across_epochs():
    slab = make_slab()
    slab.place_order(MAKER, 0, SELL, PX, 2, now_ms=T0 + 1)
    slab.place_order(MAKER2, 0, BUY, PX - TICK, 2, now_ms=T0 + 1)
    slab.place_order(TAKER, 0, BUY, PX, 2, tif=IOC, now_ms=T0 + 2)        # epoch 20
    sell = slab.place_order(TAKER, 0, SELL, PX - TICK, 2, tif=IOC, now_ms=T0 + 50)  # epoch 21
    assert sell.arg_tax_atoms == 0


def test_arg_applies_to_committed_holds_too():
    slab = make_slab()
    slab.place_order(MAKER, 0, SELL, PX, 2, now_ms=T0 + 1)
    slab.place_order(MAKER2, 0, BUY, PX - TICK, 2, now_ms=T0 + 1)
    slab.place_order(TAKER, 0, BUY, PX, 2, tif=IOC, now_ms=T0 + 2)
    h = slab.reserve(TAKER, 0, SELL, 2, PX - TICK, now_ms=T0 + 3, ttl_ms=1_000)
    c = slab.commit(h.hold_id, now_ms=T0 + 4)
    assert c.ok and c.arg_tax_atoms == _arg(2, PX - TICK)


# -- top-K freeze ---------------------------------------------------------------------------
def _frozen_book(freeze_top_k=1, held_level_px=PX):
    slab = make_slab(freeze_ms=20, freeze_top_k=freeze_top_k)
    slab.place_order(MAKER, 0, SELL, held_level_px, 5, now_ms=T0 + 1)      # A: will be held
    slab.place_order(MAKER2, 0, SELL, held_level_px, 5, now_ms=T0 + 2)     # B: later, same px
    slab.batch_open(now_ms=T0 + 50)
    assert slab.reserve(TAKER2, 0, BUY, 2, held_level_px, now_ms=T0 + 51, ttl_ms=1_000).ok
    if held_level_px != PX:
        assert slab.place_order(MAKER2, 0, SELL, PX, 1, now_ms=T0 + 52).ok   # a better level
    return slab


def test_topk_freeze_stops_takers_overtaking_held_liquidity_in_the_window():
    slab = _frozen_book()
    r = slab.place_order(TAKER, 0, BUY, PX + TICK, 6, tif=IOC, now_ms=T0 + 55)
    # A's free 3 lots trade; B (queued behind the held order at the same price) does not
    assert r.filled_qty == 3 and {f.maker_user for f in r.fills} == {MAKER}


def test_topk_freeze_ends_with_the_window():
    slab = _frozen_book()
    r = slab.place_order(TAKER, 0, BUY, PX + TICK, 6, tif=IOC, now_ms=T0 + 70)   # 50 + 20
    assert r.filled_qty == 6


def test_topk_freeze_ignores_held_levels_below_the_top_k():
    slab = _frozen_book(freeze_top_k=1, held_level_px=PX + TICK)
    r = slab.place_order(TAKER, 0, BUY, PX + TICK, 7, tif=IOC, now_ms=T0 + 55)
    assert r.filled_qty == 7       # the held level is rank 2 > K = 1: no freeze


# -- fee caps from the registry (ADV3) --------------------------------------------------------
def test_commit_rejects_fees_above_the_registry_cap():
    slab = make_slab()
    h = _held(slab)
    before = arena(slab)
    assert slab.commit(h.hold_id, now_ms=T0 + 4, fee_cap_taker_bps=4).code == E.FEE_CAP_EXCEEDED
    assert slab.commit(h.hold_id, now_ms=T0 + 4, fee_cap_maker_bps=1).code == E.FEE_CAP_EXCEEDED
    assert arena(slab) == before


def test_commit_accepts_fees_exactly_at_the_cap():
    slab = make_slab()
    h = _held(slab)
    assert slab.commit(h.hold_id, now_ms=T0 + 4, fee_cap_taker_bps=5, fee_cap_maker_bps=2).ok
