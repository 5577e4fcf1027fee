"""Portfolio margin (RM4, RM5), funding (RM6, RM7), liquidation (L1–L3), AMM routing, F1/F3,
and the persisted expiry index (EXCHANGE §2, §4)."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from executor.errors import ErrorCode as E
from executor.router import Router
from executor.router.margin import InstrumentRisk, portfolio_requirement
from executor.router.records import HOLD_EXPIRED, T_CAP, T_HOLD
from executor.units import bps_of, notional
from proto.assetl2.v1 import tx_pb2
from router_support import (AMM_ETH, BTC, BTC_A, BTC_B, BTC_PX, BUY, ETH, ETH_A, ETH_PX, GOV,
                            MAKER_A, MAKER_B, RELAYER, SELL, TAKER, Rejected, World, book_px)

CS_BTC = 1_000


def im_mono(net_lots: int, mark: int = BTC_PX, imr_bps: int = 500) -> int:
    """IM of a net position on one monolithic venue."""
    return bps_of(notional(abs(net_lots), mark, CS_BTC, round_up=True), imr_bps, round_up=True)


def hedge(w: World, long_a: int, short_b: int) -> None:
    """TAKER long ``long_a`` on slab A and short ``short_b`` on slab B via reserve/commit."""
    w.place(MAKER_A, BTC_A, BTC, SELL, long_a, book_px(60000))
    w.place(MAKER_B, BTC_B, BTC, BUY, short_b, book_px(60000))
    w.reserve(TAKER, 1, BTC, BUY, long_a, book_px(60100), slabs=(BTC_A,))
    w.reserve(TAKER, 2, BTC, SELL, short_b, book_px(59900), slabs=(BTC_B,))
    w.next_epoch()
    w.commit(TAKER, 1, BTC, BUY, long_a, book_px(60100))
    w.commit(TAKER, 2, BTC, SELL, short_b, book_px(59900))


def test_perfect_cross_slab_hedge_needs_no_margin():
    w = World()
    hedge(w, 10, 10)
    _eq, im, mm = w.router.margin(TAKER)
    assert im == 0 and mm == 0                              # RM5
    ex = w.router._exposures(TAKER)
    assert ex == {(BTC_A, BTC): 10, (BTC_B, BTC): -10}
    assert w.router._requirements(ex)[2] == 2 * im_mono(10)  # the slabs alone would ask this


def test_partial_offset_costs_its_net_like_one_venue():
    w = World()
    hedge(w, 10, 6)
    _eq, im, _mm = w.router.margin(TAKER)
    assert 0 < im <= 1.05 * im_mono(4)
    assert im <= w.router._requirements(w.router._exposures(TAKER))[2]   # RM4


def test_hedged_collateral_can_be_withdrawn_down_to_fees():
    """The hedge's IM is not locked: after it, equity above 0 IM can leave (RM5)."""
    w = World(accounts={TAKER: 100_000_000, MAKER_A: 10**13, MAKER_B: 10**13})
    hedge(w, 10, 10)
    equity, im, _mm = w.router.margin(TAKER)
    assert im == 0
    w.withdraw(TAKER, equity)
    assert w.conserved()


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.tuples(st.sampled_from([2, 3, 4]), st.sampled_from([1, 2])),
                       st.integers(-10**6, 10**6), max_size=6),
       st.sampled_from([0, 2_500, 5_000]))
def test_router_im_never_exceeds_sum_of_slab_im(exposures, offset_bps):
    risk = {1: InstrumentRisk(1_000, BTC_PX), 2: InstrumentRisk(10_000, ETH_PX)}
    imr = {2: 500, 3: 500, 4: 600}
    corr = ((1, 2, offset_bps),) if offset_bps else ()
    im, im_slab = portfolio_requirement(exposures, risk, imr, corr)
    assert 0 <= im <= im_slab
    # never netted across instruments without a configured correlation
    if not corr:
        per_instr = {}
        for (s, i), q in exposures.items():
            per_instr.setdefault(i, {})[(s, i)] = q
        assert im == sum(portfolio_requirement(e, risk, imr)[0] for e in per_instr.values())


def test_funding_nets_to_zero_with_conventional_sign():
    w = World()
    w.place(MAKER_A, BTC_A, BTC, SELL, 10, book_px(60000))
    w.reserve(TAKER, 1, BTC, BUY, 10, book_px(60000), slabs=(BTC_A,))
    w.next_epoch()
    w.commit(TAKER, 1, BTC, BUY, 10, book_px(60000))
    # book A quoted above the oracle: mark > index, longs pay shorts
    w.place(MAKER_B, BTC_A, BTC, BUY, 1, book_px(60050))
    w.place(MAKER_A, BTC_A, BTC, SELL, 1, book_px(60150))
    users = w.router.users()
    before = {u: w.router.equity(u) for u in users}
    w.apply(TAKER, funding_crank=tx_pb2.FundingCrank(instrument_id=BTC))
    after = {u: w.router.equity(u) for u in users}
    st = w.router._instr_state(BTC)
    assert st.last_rate_ppm == 16 * 100     # mid 60 100 vs index 60 000: 16 bps (cap 75)
    change = {u: after[u] - before[u] for u in users}
    assert change[TAKER] < 0 < change[MAKER_A]              # the long pays the short
    assert -len(users) <= sum(change.values()) <= 0         # nets to zero up to rounding
    # RM6: at most once per interval
    w.advance(1)
    try:
        w.apply(TAKER, funding_crank=tx_pb2.FundingCrank(instrument_id=BTC))
        raise AssertionError("second crank in one interval must be refused")
    except Rejected as r:
        assert r.code == E.FUNDING_NOT_DUE


def test_liquidation_grace_then_sweep_inside_band():
    w = _underwater_taker()
    px = w.router._instr_state(BTC).price_e6
    equity = w.router.margin(TAKER)[0]
    lo, _hi = w.router.band_limits(BTC, 500)
    w.place(MAKER_A, BTC_A, BTC, BUY, 3, px - 5 * 100_000)          # inside the band
    w.place(MAKER_A, BTC_A, BTC, BUY, 5, (lo - 1_000 * 100_000) // 100_000 * 100_000)  # outside
    w.place(MAKER_B, BTC_B, BTC, BUY, 5, px - 10 * 100_000)
    liq = tx_pb2.Liquidate(user=TAKER)
    vault0 = w.router._vault(TAKER)
    assert vault0 > 0
    assert w.apply(MAKER_B, liquidate=liq) == []          # L1: grace window opens
    assert w.router._vault(TAKER) < vault0                # free collateral re-pledged first
    assert w.router.margin(TAKER)[0] == equity            # which does not change equity
    assert w.conserved()
    try:
        w.apply(MAKER_B, liquidate=liq)
        raise AssertionError("inside the grace window nothing is swept")
    except Rejected as r:
        assert r.code == E.LIQUIDATION_GRACE
    w.advance(5_000)
    events = w.apply(MAKER_B, liquidate=liq)
    fills = [e.fill for e in events]
    assert fills and all(f.price_e6 >= lo for f in fills)   # L3
    assert sum(f.qty_lots for f in fills) == 8
    assert w.router._exposures(TAKER) == {(BTC_A, BTC): 2}
    assert w.conserved()


def test_route_across_a_book_and_an_amm():
    w = World()
    w.place(MAKER_A, ETH_A, ETH, SELL, 5, 2_990_000_000, maker_class=1)
    w.next_epoch()                                          # REG maker order goes live
    w.reserve(TAKER, 1, ETH, BUY, 20, 3_050_000_000)
    legs = {s.slab_id: s.qty_lots for s in w.router.hold_view(TAKER, 1)[0].slabs}
    assert legs == {ETH_A: 5, AMM_ETH: 15}
    w.next_epoch()
    events = w.commit(TAKER, 1, ETH, BUY, 20, 3_050_000_000)
    assert sum(e.fill.qty_lots for e in events) == 20
    assert w.conserved()
    assert w.router._exposures(TAKER) == {(AMM_ETH, ETH): 15, (ETH_A, ETH): 5}


def test_amm_liquidity_moves_vault_to_pool_and_back():
    w = World()
    vault0 = w.router._vault(MAKER_A)
    w.apply(MAKER_A, amm_add_liquidity=tx_pb2.AmmAddLiquidity(
        slab_id=AMM_ETH, instrument_id=ETH, quote_atoms=30_000_000_000))
    assert w.router._vault(MAKER_A) == vault0 - 30_000_000_000
    shares = w.slabs[AMM_ETH].account(w.router.user_no(MAKER_A))["lp_shares"]
    w.apply(MAKER_A, amm_remove_liquidity=tx_pb2.AmmRemoveLiquidity(
        slab_id=AMM_ETH, instrument_id=ETH, shares=shares))
    assert vault0 - w.router._vault(MAKER_A) <= 1                 # rounding in the pool's favour
    assert w.conserved()


def test_expired_cap_debits_nothing_and_refund_returns_everything():
    """F1: past its TTL a route's cap can debit nothing; expiry refunds the pledge whole."""
    w = World()
    w.place(MAKER_A, BTC_A, BTC, SELL, 5, book_px(59900))
    vault0 = w.router._vault(TAKER)
    w.reserve(TAKER, 1, BTC, BUY, 5, book_px(60000), ttl=60)
    route = w.state.get(T_HOLD, TAKER, 1)
    cap = w.state.get(T_CAP, route.hold_id, BTC_A)
    w.advance(200)
    assert w.state.get(T_HOLD, TAKER, 1).status == HOLD_EXPIRED
    assert w.state.get(T_CAP, route.hold_id, BTC_A).burned
    assert w.router._vault(TAKER) == vault0 and cap.remaining > 0
    assert w.router._escrow(TAKER, BTC_A).balance_atoms == 0


def test_replayed_commit_spends_the_cap_once():
    """F3: the cap is burned by the first commit; a replay is refused, the escrow untouched."""
    w = World()
    w.place(MAKER_A, BTC_A, BTC, SELL, 5, book_px(59900))
    w.reserve(TAKER, 1, BTC, BUY, 5, book_px(60000))
    w.next_epoch()
    w.commit(TAKER, 1, BTC, BUY, 5, book_px(60000))
    hold_id = w.state.get(T_HOLD, TAKER, 1).hold_id
    assert w.state.get(T_CAP, hold_id, BTC_A).burned
    esc = w.router._escrow(TAKER, BTC_A)
    for _ in range(3):
        try:
            w.commit(TAKER, 1, BTC, BUY, 5, book_px(60000))
        except Rejected as r:
            assert r.code == E.HOLD_ALREADY_COMMITTED
    assert w.router._escrow(TAKER, BTC_A) == esc


def test_restarted_router_expires_the_same_holds_from_state():
    """The expiry index is a state record: a new Router over the same state and slabs (a
    restarted node) expires exactly the holds the first would have."""
    w = World()
    w.place(MAKER_A, BTC_A, BTC, SELL, 5, book_px(59900))
    w.reserve(TAKER, 1, BTC, BUY, 2, book_px(60000), ttl=60)
    w.reserve(TAKER, 2, BTC, BUY, 2, book_px(60000), ttl=5_000)
    w.router = Router(w.state, w.cfg, w.slabs, governance=frozenset({GOV}),
                      bridge_relayers=frozenset({RELAYER}), faucet_enabled=True)
    w.advance(100)
    assert w.state.get(T_HOLD, TAKER, 1).status == HOLD_EXPIRED
    assert w.state.get(T_HOLD, TAKER, 2).status != HOLD_EXPIRED
    assert w.conserved()


def test_loss_waterfall_account_then_insurance_then_haircut_of_positive_pnl():
    """A settlement debit beyond the escrow is covered by the insurance fund, the rest becomes
    the slab's deficit, repaid by haircuts of later positive PnL — never of principal."""
    from dataclasses import replace as _replace

    from executor.router.records import T_COUNTERS, T_FEE_POOL, T_INSURANCE, Fund
    from executor.slab.results import CashDelta, CommitResult

    w = World()
    r = w.router
    # fund the insurance fund as if from deposits (keeps the conservation identity)
    w.state.put(T_INSURANCE, (0,), Fund(1_000))
    c = r._counters()
    w.state.put(T_COUNTERS, ("router",), _replace(c, deposits_atoms=c.deposits_atoms + 1_000))
    w.place(MAKER_A, BTC_A, BTC, SELL, 1, book_px(60100))     # MAKER_A now has escrow on A
    esc_a = r._escrow(MAKER_A, BTC_A).balance_atoms
    na, nb = r.user_no(MAKER_A), r.user_no(MAKER_B)
    w.slabs[BTC_A].set_collateral(nb, 0, now_ms=w.now)
    loss = esc_a + 1_500
    r._settle(BTC_A, CommitResult(cash_deltas=(CashDelta(na, -loss),)), w.now)
    assert r._escrow(MAKER_A, BTC_A).balance_atoms == 0           # account first
    assert r._fund(T_INSURANCE) == 0                              # then insurance (1 000)
    assert r._slab_cash(BTC_A).deficit_atoms == 500               # the rest is socialised
    assert w.conserved()
    r._settle(BTC_A, CommitResult(cash_deltas=(CashDelta(nb, 800),)), w.now)
    assert r._escrow(MAKER_B, BTC_A).balance_atoms == 300         # 500 haircut of the PnL
    assert r._slab_cash(BTC_A).deficit_atoms == 0
    assert r._fund(T_FEE_POOL) >= 0 and w.conserved()


def test_funding_rate_is_capped():
    w = World()
    w.place(MAKER_B, BTC_A, BTC, BUY, 1, book_px(62000))
    w.place(MAKER_A, BTC_A, BTC, SELL, 1, book_px(62400))
    w.apply(TAKER, funding_crank=tx_pb2.FundingCrank(instrument_id=BTC))
    assert w.router._instr_state(BTC).last_rate_ppm == 75 * 100   # FUNDING cap_bps=75


def test_restored_solvency_in_grace_window_stands_the_router_down():
    w = World(accounts={TAKER: 45_000_000, MAKER_A: 10**13, MAKER_B: 10**13})
    w.place(MAKER_A, BTC_A, BTC, SELL, 10, book_px(59900))
    w.reserve(TAKER, 1, BTC, BUY, 10, book_px(60000))
    w.next_epoch()
    w.commit(TAKER, 1, BTC, BUY, 10, book_px(60000))
    _drop_btc(w)
    liq = tx_pb2.Liquidate(user=TAKER)
    w.apply(MAKER_B, liquidate=liq)                       # grace opens
    w.deposit(TAKER, 100_000_000)                         # the owner tops up (L1)
    assert w.apply(MAKER_B, liquidate=liq) == []          # stands down, clears the window
    try:
        w.apply(MAKER_B, liquidate=liq)
        raise AssertionError("a healthy account is not liquidatable")
    except Rejected as r:
        assert r.code == E.NOT_LIQUIDATABLE
    assert w.router._exposures(TAKER) == {(BTC_A, BTC): 10}


def _drop_btc(w: World, moves: int = 2) -> int:
    """``moves`` bounded oracle moves of -3 % each (MAX_MOVE allows them); the last price."""
    px = w.router._instr_state(BTC).price_e6
    for _ in range(moves):
        px = px * 9_700 // 10_000 // 100_000 * 100_000
        w.advance(1)
        w.oracle(BTC, px)
    return px


def _underwater_taker(before_drop=None) -> World:
    """TAKER long 10 BTC across both books (``before_drop(w)`` may add more), then two -3 %
    oracle moves: below MM."""
    w = World(accounts={TAKER: 45_000_000, MAKER_A: 10**13, MAKER_B: 10**13})
    w.place(MAKER_A, BTC_A, BTC, SELL, 5, book_px(59900))
    w.place(MAKER_B, BTC_B, BTC, SELL, 5, book_px(59950))
    w.reserve(TAKER, 1, BTC, BUY, 10, book_px(60000))
    w.next_epoch()
    w.commit(TAKER, 1, BTC, BUY, 10, book_px(60000))
    if before_drop is not None:
        before_drop(w)
    _drop_btc(w)
    equity, _im, mm = w.router.margin(TAKER)
    assert equity < mm
    return w


def test_liquidation_with_no_depth_and_nothing_to_cancel_is_refused_and_keeps_the_window():
    """A sweep that would close nothing is a rejection (nothing changes, the grace window
    stays open), not a silent success that restarts the grace window on the next call."""
    w = _underwater_taker()
    liq = tx_pb2.Liquidate(user=TAKER)
    assert w.apply(MAKER_B, liquidate=liq) == []          # grace opens
    w.advance(5_000)
    snap = w.snapshot()
    try:
        w.apply(MAKER_B, liquidate=liq)
        raise AssertionError("no bids inside the band: nothing can be closed")
    except Rejected as r:
        assert r.code == E.LIQUIDATION_NO_DEPTH
    assert w.snapshot() == snap
    px = w.router._instr_state(BTC).price_e6
    w.place(MAKER_A, BTC_A, BTC, BUY, 4, px - 5 * 100_000)   # depth returns
    events = w.apply(MAKER_B, liquidate=liq)                  # no second grace window
    assert sum(e.fill.qty_lots for e in events if e.HasField("fill")) == 4
    assert w.conserved()


def test_liquidation_cancels_the_accounts_orders_and_routes_before_sweeping():
    """Past the grace window the account's resting orders and open routes go first, so
    nothing it left behind can fill while it is swept (EXCHANGE §2 flow 5)."""
    def leave_orders_and_a_route(w: World) -> None:
        w.place(MAKER_A, BTC_A, BTC, SELL, 3, book_px(60500))
        w.reserve(TAKER, 7, BTC, BUY, 1, book_px(60600), ttl=100_000, slabs=(BTC_A,))
        w.place(TAKER, BTC_B, BTC, SELL, 1, book_px(61000))     # a resting ask of the account

    w = _underwater_taker(leave_orders_and_a_route)
    n = w.router.user_no(TAKER)
    assert w.router.slabs[BTC_B].open_orders(n)
    px = w.router._instr_state(BTC).price_e6
    liq = tx_pb2.Liquidate(user=TAKER)
    assert w.apply(MAKER_B, liquidate=liq) == []                 # grace opens
    w.place(MAKER_A, BTC_A, BTC, BUY, 5, px - 5 * 100_000)
    w.place(MAKER_B, BTC_B, BTC, BUY, 5, px - 5 * 100_000)
    w.advance(5_000)
    events = w.apply(MAKER_B, liquidate=liq)
    assert all(not w.router.slabs[s].open_orders(n) for s in (BTC_A, BTC_B))
    assert w.router.hold_view(TAKER, 7)[0].status == 3            # released (cancelled)
    cancelled = [e.order_update for e in events if e.HasField("order_update")]
    assert [u.slab_id for u in cancelled] == [BTC_B] and all(u.state == 4 for u in cancelled)
    assert sum(e.fill.qty_lots for e in events if e.HasField("fill")) == 10
    assert not any(w.router._exposures(TAKER).values())
    assert w.conserved()
