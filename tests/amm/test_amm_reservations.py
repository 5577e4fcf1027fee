"""Quote / reserve / commit / release on the pool (EXCHANGE §2 flows, §3, §4; seed 002)."""
from __future__ import annotations

from amm_support import (BUY, CS, POOL_USER, PX, SELL, T0, TICK, X0, Y0, arena, make_slab)
from executor.amm import curve
from executor.errors import ErrorCode as E

FAR = PX * 11 // 10 // TICK * TICK          # a buy limit at the edge of the 10 % band
LOW = PX * 9 // 10 // TICK * TICK


def test_quote_changes_nothing_and_matches_the_following_reserve():
    slab = make_slab()
    before = arena(slab)
    q = slab.quote(0, BUY, 500, FAR, now_ms=T0 + 1)
    assert q.ok and q.qty_lots == 500 and q.worst_px_e6 == q.vwap_px_e6 < q.marginal_px_e6
    assert arena(slab) == before
    r = slab.reserve(1, 0, BUY, 500, FAR, now_ms=T0 + 1, ttl_ms=1_000)
    assert r.ok
    assert (r.held_qty, r.vwap_px_e6, r.worst_px_e6, r.max_charge_atoms) == (
        q.qty_lots, q.vwap_px_e6, q.worst_px_e6, q.max_charge_atoms)
    assert r.slices == ((0, r.held_qty, r.vwap_px_e6),)


def test_reserve_prices_from_the_curve_at_reserve_time():
    slab = make_slab()
    r = slab.reserve(1, 0, BUY, 100, FAR, now_ms=T0 + 1, ttl_ms=1_000)
    cost = curve.buy_cost_atoms(X0, Y0, 100)
    assert r.vwap_px_e6 == curve.fill_price_e6(BUY, cost, 100, CS, TICK)
    assert PX < r.vwap_px_e6 < FAR


def test_pending_holds_reduce_what_the_next_reserve_gets():
    slab = make_slab()
    first = slab.reserve(1, 0, BUY, 1_000, FAR, now_ms=T0 + 1, ttl_ms=1_000)
    second = slab.reserve(2, 0, BUY, 1_000, FAR, now_ms=T0 + 1, ttl_ms=1_000)
    # the second is priced along the curve after the first: exactly what a 2 000-lot buy
    # costs beyond the first 1 000
    x1, y1 = curve.move(X0, Y0, BUY, 1_000)
    assert second.vwap_px_e6 == curve.fill_price_e6(
        BUY, curve.buy_cost_atoms(x1, y1, 1_000), 1_000, CS, TICK)
    assert second.vwap_px_e6 > first.vwap_px_e6
    # a sell hold is not helped by the open buys (never netted)
    s_alone = make_slab().quote(0, SELL, 1_000, LOW, now_ms=T0 + 1)
    assert slab.quote(0, SELL, 1_000, LOW, now_ms=T0 + 1) == s_alone


def test_released_quantity_goes_back_to_the_curve():
    slab = make_slab()
    fresh = slab.quote(0, BUY, 1_000, FAR, now_ms=T0 + 1)
    r = slab.reserve(1, 0, BUY, 1_000, FAR, now_ms=T0 + 1, ttl_ms=1_000)
    assert slab.quote(0, BUY, 1_000, FAR, now_ms=T0 + 1) != fresh
    assert slab.release(r.hold_id, now_ms=T0 + 2).ok
    assert slab.quote(0, BUY, 1_000, FAR, now_ms=T0 + 2) == fresh
    assert slab.pool().pending_buy_lots == 0


def test_reserved_quantity_never_exceeds_what_the_curve_allows():
    slab = make_slab(ins_band_bps=10_000)
    huge = 10**15 // TICK * TICK
    total = 0
    for user in (1, 2, 3, 1, 2, 3):
        r = slab.reserve(user, 0, BUY, X0, huge, now_ms=T0 + 1, ttl_ms=1_000)
        if r.ok:
            total += r.held_qty
    pool = slab.pool()
    assert total == pool.pending_buy_lots <= pool.base_reserve_lots - 1


def test_limit_price_is_respected_and_partial_holds_stop_at_it():
    slab = make_slab()
    limit = PX + 2 * PX // 1_000 // TICK * TICK       # ~0.2 % above the pool price
    r = slab.reserve(1, 0, BUY, 50_000, limit, now_ms=T0 + 1, ttl_ms=1_000)
    assert r.ok and 0 < r.held_qty < 50_000 and r.vwap_px_e6 <= limit
    one_more = curve.buy_cost_atoms(X0, Y0, r.held_qty + 1)
    assert curve.fill_price_e6(BUY, one_more, r.held_qty + 1, CS, TICK) > limit
    s = slab.reserve(2, 0, SELL, 50_000, PX - 2 * PX // 1_000 // TICK * TICK, now_ms=T0 + 1,
                     ttl_ms=1_000)
    assert s.ok and 0 < s.held_qty < 50_000 and s.vwap_px_e6 >= PX - 2 * PX // 1_000


def test_a_limit_inside_the_spread_gets_no_liquidity_and_changes_nothing():
    slab = make_slab()
    before = arena(slab)
    assert slab.reserve(1, 0, BUY, 10, PX - TICK, now_ms=T0 + 1, ttl_ms=1_000).code == E.NO_LIQUIDITY
    assert slab.reserve(1, 0, SELL, 10, PX + TICK, now_ms=T0 + 1, ttl_ms=1_000).code == E.NO_LIQUIDITY
    assert arena(slab) == before


def test_the_oracle_band_caps_a_generous_limit():
    slab = make_slab(ins_band_bps=100)
    r = slab.reserve(1, 0, BUY, 50_000, 10 * PX, now_ms=T0 + 1, ttl_ms=1_000)
    assert r.ok and r.vwap_px_e6 <= PX * 10_100 // 10_000


def test_commit_fills_at_the_captured_price_even_after_the_pool_moved():
    slab = make_slab()
    a = slab.reserve(1, 0, BUY, 1_000, FAR, now_ms=T0 + 1, ttl_ms=1_000)
    b = slab.reserve(2, 0, BUY, 3_000, FAR, now_ms=T0 + 1, ttl_ms=1_000)
    cb = slab.commit(b.hold_id, now_ms=T0 + 2)      # the later hold commits first
    ca = slab.commit(a.hold_id, now_ms=T0 + 3)
    assert cb.ok and ca.ok
    assert ca.fills[0].price_e6 == a.vwap_px_e6 and cb.fills[0].price_e6 == b.vwap_px_e6
    assert ca.filled_qty == 1_000 and cb.filled_qty == 3_000
    assert slab.position(1)["entry_px_e6"] == a.vwap_px_e6
    assert slab.position(POOL_USER)["qty_lots"] == -4_000
    x, y = curve.move(*curve.move(X0, Y0, BUY, 3_000), BUY, 1_000)
    assert (slab.pool().base_reserve_lots, slab.pool().quote_reserve_atoms) == (x, y)


def test_commit_happens_at_most_once():
    slab = make_slab()
    r = slab.reserve(1, 0, BUY, 100, FAR, now_ms=T0 + 1, ttl_ms=1_000)
    assert slab.commit(r.hold_id, now_ms=T0 + 2).ok
    before = arena(slab)
    again = slab.commit(r.hold_id, now_ms=T0 + 3)
    assert again.code == E.RESERVATION_CLOSED and again.fills == ()
    assert arena(slab) == before
    assert slab.position(1)["qty_lots"] == 100


def test_release_is_idempotent_and_a_released_hold_cannot_commit():
    slab = make_slab()
    r = slab.reserve(1, 0, SELL, 100, LOW, now_ms=T0 + 1, ttl_ms=1_000)
    first = slab.release(r.hold_id, now_ms=T0 + 2)
    assert first.ok and not first.noop
    before = arena(slab)
    second = slab.release(r.hold_id, now_ms=T0 + 3)
    assert second.ok and second.noop and arena(slab) == before
    assert slab.commit(r.hold_id, now_ms=T0 + 3).code == E.RESERVATION_CLOSED
    assert arena(slab) == before


def test_unknown_hold_ids_are_rejected_without_effect():
    slab = make_slab()
    before = arena(slab)
    for hid in (0, -1, 1, 5 << 24, (1 << 24) | 7, "x"):
        assert slab.commit(hid, now_ms=T0 + 1).code == E.UNKNOWN_RESERVATION
        assert slab.release(hid, now_ms=T0 + 1).code == E.UNKNOWN_RESERVATION
    assert arena(slab) == before


def test_kill_band_triggers_when_the_oracle_moves_past_it():
    slab = make_slab(kill_band_bps=100)
    r = slab.reserve(1, 0, BUY, 100, FAR, now_ms=T0 + 1, ttl_ms=1_000)
    assert slab.update_oracle(0, PX + PX // 100 + TICK, now_ms=T0 + 2).ok   # 1 % + a tick
    before = arena(slab)
    assert slab.commit(r.hold_id, now_ms=T0 + 3).code == E.KILL_BAND
    assert arena(slab) == before


def test_kill_band_just_does_not_trigger_at_its_edge():
    slab = make_slab(kill_band_bps=100)
    r = slab.reserve(1, 0, BUY, 100, FAR, now_ms=T0 + 1, ttl_ms=1_000)
    assert slab.update_oracle(0, PX - PX // 100, now_ms=T0 + 2).ok          # exactly 1 %
    c = slab.commit(r.hold_id, now_ms=T0 + 3)
    assert c.ok and c.fills[0].price_e6 == r.vwap_px_e6


def test_fee_cap_is_enforced_at_commit():
    slab = make_slab(swap_fee_bps=10)
    r = slab.reserve(1, 0, BUY, 100, FAR, now_ms=T0 + 1, ttl_ms=1_000)
    before = arena(slab)
    assert slab.commit(r.hold_id, now_ms=T0 + 2, fee_cap_taker_bps=9).code == E.FEE_CAP_EXCEEDED
    assert arena(slab) == before
    assert slab.commit(r.hold_id, now_ms=T0 + 2, fee_cap_taker_bps=10).ok


def test_expired_hold_cannot_commit_and_batch_open_releases_it():
    slab = make_slab()
    r = slab.reserve(1, 0, BUY, 100, FAR, now_ms=T0 + 1, ttl_ms=50)
    assert slab.commit(r.hold_id, now_ms=T0 + 52).code == E.RESERVATION_EXPIRED
    assert slab.pool().pending_buy_lots == 100
    bo = slab.batch_open(now_ms=T0 + 60)
    assert bo.ok and bo.expired_hold_ids == (r.hold_id,)
    assert slab.pool().pending_buy_lots == 0 and slab.hold(r.hold_id) is None
    assert slab.release(r.hold_id, now_ms=T0 + 61).noop


def test_stale_oracle_fails_closed():
    slab = make_slab()
    r = slab.reserve(1, 0, BUY, 100, FAR, now_ms=T0 + 1, ttl_ms=100_000)
    assert slab.quote(0, BUY, 100, FAR, now_ms=T0 + 5_001).code == E.ORACLE_STALE
    assert slab.commit(r.hold_id, now_ms=T0 + 5_001).code == E.ORACLE_STALE


def test_bad_requests_are_rejected_with_stable_codes_and_change_nothing():
    slab = make_slab(ins_lot=2, ins_min_size=4)
    before = arena(slab)
    cases = [
        (dict(user=99), E.UNKNOWN_ACCOUNT),
        (dict(user=POOL_USER), E.BAD_ARGUMENT),
        (dict(instrument=1), E.UNKNOWN_INSTRUMENT),
        (dict(side=2), E.BAD_SIDE),
        (dict(qty=0), E.QTY_NOT_POSITIVE),
        (dict(qty=5), E.QTY_NOT_LOT_ALIGNED),
        (dict(qty=2), E.BELOW_MIN_SIZE),
        (dict(limit=FAR + 1), E.PRICE_NOT_TICK_ALIGNED),
        (dict(limit=0), E.PRICE_NOT_POSITIVE),
        (dict(ttl=0), E.BAD_ARGUMENT),
        (dict(ttl=120_001), E.BAD_ARGUMENT),
        (dict(now=T0 - 1), E.TIME_WENT_BACKWARDS),
    ]
    for over, code in cases:
        a = dict(user=1, instrument=0, side=BUY, qty=100, limit=FAR, ttl=1_000, now=T0 + 1)
        a.update(over)
        r = slab.reserve(a["user"], a["instrument"], a["side"], a["qty"], a["limit"],
                         now_ms=a["now"], ttl_ms=a["ttl"])
        assert r.code == code, over
        assert r.message and not r.ok
    assert arena(slab) == before


def test_a_full_reservation_pool_is_a_clean_rejection_and_slots_are_reused():
    slab = make_slab()
    ids = [slab.reserve(1, 0, SELL, 10, LOW, now_ms=T0 + 1, ttl_ms=1_000).hold_id
           for _ in range(slab.layout.reservations)]
    assert all(ids) and len(set(ids)) == len(ids)
    before = arena(slab)
    assert slab.reserve(1, 0, SELL, 10, LOW, now_ms=T0 + 1, ttl_ms=1_000).code == E.POOL_FULL_RESERVATIONS
    assert arena(slab) == before
    assert slab.commit(ids[3], now_ms=T0 + 2).ok
    again = slab.reserve(1, 0, SELL, 10, LOW, now_ms=T0 + 2, ttl_ms=1_000)
    assert again.ok and again.hold_id not in ids and again.hold_id & 0xFFFFFF == ids[3] & 0xFFFFFF
