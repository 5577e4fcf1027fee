"""EXCHANGE §4 invariants as properties over random multi-user, multi-slab sequences.

After every transaction (accepted or rejected) and every epoch boundary:
- conservation: Σ vaults + Σ escrows + Σ slab cash + insurance + fee pool = deposits − withdrawals;
- every cap: ``remaining ≤ amount_max``; a burned cap has nothing left;
- the slab's collateral view is exactly the escrow, its cash 0, for every (user, slab) (P4);
- the router's portfolio equals the slabs' positions, and positions net to zero per slab and
  instrument (so funding, a per-position index difference, nets to zero: RM7);
- ``IM_router ≤ Σ IM_slab`` for every user (RM4);
- a commit changes escrows only of its taker on its legs' slabs and of its makers (isolation).
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from executor.router.debit import safe_debit
from executor.router.records import T_CAP, T_HOLD, Cap, Escrow
from executor.errors import ErrorCode as E, ExecutorError
from proto.assetl2.v1 import tx_pb2
from router_support import (AMM_ETH, BTC, BTC_A, BTC_B, BTC_PX, BUY, ETH, ETH_A, ETH_PX, FEEDER_KEY, LP,
                            MAKER_A, MAKER_B, SELL, TAKER, TAKER2, World)

USERS = (MAKER_A, MAKER_B, TAKER, TAKER2, LP)
BOOKS = {BTC: (BTC_A, BTC_B), ETH: (BTC_B, ETH_A)}
TICK = {BTC: 100_000, ETH: 10_000}
PX = {BTC: BTC_PX, ETH: ETH_PX}

op = st.tuples(
    st.sampled_from(["place", "place", "place", "reserve", "reserve", "commit", "commit",
                     "commit", "cancel", "advance", "oracle", "withdraw", "deposit", "funding", "amm_add",
                     "amm_remove", "liquidate"]),
    st.integers(0, 4),          # user
    st.sampled_from([BTC, ETH]),
    st.sampled_from([BUY, SELL]),
    st.integers(1, 12),         # qty
    st.integers(-30, 30),       # price offset in ticks (x 10)
    st.integers(0, 7),          # pick
)


def check_invariants(w: World) -> None:
    r = w.router
    total, expected = r.conservation()
    assert total == expected
    users = r.users()
    for u in users:
        n = r.user_no(u)
        for sid in w.router.slab_ids:
            acct = w.slabs[sid].account(n)
            if acct:
                esc = r._escrow(u, sid).balance_atoms
                assert (acct["collateral_atoms"], acct["cash_atoms"]) == (esc, 0)
        ex = r._exposures(u)
        for (sid, iid), q in ex.items():
            assert w.slabs[sid].position(n, r.local[(sid, iid)])["qty_lots"] == q
        im, _mm, im_slab, _mm_slab = r._requirements(ex)
        assert im <= im_slab
    for sid in r.slab_ids:
        for iid in (BTC, ETH):
            if (sid, iid) not in r.local:
                continue
            j = r.local[(sid, iid)]
            total_q = sum(w.slabs[sid].position(r.user_no(u), j)["qty_lots"] for u in users)
            if w.router._is_amm(sid):
                total_q += w.slabs[sid].position(0, j)["qty_lots"]
            assert total_q == 0


def caps_ok(w: World, routes) -> None:
    for signer, route_id in routes:
        h = w.state.get(T_HOLD, signer, route_id)
        if h is None:
            continue
        for leg in h.legs:
            cap = w.state.get(T_CAP, h.hold_id, leg.slab)
            assert 0 <= cap.remaining <= cap.amount_max
            if cap.burned:
                assert cap.remaining == 0


def escrows(w: World) -> dict:
    return {(u, s): w.router._escrow(u, s).balance_atoms for u in w.router.users()
            for s in w.router.slab_ids}


def run_op(w: World, o, routes: list) -> None:
    kind, ui, iid, side, qty, off, pick = o
    who = USERS[ui]
    px = PX[iid] + off * 10 * TICK[iid]
    if kind == "place":
        slab = BOOKS[iid][pick % 2]
        w.try_apply(who, place_order=tx_pb2.PlaceOrder(
            slab_id=slab, instrument_id=iid, side=side, qty_lots=qty, price_e6=px,
            time_in_force=1, maker_class=2 if pick % 3 else 1))
    elif kind == "reserve":
        route_id = len(routes) + 1
        limit = PX[iid] + (40 if side == BUY else -40) * 10 * TICK[iid] + off * TICK[iid]
        slabs = () if pick < 5 else (BOOKS[iid][pick % 2],)
        code, _ = w.try_apply(who, reserve=_reserve_msg(route_id, iid, side, qty, limit, slabs))
        if code == 0:
            routes.append((who, route_id, iid, side, qty, limit))
    elif kind == "commit" and routes:
        signer, route_id, riid, rside, rqty, rlimit = routes[pick % len(routes)]
        before = escrows(w)
        h = w.state.get(T_HOLD, signer, route_id)
        code, events = w.try_apply(signer, commit=tx_pb2.Commit(route_id=route_id, reveal=tx_pb2.Reveal(
            salt=b"s" * 16, instrument_id=riid, side=rside, qty_lots=rqty, limit_price_e6=rlimit)))
        after = escrows(w)
        if code == 0:
            allowed = {(signer, leg.slab) for leg in h.legs}
            allowed |= {(e.fill.maker, e.fill.slab_id) for e in events}
            changed = {k for k in after if after[k] != before.get(k, 0)}
            assert changed <= allowed
        else:
            assert after == before
    elif kind == "cancel" and routes:
        signer, route_id, *_ = routes[pick % len(routes)]
        w.try_apply(signer, cancel_hold=tx_pb2.CancelHold(route_id=route_id))
    elif kind == "advance":
        w.advance(qty * 17)
    elif kind == "oracle":
        w.advance(1)
        w.try_apply(FEEDER_KEY, oracle_update=tx_pb2.OracleUpdate(
            oracle_id=1, instrument_id=iid, price_e6=PX[iid] + off * TICK[iid] * 5,
            publish_time_ms=w.now))
    elif kind == "withdraw":
        w.try_apply(who, withdraw=tx_pb2.Withdraw(asset_id=0, amount_atoms=qty * 10**(pick + 3),
                                                  l1_recipient=b"\x01" * 32))
    elif kind == "deposit":
        w.try_apply(who, deposit=tx_pb2.Deposit(user=who, asset_id=0, amount_atoms=qty * 10**pick,
                                                source=2))
    elif kind == "funding":
        w.advance(3_600_000 if pick == 7 else 1)
        w.try_apply(who, funding_crank=tx_pb2.FundingCrank(instrument_id=iid))
    elif kind == "amm_add":
        w.try_apply(who, amm_add_liquidity=tx_pb2.AmmAddLiquidity(
            slab_id=AMM_ETH, instrument_id=ETH, quote_atoms=qty * 10**(pick + 4)))
    elif kind == "amm_remove":
        n = w.router.user_no(who)
        held = w.slabs[AMM_ETH].account(n).get("lp_shares", 0) if n else 0
        w.try_apply(who, amm_remove_liquidity=tx_pb2.AmmRemoveLiquidity(
            slab_id=AMM_ETH, instrument_id=ETH, shares=max(1, held * (pick + 1) // 8)))
    elif kind == "liquidate":
        w.try_apply(who, liquidate=tx_pb2.Liquidate(user=USERS[pick % 5]))


def _reserve_msg(route_id, iid, side, qty, limit, slabs):
    from executor.commitment import commitment
    return tx_pb2.Reserve(route_id=route_id, instrument_id=iid, side=side, qty_lots=qty,
                          limit_price_e6=limit, ttl_ms=1_000,
                          commitment=commitment(route_id, iid, side, qty, limit, b"s" * 16),
                          slab_ids=list(slabs))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=5, max_size=60))
def test_router_invariants_hold_over_random_sequences(ops):
    w = World(accounts={MAKER_A: 10**12, MAKER_B: 10**12, TAKER: 5 * 10**9, TAKER2: 10**11,
                        LP: 10**12})
    routes: list = []
    for o in ops:
        run_op(w, o, routes)
        check_invariants(w)
        caps_ok(w, [(r[0], r[1]) for r in routes])
        if o[0] in ("reserve", "commit") and o[6] == 3:
            w.next_epoch()
            check_invariants(w)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6),
       st.integers(0, 2_000), st.integers(0, 2_000), st.booleans(), st.booleans())
def test_safe_debit_never_exceeds_min_of_cap_and_escrow(remaining, balance, amount, expiry, now,
                                                        burned, wrong_scope):
    user = b"\x01" * 32
    cap = Cap(user=user, slab=2, asset=0, amount_max=remaining, remaining=remaining,
              expiry_ms=expiry, nonce=1, burned=burned)
    esc = Escrow(balance, 5)
    try:
        cap2, esc2 = safe_debit(cap, esc, user=user, slab=3 if wrong_scope else 2, asset=0,
                                amount=amount, now_ms=now)
    except ExecutorError as exc:
        expected = (E.CAP_SCOPE_MISMATCH if wrong_scope else E.CAP_BURNED if burned
                    else E.CAP_EXPIRED if now > expiry else E.CAP_EXCEEDED)
        assert exc.code == expected
        return
    assert not wrong_scope and not burned and now <= expiry
    assert amount <= min(remaining, balance)
    assert esc.balance_atoms - esc2.balance_atoms == amount == cap.remaining - cap2.remaining
    assert esc2.nonce == esc.nonce + (1 if amount else 0)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 10), st.integers(0, 8), st.lists(st.integers(100, 300), min_size=2,
                                                        max_size=6),
       st.integers(35_000_000, 120_000_000))
def test_liquidation_fills_stay_inside_the_band_and_conserve(long_a, short_b, moves_bps, vault):
    """Adverse oracle moves against a (partly hedged) position, then a keeper liquidates:
    every sweep fill is inside the band around the mark (L3) and the invariants hold."""
    w = World(accounts={TAKER: vault, MAKER_A: 10**13, MAKER_B: 10**13})
    w.place(MAKER_A, BTC_A, BTC, SELL, long_a, BTC_PX)
    w.reserve(TAKER, 1, BTC, BUY, long_a, BTC_PX, slabs=(BTC_A,))
    if short_b:
        w.place(MAKER_B, BTC_B, BTC, BUY, short_b, BTC_PX)
        short_b *= w.try_apply(TAKER, reserve=_reserve_msg(2, BTC, SELL, short_b, BTC_PX,
                                                           (BTC_B,)))[0] == 0
    w.next_epoch()
    w.commit(TAKER, 1, BTC, BUY, long_a, BTC_PX)
    if short_b:
        w.commit(TAKER, 2, BTC, SELL, short_b, BTC_PX)
    px = BTC_PX
    sign = -1 if long_a >= short_b else 1
    for m in moves_bps:
        nxt = px * (10_000 + sign * m) // 10_000 // TICK[BTC] * TICK[BTC]
        if sign < 0:
            nxt += TICK[BTC]          # round toward the last price: stay within MAX_MOVE
        w.advance(1)
        if w.try_apply(FEEDER_KEY, oracle_update=tx_pb2.OracleUpdate(
                oracle_id=1, instrument_id=BTC, price_e6=nxt, publish_time_ms=w.now))[0] == 0:
            px = nxt
    lo, hi = w.router.band_limits(BTC, w.cfg.router.liquidation.band_bps)
    for slab in (BTC_A, BTC_B):                       # depth on both sides, some outside the band
        for side, price in ((BUY, lo), (SELL, hi)):
            w.try_apply(MAKER_A if slab == BTC_A else MAKER_B, place_order=tx_pb2.PlaceOrder(
                slab_id=slab, instrument_id=BTC, side=side, qty_lots=6, price_e6=price,
                time_in_force=1, maker_class=2))
    liq = tx_pb2.Liquidate(user=TAKER)
    code, _ = w.try_apply(MAKER_B, liquidate=liq)
    w.advance(5_000)
    code2, events = w.try_apply(MAKER_B, liquidate=liq)
    for e in events:
        assert lo <= e.fill.price_e6 <= hi
    if code == 0 and code2 == 0 and events:
        assert abs(sum(w.router._exposures(TAKER).values())) <= abs(long_a - short_b)
    LIQ_OUTCOMES.add((code, code2, bool(events)))
    check_invariants(w)


LIQ_OUTCOMES: set = set()
