"""Positions, PnL, fees, funding and slab-local margin — hand-computed (plan S10, RM1-RM3,
RM6; EXCHANGE §1 rounding, §6 "partial position reductions realise PnL")."""
from __future__ import annotations

from executor.errors import ErrorCode as E
from executor.slab.program import BUY, IOC, SELL
from executor.units import notional
from slab_support import MAKER, MAKER2, PX, T0, TAKER, TICK, arena, make_slab

M = 1_000_000  # one quote unit in atoms; contract_size 1e6 => notional = qty * price_e6


def _take(slab, side, px, qty, now, taker=TAKER, maker=MAKER):
    assert slab.place_order(maker, 0, 1 - side, px, qty, now_ms=now).ok
    r = slab.place_order(taker, 0, side, px, qty, tif=IOC, now_ms=now)
    assert r.ok and r.filled_qty == qty, r
    return r


def test_notional_is_the_one_formula_and_rounds_in_the_exchange_favour():
    assert notional(3, 100 * M, 1_000_000) == 300 * M
    assert notional(1, 1, 10_000) == 0                   # 0.01 atoms floors to 0 (credit)
    assert notional(1, 1, 10_000, round_up=True) == 1    # but a debit rounds up
    assert notional(-1, 1, 10_000) == -1                 # floors towards -inf


def test_vwap_entry_rounds_against_the_holder():
    slab = make_slab()
    _take(slab, BUY, 100 * M, 2, T0 + 1)
    _take(slab, BUY, 103 * M, 1, T0 + 2)
    assert slab.position(TAKER, 0)["entry_px_e6"] == 101 * M     # (200 + 103) / 3 exactly
    slab2 = make_slab()
    _take(slab2, BUY, 100 * M, 1, T0 + 1)
    _take(slab2, BUY, 100 * M + TICK, 2, T0 + 2)
    # (100e6 + 2 * 100.01e6) / 3 = 100006666.67 -> long entry rounds up
    assert slab2.position(TAKER, 0)["entry_px_e6"] == 100_006_667
    slab3 = make_slab()
    _take(slab3, SELL, 100 * M, 1, T0 + 1)
    _take(slab3, SELL, 100 * M + TICK, 2, T0 + 2)
    assert slab3.position(TAKER, 0)["entry_px_e6"] == 100_006_666    # short rounds down


def test_partial_close_realises_pnl_and_keeps_entry():
    slab = make_slab()
    _take(slab, BUY, 100 * M, 2, T0 + 1)
    _take(slab, BUY, 103 * M, 1, T0 + 2)
    r = _take(slab, SELL, 104 * M, 1, T0 + 100)                      # next epoch: no ARG tax
    assert r.arg_tax_atoms == 0
    pos = slab.position(TAKER, 0)
    assert pos["qty_lots"] == 2 and pos["entry_px_e6"] == 101 * M
    assert pos["realised_pnl_atoms"] == 3 * M                       # 1 x (104 - 101)
    taker_fee = 104 * M * 5 // 10_000                                 # 5 bps of 104 = 0.052
    assert dict((d.user, d.amount_atoms) for d in r.cash_deltas)[TAKER] == 3 * M - taker_fee


def test_flip_realises_the_closed_part_and_opens_the_rest_at_the_fill_price():
    slab = make_slab()
    _take(slab, BUY, 101 * M, 2, T0 + 1)
    r = _take(slab, SELL, 99 * M, 5, T0 + 2)
    pos = slab.position(TAKER, 0)
    assert pos["qty_lots"] == -3 and pos["entry_px_e6"] == 99 * M
    assert pos["realised_pnl_atoms"] == -4 * M                      # 2 x (99 - 101)
    assert r.fills[0].taker_fee_atoms == 5 * 99 * M * 5 // 10_000
    maker = slab.position(MAKER, 0)
    assert maker["qty_lots"] == 3 and maker["realised_pnl_atoms"] == 4 * M


def test_fees_and_cash_deltas_add_up_to_the_fee_pool():
    slab = make_slab()
    r = _take(slab, BUY, 100 * M, 4, T0 + 1)
    f = r.fills[0]
    assert f.taker_fee_atoms == 400 * M * 5 // 10_000 == 200_000
    assert f.maker_fee_atoms == 400 * M * 2 // 10_000 == 80_000
    deltas = dict((d.user, d.amount_atoms) for d in r.cash_deltas)
    assert deltas == {MAKER: -80_000, TAKER: -200_000}
    assert r.fee_pool_delta_atoms == 280_000 == slab.fee_pool_atoms
    assert slab.account(TAKER)["cash_atoms"] == -200_000


def test_maker_rebate_is_credited_rounded_down():
    slab2 = make_slab(maker_fee_bps=-1)
    assert slab2.place_order(MAKER, 0, SELL, 100 * M + TICK, 3, now_ms=T0 + 1).ok
    slab2.batch_open(now_ms=T0 + 50)
    r = slab2.place_order(TAKER, 0, BUY, 100 * M + TICK, 3, tif=IOC, now_ms=T0 + 51)
    rebate = (3 * (100 * M + TICK)) * 1 // 10_000
    assert r.fills[0].maker_fee_atoms == -rebate
    assert r.fee_pool_delta_atoms == r.fills[0].taker_fee_atoms - rebate


def test_funding_index_applies_once_per_interval_with_conventional_sign():
    slab = make_slab()
    _take(slab, BUY, 100 * M, 2, T0 + 1)                              # TAKER long 2, MAKER short 2
    eq_long0, _, _ = slab.margin(TAKER)
    eq_short0, _, _ = slab.margin(MAKER)
    f = slab.apply_funding(0, 1_000, now_ms=T0 + 2)                   # +0.1%: longs pay shorts
    assert f.ok and f.delta_e6 == 100_000
    assert slab.apply_funding(0, 1_000, now_ms=T0 + 3).code == E.FUNDING_NOT_DUE
    assert slab.margin(TAKER)[0] == eq_long0 - 200_000
    assert slab.margin(MAKER)[0] == eq_short0 + 200_000                # nets to zero
    # settled on the next touch of the position
    r = _take(slab, BUY, 100 * M, 1, T0 + 4)
    fee = 100 * M * 5 // 10_000
    assert dict((d.user, d.amount_atoms) for d in r.cash_deltas)[TAKER] == -200_000 - fee
    slab.update_oracle(0, PX, now_ms=T0 + 60_002)
    assert slab.apply_funding(0, -1_000, now_ms=T0 + 60_002).ok


def test_fill_that_breaks_initial_margin_is_rejected_but_reductions_pass():
    slab = make_slab()
    slab.set_collateral(TAKER, 5 * M, now_ms=T0)                      # 5 USDC
    assert slab.place_order(MAKER, 0, SELL, 100 * M, 5, now_ms=T0 + 1).ok
    before = arena(slab)
    # 1 lot @ 100: IM = 5% of 100 = 5 USDC, equity after fee = 4.95 -> rejected
    r = slab.place_order(TAKER, 0, BUY, 100 * M, 1, tif=IOC, now_ms=T0 + 2)
    assert r.code == E.MARGIN_INSUFFICIENT and arena(slab) == before
    slab.set_collateral(TAKER, 6 * M, now_ms=T0 + 2)
    assert slab.place_order(TAKER, 0, BUY, 100 * M, 1, tif=IOC, now_ms=T0 + 3).filled_qty == 1
    slab.update_oracle(0, 95 * M, now_ms=T0 + 4)                       # now under water
    equity, im, mm = slab.margin(TAKER)
    assert equity < im
    assert slab.place_order(MAKER2, 0, BUY, 95 * M, 1, now_ms=T0 + 5).ok
    close = slab.place_order(TAKER, 0, SELL, 95 * M, 1, tif=IOC, now_ms=T0 + 6)
    assert close.ok and slab.position(TAKER, 0)["qty_lots"] == 0


def test_im_is_per_instrument_never_netted_across_instruments():
    slab = make_slab()
    _take(slab, BUY, 100 * M, 2, T0 + 1)
    assert slab.place_order(MAKER, 1, BUY, 100 * M, 4, now_ms=T0 + 2).ok
    assert slab.place_order(TAKER, 1, SELL, 100 * M, 4, tif=IOC, now_ms=T0 + 2).filled_qty == 4
    _, im, mm = slab.margin(TAKER)
    im0 = 2 * 100 * M * 500 // 10_000
    im1 = notional(4, 100 * M, 10_000, round_up=True) * 500 // 10_000
    assert im == im0 + im1 and mm == (2 * 100 * M + 4 * 100 * 10_000) * 350 // 10_000


def test_resting_orders_are_margin_checked_at_placement_and_on_size_up():
    slab = make_slab()
    slab.set_collateral(MAKER, 10 * M, now_ms=T0)
    # 1 lot @ 100 needs IM 5; 3 lots need 15 > 10
    assert slab.place_order(MAKER, 0, SELL, 100 * M, 3, now_ms=T0 + 1).code == E.MARGIN_INSUFFICIENT
    r = slab.place_order(MAKER, 0, SELL, 100 * M, 1, now_ms=T0 + 1)
    assert r.ok
    before = arena(slab)
    assert slab.modify_order(MAKER, r.order_id, 100 * M, 3, now_ms=T0 + 2).code == \
        E.MARGIN_INSUFFICIENT
    assert arena(slab) == before
    assert slab.modify_order(MAKER, r.order_id, 100 * M, 2, now_ms=T0 + 2).ok
