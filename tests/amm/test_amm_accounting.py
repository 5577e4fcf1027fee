"""Positions, PnL, fees, ARG, funding and slab-local margin of AMM trades (EXCHANGE §3 "Risk",
§6; plan S10, RM1-RM3, RM6-RM7).  The pool is every trade's counterparty."""
from __future__ import annotations

from amm_support import BUY, CS, POOL_USER, PX, SELL, T0, TICK, arena, make_slab
from executor.positions import ArgLedger, apply_fill, arg_tax, funding_owed
from executor.errors import ErrorCode as E
from executor.units import bps_of, notional

FAR = PX * 11 // 10 // TICK * TICK
LOW = PX * 9 // 10 // TICK * TICK


def _trade(slab, user, side, qty, now):
    r = slab.reserve(user, 0, side, qty, FAR if side == BUY else LOW, now_ms=now, ttl_ms=1_000)
    assert r.ok and r.held_qty == qty
    c = slab.commit(r.hold_id, now_ms=now)
    assert c.ok, c.code
    return c


def test_apply_fill_keeps_vwap_entry_and_realises_on_partial_close_and_flip():
    ch = apply_fill(0, 0, 10, 100_000_000, CS)
    ch = apply_fill(ch.qty_lots, ch.entry_px_e6, 5, 103_000_000, CS)
    assert ch.qty_lots == 15 and ch.entry_px_e6 == 101_000_000 and ch.realised_atoms == 0
    part = apply_fill(15, 101_000_000, -5, 111_000_000, CS)
    assert part == (10, 101_000_000, notional(5, 10_000_000, CS))
    flip = apply_fill(10, 101_000_000, -15, 91_000_000, CS)
    assert flip == (-5, 91_000_000, notional(10, -10_000_000, CS))
    short = apply_fill(0, 0, -3, 100_000_001, CS)
    assert apply_fill(*short[:2], -1, 100_000_000, CS).entry_px_e6 == 100_000_000  # shorts floor


def test_funding_and_arg_helpers_round_against_the_payer():
    assert funding_owed(3, 7, 0, CS) == 1              # 3·1e4·7/1e6 = 0.21 -> 1 (payer up)
    assert funding_owed(-3, 7, 0, CS) == 0             # receiver: -0.21 -> 0 (down)
    led, tax = arg_tax(ArgLedger(0, 0, 0, 0), 4, True, 10, PX, CS, 10)
    assert tax == 0 and led == (4, 10, 0, 0)
    led, tax = arg_tax(led, 4, False, 6, PX, CS, 10)
    assert led == (4, 10, 6, 6) and tax == bps_of(notional(6, PX, CS, round_up=True), 10, round_up=True)
    led, tax = arg_tax(led, 5, False, 6, PX, CS, 10)   # new epoch: ledger resets
    assert led == (5, 0, 6, 0) and tax == 0


def test_pool_is_the_counterparty_and_positions_net_to_zero():
    slab = make_slab()
    _trade(slab, 1, BUY, 300, T0 + 1)
    _trade(slab, 2, SELL, 120, T0 + 2)
    _trade(slab, 3, BUY, 40, T0 + 3)
    traders = sum(slab.position(u)["qty_lots"] for u in (1, 2, 3))
    assert traders == 220 and slab.position(POOL_USER)["qty_lots"] == -220
    assert slab.pool().position_lots == -220


def test_swap_fee_is_paid_to_the_pool_and_only_arg_tax_goes_to_the_fee_pool():
    slab = make_slab(arg_tax_bps=0)
    c = _trade(slab, 1, BUY, 100, T0 + 1)
    fill = c.fills[0]
    fee = bps_of(notional(100, fill.price_e6, CS, round_up=True), 10, round_up=True)
    assert fill.taker_fee_atoms == fee and fill.maker_fee_atoms == -fee
    assert fill.maker_user == POOL_USER and fill.taker_user == 1
    assert dict(c.cash_deltas) == {POOL_USER: fee, 1: -fee}
    assert c.fee_pool_delta_atoms == 0 and slab.fee_pool_atoms == 0
    assert slab.account(POOL_USER)["cash_atoms"] == fee == slab.account(1)["fees_paid_atoms"]
    assert c.trades[0].price_e6 == fill.price_e6 and c.trades[0].taker_ref == c.hold_id
    assert slab.trades_since(0) == c.trades


def test_aggressor_round_trip_is_taxed_once_per_unit_of_overlap():
    slab = make_slab(arg_tax_bps=10)
    _trade(slab, 1, BUY, 100, T0 + 1)
    c = _trade(slab, 1, SELL, 60, T0 + 2)                 # same 50 ms epoch
    expect = bps_of(notional(60, c.fills[0].price_e6, CS, round_up=True), 10, round_up=True)
    assert c.arg_tax_atoms == expect == c.fee_pool_delta_atoms
    c2 = _trade(slab, 1, SELL, 40, T0 + 3)
    assert c2.arg_tax_atoms == bps_of(notional(40, c2.fills[0].price_e6, CS, round_up=True), 10,
                                      round_up=True)
    c3 = _trade(slab, 1, BUY, 10, T0 + 60)                # next epoch: no overlap yet
    assert c3.arg_tax_atoms == 0
    assert slab.fee_pool_atoms == expect + c2.arg_tax_atoms


def test_closing_against_the_pool_realises_pnl_for_both_sides():
    slab = make_slab(arg_tax_bps=0)
    open_ = _trade(slab, 1, BUY, 200, T0 + 1)
    entry = open_.fills[0].price_e6
    assert slab.update_oracle(0, PX * 102 // 100, now_ms=T0 + 100).ok
    _trade(slab, 2, BUY, 2_000, T0 + 100)                 # pushes the pool price up
    close = _trade(slab, 1, SELL, 80, T0 + 200)           # partial close
    px = close.fills[0].price_e6
    realised = notional(80, px - entry, CS)
    fee = close.fills[0].taker_fee_atoms
    assert dict(close.cash_deltas)[1] == realised - fee
    pos = slab.position(1)
    assert pos["qty_lots"] == 120 and pos["entry_px_e6"] == entry
    assert pos["realised_pnl_atoms"] == realised
    assert slab.position(POOL_USER)["realised_pnl_atoms"] != 0


def test_funding_nets_to_zero_between_traders_and_pool():
    slab = make_slab(arg_tax_bps=0)
    _trade(slab, 1, BUY, 500, T0 + 1)
    _trade(slab, 2, SELL, 200, T0 + 2)
    f = slab.apply_funding(0, 1_000, now_ms=T0 + 10)        # 0.1 %: longs pay
    assert f.ok and f.delta_e6 == PX // 1_000
    assert slab.apply_funding(0, 1_000, now_ms=T0 + 11).code == E.FUNDING_NOT_DUE
    owed = {u: funding_owed(slab.position(u)["qty_lots"], f.funding_index_e6,
                            slab.position(u)["funding_snapshot_e6"], CS) for u in (1, 2, POOL_USER)}
    assert owed[1] > 0 and owed[2] < 0 and owed[POOL_USER] < 0
    assert 0 <= sum(owed.values()) <= 3                   # only the per-holder rounding remains
    eq_before = slab.margin(1)[0]
    c = _trade(slab, 1, BUY, 1, T0 + 12)                  # touching settles it
    assert dict(c.cash_deltas)[1] == -owed[1] - c.fills[0].taker_fee_atoms
    assert slab.position(1)["funding_snapshot_e6"] == f.funding_index_e6
    assert abs(slab.margin(1)[0] - eq_before) < notional(1, PX, CS)


def test_a_fill_below_initial_margin_is_rejected_and_changes_nothing():
    slab = make_slab(collateral=10_000_000)               # 10 USDC of collateral
    r = slab.reserve(1, 0, BUY, 100, FAR, now_ms=T0 + 1, ttl_ms=1_000)   # ~3 000 USDC notional
    assert r.ok
    before = arena(slab)
    assert slab.commit(r.hold_id, now_ms=T0 + 2).code == E.MARGIN_INSUFFICIENT
    assert arena(slab) == before
    small = slab.reserve(1, 0, BUY, 2, FAR, now_ms=T0 + 2, ttl_ms=1_000)
    assert slab.commit(small.hold_id, now_ms=T0 + 3).ok
    eq, im, mm = slab.margin(1)
    assert eq >= im > mm > 0


def test_max_charge_covers_fee_tax_and_initial_margin():
    slab = make_slab()
    r = slab.reserve(1, 0, BUY, 100, FAR, now_ms=T0 + 1, ttl_ms=1_000)
    n_up = notional(100, r.vwap_px_e6, CS, round_up=True)
    cfg = slab.config
    assert r.max_charge_atoms == sum(bps_of(n_up, b, round_up=True)
                                     for b in (cfg.swap_fee_bps, cfg.arg_tax_bps, cfg.imr_bps))


def test_set_collateral_refuses_maker_classes_and_the_pool_account():
    slab = make_slab()
    before = arena(slab)
    assert slab.set_collateral(1, 5, maker_class=1, now_ms=T0).code == E.BAD_ARGUMENT
    assert slab.set_collateral(POOL_USER, 5, now_ms=T0).code == E.BAD_ARGUMENT
    assert slab.set_collateral(1, -5, now_ms=T0).code == E.BAD_ARGUMENT
    assert arena(slab) == before
    assert slab.set_collateral(4, 7, now_ms=T0).ok and slab.account(4)["collateral_atoms"] == 7


def test_trade_ring_keeps_the_latest_prints_in_sequence():
    slab = make_slab(arg_tax_bps=0)
    cap = slab.layout.trades
    prints = [_trade(slab, 1 + i % 3, BUY if i % 2 else SELL, 3, T0 + 1 + i).trades[0]
              for i in range(cap + 5)]
    kept = slab.trades_since(0)
    assert kept == tuple(prints[5:]) and [t.seq for t in kept] == list(range(6, cap + 6))
    assert slab.trades_since(cap + 3) == tuple(prints[-2:])


def test_a_clock_beyond_i64_is_refused_with_a_code_and_changes_nothing():
    slab = make_slab()
    before = arena(slab)
    assert slab.set_collateral(1, 5, now_ms=1 << 64).code == E.BAD_ARGUMENT
    assert slab.quote(0, BUY, 1, PX * 2, now_ms=1 << 63).code == E.BAD_ARGUMENT
    assert arena(slab) == before
