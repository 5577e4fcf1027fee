"""Router flows end to end (EXCHANGE §2 flows 1–4; issue 5 end-to-end scenario)."""
from __future__ import annotations

import pytest

from executor.errors import ErrorCode as E
from executor.router.records import HOLD_CANCELLED, HOLD_COMMITTED, HOLD_EXPIRED, T_ESCROW
from router_support import (BTC, BTC_A, BTC_B, BUY, LP, MAKER_A, MAKER_B, RICH, SELL, TAKER,
                            Rejected, World, book_px)


def two_books(w: World) -> None:
    """Asks: A 5 @ 59 900 and 5 @ 59 990; B 5 @ 59 950 (the base design's scenario)."""
    w.place(MAKER_A, BTC_A, BTC, SELL, 5, book_px(59900))
    w.place(MAKER_A, BTC_A, BTC, SELL, 5, book_px(59990))
    w.place(MAKER_B, BTC_B, BTC, SELL, 5, book_px(59950))


def test_buy_ten_across_two_slabs_fills_cheapest_levels():
    w = World()
    two_books(w)
    w.reserve(TAKER, 1, BTC, BUY, 10, book_px(60000))
    w.next_epoch()
    events = w.commit(TAKER, 1, BTC, BUY, 10, book_px(60000))
    fills = sorted((e.fill.slab_id, e.fill.qty_lots, e.fill.price_e6) for e in events)
    assert fills == [(BTC_A, 5, book_px(59900)), (BTC_B, 5, book_px(59950))]
    assert w.conserved()
    hold, _keys = w.router.hold_view(TAKER, 1)
    assert hold.status == HOLD_COMMITTED


def test_buy_then_sell_leaves_router_margin_near_zero():
    w = World()
    two_books(w)
    w.reserve(TAKER, 1, BTC, BUY, 10, book_px(60000))
    w.next_epoch()
    w.commit(TAKER, 1, BTC, BUY, 10, book_px(60000))
    assert w.router.margin(TAKER)[1] > 0
    # close on other venues: bids from makers on both slabs
    w.place(MAKER_A, BTC_A, BTC, BUY, 5, book_px(59800))
    w.place(MAKER_B, BTC_B, BTC, BUY, 5, book_px(59800))
    w.reserve(TAKER, 2, BTC, SELL, 10, book_px(59000))
    w.next_epoch()
    w.commit(TAKER, 2, BTC, SELL, 10, book_px(59000))
    _eq, im, mm = w.router.margin(TAKER)
    assert im == 0 and mm == 0
    assert w.conserved()


def test_unused_escrow_returns_to_vault_after_commit():
    """After a commit the escrow keeps exactly what the slab's own IM needs (RM1–RM3); the rest
    of the pledge returns to the vault."""
    w = World()
    two_books(w)
    vault0 = w.router._vault(TAKER)
    w.reserve(TAKER, 1, BTC, BUY, 10, book_px(60000))
    pledged = vault0 - w.router._vault(TAKER)
    assert pledged > 0
    w.next_epoch()
    events = w.commit(TAKER, 1, BTC, BUY, 10, book_px(60000))
    fees = sum(e.fill.taker_fee_atoms for e in events)
    n = w.router.user_no(TAKER)
    kept = 0
    for slab in (BTC_A, BTC_B):
        esc = w.router._escrow(TAKER, slab).balance_atoms
        eq, im, _mm = w.slabs[slab].margin(n)
        assert esc == max(0, im - (eq - esc))        # exactly the slab's need, no more
        kept += esc
    assert 0 < kept < pledged
    assert vault0 - w.router._vault(TAKER) == fees + kept


def test_cancel_hold_releases_refunds_and_is_idempotent():
    w = World()
    two_books(w)
    vault0 = w.router._vault(TAKER)
    w.reserve(TAKER, 1, BTC, BUY, 10, book_px(60000))
    w.cancel_hold(TAKER, 1)
    assert w.router._vault(TAKER) == vault0
    assert w.router.hold_view(TAKER, 1)[0].status == HOLD_CANCELLED
    snap = w.snapshot()
    w.cancel_hold(TAKER, 1)                     # F2: second cancel, identical state
    assert w.snapshot() == snap
    # the held liquidity is free again
    assert w.slabs[BTC_A].depth(0, 1, 5)[0][1] == 5


def test_commit_at_most_once():
    w = World()
    two_books(w)
    w.reserve(TAKER, 1, BTC, BUY, 10, book_px(60000))
    w.next_epoch()
    w.commit(TAKER, 1, BTC, BUY, 10, book_px(60000))
    snap = w.snapshot()
    with pytest.raises(Rejected) as r:
        w.commit(TAKER, 1, BTC, BUY, 10, book_px(60000))     # F3 replay
    assert r.value.code == E.HOLD_ALREADY_COMMITTED
    assert w.snapshot() == snap


def test_expiry_at_epoch_boundary_refunds_and_marks_expired():
    w = World()
    two_books(w)
    vault0 = w.router._vault(TAKER)
    w.reserve(TAKER, 1, BTC, BUY, 5, book_px(60000), ttl=100)
    w.reserve(TAKER, 2, BTC, BUY, 5, book_px(60000), ttl=300)
    w.advance(150)
    assert w.router.hold_view(TAKER, 1)[0].status == HOLD_EXPIRED
    assert w.router.hold_view(TAKER, 2)[0].status != HOLD_EXPIRED
    w.advance(200)
    assert w.router.hold_view(TAKER, 2)[0].status == HOLD_EXPIRED
    assert w.router._vault(TAKER) == vault0
    assert w.conserved()
    # F2: cancel of an expired hold succeeds with no effect
    snap = w.snapshot()
    w.cancel_hold(TAKER, 1)
    assert w.snapshot() == snap


def test_withdraw_pulls_from_vault_and_refuses_below_im():
    w = World(accounts={TAKER: 1_000_000_000, MAKER_A: RICH, MAKER_B: RICH})
    two_books(w)
    w.reserve(TAKER, 1, BTC, BUY, 10, book_px(60000))
    w.next_epoch()
    w.commit(TAKER, 1, BTC, BUY, 10, book_px(60000))
    equity, im, _mm = w.router.margin(TAKER)
    with pytest.raises(Rejected) as r:
        w.withdraw(TAKER, equity - im + 1)
    assert r.value.code == E.WITHDRAW_BELOW_IM
    w.withdraw(TAKER, equity - im - 1_000)
    assert w.conserved()


def test_deposit_sources_and_vault_credit():
    w = World()
    w.deposit(LP, 5_000)
    assert w.router._vault(LP) == RICH + 5_000
    from router_support import RELAYER
    w.deposit(LP, 7, signer=RELAYER, source=1, ref=b"l1-tx-1")
    with pytest.raises(Rejected) as r:
        w.deposit(LP, 7, signer=RELAYER, source=1, ref=b"l1-tx-1")
    assert r.value.code == E.DEPOSIT_REPLAYED
    with pytest.raises(Rejected) as r:
        w.deposit(LP, 7, source=1, ref=b"l1-tx-2")
    assert r.value.code == E.NOT_BRIDGE_RELAYER
    assert w.conserved()


def test_faucet_disabled_rejects():
    w = World(faucet=False)
    with pytest.raises(Rejected) as r:
        w.deposit(LP, 1)
    assert r.value.code == E.FAUCET_DISABLED


def test_slab_collateral_is_exactly_the_escrow_after_settlement():
    w = World()
    two_books(w)
    w.reserve(TAKER, 1, BTC, BUY, 10, book_px(60000))
    w.next_epoch()
    w.commit(TAKER, 1, BTC, BUY, 10, book_px(60000))
    for who in (TAKER, MAKER_A, MAKER_B):
        n = w.router.user_no(who)
        for sid in (BTC_A, BTC_B):
            acct = w.slabs[sid].account(n)
            if not acct:
                continue
            esc = w.state.get(T_ESCROW, who, sid, 0)
            esc = esc.balance_atoms if esc else 0
            assert (acct["collateral_atoms"], acct["cash_atoms"]) == (esc, 0)


def test_every_router_record_round_trips_through_its_canonical_encoding():
    w = World()
    two_books(w)
    w.reserve(TAKER, 1, BTC, BUY, 5, book_px(60000))
    w.reserve(TAKER, 2, BTC, BUY, 5, book_px(60000))
    w.next_epoch()
    w.commit(TAKER, 1, BTC, BUY, 5, book_px(60000))
    records = w.records()
    kinds = {type(v).__name__ for v in records.values()}
    assert {"Vault", "Escrow", "Cap", "RouteHold", "Portfolio", "UserNo", "UserKey",
            "RegistryEntry", "Fund", "InstrumentState", "SlabCash", "Counters",
            "ExpiryIndex", "OpenRoutes"} <= kinds
    for v in records.values():
        raw = v.encode()
        assert type(v).decode(raw) == v
        assert type(v).decode(raw).encode() == raw


def test_place_order_events_report_fills_and_the_order_state():
    w = World()
    events = w.place(MAKER_A, BTC_A, BTC, SELL, 5, book_px(59900), maker_class=1)   # REG
    (ev,) = events
    assert ev.order_update.state == 1 and ev.order_update.remaining_lots == 5      # PENDING
    w.next_epoch()
    events = w.place(TAKER, BTC_A, BTC, BUY, 2, book_px(59900), tif=2)             # IOC
    fills = [e.fill for e in events if e.HasField("fill")]
    assert [(f.qty_lots, f.price_e6, f.maker, f.taker) for f in fills] == \
        [(2, book_px(59900), MAKER_A, TAKER)]
    assert w.router._exposures(TAKER) == {(BTC_A, BTC): 2}
    assert w.router._exposures(MAKER_A) == {(BTC_A, BTC): -2}
    assert w.conserved()


def test_governance_registers_and_deactivates_slabs():
    from executor.router.records import T_REGISTRY
    from proto.assetl2.v1 import tx_pb2
    from router_support import GOV
    w = World()
    w.state.put(T_REGISTRY, (BTC_B,), None)           # a slab program running but unregistered
    w.state.release(0)
    w.place(MAKER_A, BTC_A, BTC, SELL, 5, book_px(59900))
    with pytest.raises(Rejected) as r:
        w.place(MAKER_B, BTC_B, BTC, SELL, 5, book_px(59950))
    assert r.value.code == E.UNKNOWN_SLAB
    m = tx_pb2.Manifest(code_hash=b"\x01" * 32, config_hash=b"\x02" * 32, proof_hash=b"\x03" * 32)
    w.apply(GOV, register_slab=tx_pb2.RegisterSlab(slab_id=BTC_B, owner=MAKER_B, manifest=m))
    entry = w.state.get(T_REGISTRY, BTC_B)
    assert entry.active and entry.owner == MAKER_B and entry.code_hash == b"\x01" * 32
    assert entry.taker_fee_cap_bps == 20                  # min(slab cap, router FEE_CAP)
    w.place(MAKER_B, BTC_B, BTC, SELL, 5, book_px(59950))
    w.reserve(TAKER, 1, BTC, BUY, 10, book_px(60000))
    assert len(w.router.hold_view(TAKER, 1)[0].slabs) == 2


def test_cancelling_an_order_returns_its_pledge_but_keeps_what_the_rest_needs():
    """A place order pledges its margin from the vault into the slab's escrow; cancelling it
    returns what the account's remaining positions, orders and routes on that slab do not need
    (the slab accepted them against that collateral), and nothing more."""
    w = World()
    vault0 = w.router._vault(MAKER_A)
    first = w.place(MAKER_A, BTC_A, BTC, SELL, 5, book_px(60100))[0].order_update.order_id
    second = w.place(MAKER_A, BTC_A, BTC, SELL, 3, book_px(60200))[0].order_update.order_id
    assert w.router._vault(MAKER_A) < vault0
    w.apply(MAKER_A, cancel_order=_cancel(BTC_A, first))
    n = w.router.user_no(MAKER_A)
    slab = w.router.slabs[BTC_A]
    esc = w.router._escrow(MAKER_A, BTC_A).balance_atoms
    eq, im = slab.margin_with_orders(n)
    assert 0 < esc and eq >= im, "the remaining order stays fully backed"
    assert esc == w.router._escrow_kept(MAKER_A, n, BTC_A), "and nothing beyond it stays pledged"
    w.apply(MAKER_A, cancel_order=_cancel(BTC_A, second))
    assert w.router._escrow(MAKER_A, BTC_A).balance_atoms == 0
    assert w.router._vault(MAKER_A) == vault0, "with nothing left on the slab the whole pledge is back"
    acct = slab.account(n)
    assert (acct["collateral_atoms"], acct["cash_atoms"]) == (0, 0)
    assert w.conserved()


def test_cancel_keeps_what_an_open_route_on_the_slab_may_still_debit():
    w = World()
    two_books(w)
    w.reserve(TAKER, 1, BTC, BUY, 5, book_px(59900), slabs=(BTC_A,))
    oid = w.place(TAKER, BTC_A, BTC, BUY, 1, book_px(59000))[0].order_update.order_id
    cap_left = w.router._pledged_open(TAKER, BTC_A)
    assert cap_left > 0
    w.apply(TAKER, cancel_order=_cancel(BTC_A, oid))
    assert w.router._escrow(TAKER, BTC_A).balance_atoms >= cap_left
    w.next_epoch()
    w.commit(TAKER, 1, BTC, BUY, 5, book_px(59900))          # the route still settles
    assert w.conserved()


def _cancel(slab: int, order_id: int):
    from proto.assetl2.v1 import tx_pb2
    return tx_pb2.CancelOrder(slab_id=slab, instrument_id=BTC, order_id=order_id)


def test_a_settlement_that_moves_nothing_still_creates_the_slabs_cash_record_once():
    """The shortcut for results that move nothing must not change the state layout: the
    first settlement on a slab writes its (zero) cash record, later no-op ones rewrite
    nothing."""
    from executor.router.records import T_SLAB_CASH, SlabCash
    w = World()
    assert w.router._get(T_SLAB_CASH, BTC_A) is None
    w.place(MAKER_A, BTC_A, BTC, SELL, 5, book_px(60100))           # rests: moves nothing
    assert w.router._get(T_SLAB_CASH, BTC_A) == SlabCash(0, 0, 0, 0)
    dirty = set(w.state._dirty)
    w.state.take_updates()
    w.place(MAKER_A, BTC_A, BTC, SELL, 5, book_px(60200))
    assert T_SLAB_CASH.key(BTC_A) not in w.state._dirty and T_SLAB_CASH.key(BTC_A) in dirty
