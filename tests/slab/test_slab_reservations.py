"""Reservations (plan S8, S9, M4, M5, F1-F3; EXCHANGE §3, §4, §6)."""
from __future__ import annotations

from executor.errors import ErrorCode as E
from executor.slab.program import BUY, IOC, SELL
from slab_support import MAKER, MAKER2, PX, T0, TAKER, TAKER2, TICK, arena, make_slab


def _book(slab):
    a = slab.place_order(MAKER, 0, SELL, PX, 5, now_ms=T0 + 1)
    b = slab.place_order(MAKER2, 0, SELL, PX + TICK, 5, now_ms=T0 + 2)
    return a.order_id, b.order_id


def test_reserve_walks_depth_to_the_limit_and_captures_maker_prices():
    slab = make_slab()
    a, b = _book(slab)
    h = slab.reserve(TAKER, 0, BUY, 7, PX + TICK, now_ms=T0 + 3, ttl_ms=1_000)
    assert h.ok and h.held_qty == 7
    assert h.slices == ((a, 5, PX), (b, 2, PX + TICK))
    assert h.worst_px_e6 == PX + TICK
    assert h.vwap_px_e6 == -(-(5 * PX + 2 * (PX + TICK)) // 7)       # rounded up for a buy
    # held quantity is not displayed as free depth (S8)
    assert slab.depth(0, SELL) == [(PX + TICK, 3)]
    assert slab.order(a)[6] == 5 and slab.order(b)[6] == 2             # reserved_qty
    assert all(o[6] <= o[5] for o in (slab.order(a), slab.order(b)))  # reserved <= qty


def test_reserve_stops_at_the_limit_and_rejects_when_nothing_free():
    slab = make_slab()
    _book(slab)
    h = slab.reserve(TAKER, 0, BUY, 50, PX, now_ms=T0 + 3, ttl_ms=1_000)
    assert h.held_qty == 5
    before = arena(slab)
    again = slab.reserve(TAKER2, 0, BUY, 5, PX, now_ms=T0 + 4, ttl_ms=1_000)
    assert again.code == E.NO_LIQUIDITY and arena(slab) == before


def test_second_reserve_takes_only_unreserved_quantity():
    slab = make_slab()
    a, _b = _book(slab)
    slab.reserve(TAKER, 0, BUY, 3, PX, now_ms=T0 + 3, ttl_ms=1_000)
    h2 = slab.reserve(TAKER2, 0, BUY, 5, PX, now_ms=T0 + 4, ttl_ms=1_000)
    assert h2.held_qty == 2 and h2.slices == ((a, 2, PX),)
    assert slab.order(a)[6] == 5 == slab.order(a)[5]


def test_takers_cannot_match_reserved_quantity():
    slab = make_slab()
    a, b = _book(slab)
    slab.reserve(TAKER, 0, BUY, 5, PX, now_ms=T0 + 3, ttl_ms=1_000)
    r = slab.place_order(TAKER2, 0, BUY, PX + TICK, 3, tif=IOC, now_ms=T0 + 4)
    assert [(f.maker_order_id, f.price_e6) for f in r.fills] == [(b, PX + TICK)]


def test_commit_fills_at_captured_prices_and_only_once():
    slab = make_slab()
    a, b = _book(slab)
    h = slab.reserve(TAKER, 0, BUY, 7, PX + TICK, now_ms=T0 + 3, ttl_ms=1_000)
    slab.update_oracle(0, PX + TICK, now_ms=T0 + 4)        # within the kill band
    c = slab.commit(h.hold_id, now_ms=T0 + 5)
    assert c.ok and c.filled_qty == 7
    assert [(f.maker_order_id, f.qty_lots, f.price_e6) for f in c.fills] == \
        [(a, 5, PX), (b, 2, PX + TICK)]
    assert [t.taker_ref for t in c.trades] == [h.hold_id, h.hold_id]
    assert slab.position(TAKER, 0)["qty_lots"] == 7
    assert slab.hold(h.hold_id) is None                      # slot freed after commit (§6)
    before = arena(slab)
    again = slab.commit(h.hold_id, now_ms=T0 + 6)
    assert again.code == E.RESERVATION_CLOSED and arena(slab) == before


def test_release_is_idempotent_and_returns_liquidity_in_place():
    slab = make_slab()
    a, _b = _book(slab)
    h = slab.reserve(TAKER, 0, BUY, 3, PX, now_ms=T0 + 3, ttl_ms=1_000)
    r1 = slab.release(h.hold_id, now_ms=T0 + 4)
    assert r1.ok and not r1.noop and slab.order(a)[6] == 0
    before = arena(slab)
    r2 = slab.release(h.hold_id, now_ms=T0 + 5)
    assert r2.ok and r2.noop and arena(slab) == before
    assert slab.commit(h.hold_id, now_ms=T0 + 5).code == E.RESERVATION_CLOSED
    assert slab.release(77 << 24, now_ms=T0 + 5).code == E.UNKNOWN_RESERVATION
    assert slab.commit(77 << 24, now_ms=T0 + 5).code == E.UNKNOWN_RESERVATION


def test_cancelling_a_partly_reserved_order_removes_only_the_unreserved_part():
    slab = make_slab()
    a, _b = _book(slab)
    h = slab.reserve(TAKER, 0, BUY, 3, PX, now_ms=T0 + 3, ttl_ms=1_000)
    assert slab.cancel_order(MAKER, a, now_ms=T0 + 4).ok
    assert slab.order(a)[5] == 3 and slab.order(a)[6] == 3
    assert slab.commit(h.hold_id, now_ms=T0 + 5).filled_qty == 3
    assert slab.order(a) is None


def test_release_after_cancel_removes_the_held_remainder():
    slab = make_slab()
    a, _b = _book(slab)
    h = slab.reserve(TAKER, 0, BUY, 3, PX, now_ms=T0 + 3, ttl_ms=1_000)
    slab.cancel_order(MAKER, a, now_ms=T0 + 4)
    slab.release(h.hold_id, now_ms=T0 + 5)
    assert slab.order(a) is None and slab.depth(0, SELL) == [(PX + TICK, 5)]


def test_modify_cannot_go_below_reserved_or_move_a_held_order():
    slab = make_slab()
    a, _b = _book(slab)
    slab.reserve(TAKER, 0, BUY, 3, PX, now_ms=T0 + 3, ttl_ms=1_000)
    assert slab.modify_order(MAKER, a, PX, 2, now_ms=T0 + 4).code == E.MODIFY_BELOW_RESERVED
    assert slab.modify_order(MAKER, a, PX + TICK, 5, now_ms=T0 + 4).code == E.ORDER_RESERVED
    assert slab.modify_order(MAKER, a, PX, 4, now_ms=T0 + 4).ok


def test_expired_holds_cannot_commit_and_are_released_at_batch_open():
    slab = make_slab()
    a, _b = _book(slab)
    h = slab.reserve(TAKER, 0, BUY, 3, PX, now_ms=T0 + 3, ttl_ms=100)
    before = arena(slab)
    assert slab.commit(h.hold_id, now_ms=T0 + 104).code == E.RESERVATION_EXPIRED
    assert arena(slab) == before
    opened = slab.batch_open(now_ms=T0 + 150)
    assert opened.expired_hold_ids == (h.hold_id,) and slab.order(a)[6] == 0


def test_reserve_rejects_self_trade_bad_ttl_and_full_pools_without_change():
    slab = make_slab()
    _book(slab)
    before = arena(slab)
    assert slab.reserve(MAKER, 0, BUY, 3, PX, now_ms=T0 + 3, ttl_ms=1_000).code == E.SELF_TRADE
    assert slab.reserve(TAKER, 0, BUY, 3, PX, now_ms=T0 + 3, ttl_ms=0).code == E.BAD_ARGUMENT
    assert slab.reserve(TAKER, 0, BUY, 3, PX, now_ms=T0 + 3,
                        ttl_ms=120_001).code == E.BAD_ARGUMENT
    assert slab.reserve(TAKER, 5, BUY, 3, PX, now_ms=T0 + 3,
                        ttl_ms=1_000).code == E.UNKNOWN_INSTRUMENT
    assert arena(slab) == before
    for i in range(8):
        assert slab.reserve(TAKER, 0, BUY, 1, PX + TICK, now_ms=T0 + 3, ttl_ms=1_000).ok
    before = arena(slab)
    r = slab.reserve(TAKER2, 0, BUY, 1, PX + TICK, now_ms=T0 + 4, ttl_ms=1_000)
    assert r.code == E.POOL_FULL_RESERVATIONS and arena(slab) == before
