"""The slabs' router-facing previews agree with the operations they preview and write nothing
(check-then-apply across slabs, EXCHANGE §2 flow 2)."""
from __future__ import annotations

import random

from executor.router.margin import InstrumentRisk, portfolio_requirement
from router_support import (AMM_ETH, BTC, BTC_A, BTC_PX, BUY, ETH, ETH_PX, MAKER_A, MAKER_B,
                            SELL, World, book_px)


def test_quote_and_check_commit_match_reserve_and_commit_on_books():
    w = World()
    rng = random.Random(5)
    for k in range(12):
        w.place(MAKER_A if k % 2 else MAKER_B, BTC_A, BTC, SELL, rng.randint(1, 4),
                book_px(59990 + rng.randint(0, 20)))
    slab, taker = w.slabs[BTC_A], 77
    slab.set_collateral(taker, 10**12, now_ms=w.now)
    for _ in range(6):
        qty, limit = rng.randint(1, 8), book_px(60000 + rng.randint(0, 15))
        before = bytes(slab.arena_bytes())
        q = slab.quote(taker, 0, 0, qty, limit, now_ms=w.now, ttl_ms=500)
        assert bytes(slab.arena_bytes()) == before
        r = slab.reserve(taker, 0, 0, qty, limit, now_ms=w.now, ttl_ms=500)
        assert q.code == r.code
        if not r.ok:
            continue
        assert (q.held_qty, q.vwap_px_e6, q.worst_px_e6, q.max_charge_atoms, q.slices) == \
               (r.held_qty, r.vwap_px_e6, r.worst_px_e6, r.max_charge_atoms, r.slices)
        w.advance(60)
        before = bytes(slab.arena_bytes())
        pre = slab.check_commit(r.hold_id, now_ms=w.now)
        assert bytes(slab.arena_bytes()) == before
        res = slab.commit(r.hold_id, now_ms=w.now)
        assert pre.code == res.code
        assert (pre.fills, pre.cash_deltas, pre.fee_pool_delta_atoms) == \
               (res.fills, res.cash_deltas, res.fee_pool_delta_atoms)


def test_check_commit_matches_commit_on_the_amm():
    w = World()
    slab, taker = w.slabs[AMM_ETH], 77
    slab.set_collateral(taker, 10**12, now_ms=w.now)
    r = slab.reserve(taker, 0, 0, 30, 3_100_000_000, now_ms=w.now, ttl_ms=500)
    assert r.ok
    before = bytes(slab.arena_bytes())
    pre = slab.check_commit(r.hold_id, now_ms=w.now + 1)
    assert bytes(slab.arena_bytes()) == before
    res = slab.commit(r.hold_id, now_ms=w.now + 1)
    assert pre.ok and res.ok
    assert (pre.fills, pre.cash_deltas, pre.fee_pool_delta_atoms) == \
           (res.fills, res.cash_deltas, res.fee_pool_delta_atoms)
    assert slab.check_commit(r.hold_id, now_ms=w.now + 2).code == slab.commit(
        r.hold_id, now_ms=w.now + 2).code            # at most once, both say so


def test_preview_place_agrees_with_place_for_new_and_existing_accounts():
    w = World()
    slab = w.slabs[BTC_A]
    w.place(MAKER_A, BTC_A, BTC, SELL, 5, book_px(59990))
    for user, coll in ((501, 10**12), (502, 1), (501, 1)):
        before = bytes(slab.arena_bytes())
        pre = slab.preview_place(user, 0, 0, book_px(60000), 3, tif=0, now_ms=w.now,
                                 collateral_atoms=coll, maker_class=1)
        assert bytes(slab.arena_bytes()) == before
        assert slab.set_collateral(user, coll, maker_class=1, now_ms=w.now).ok
        res = slab.place_order(user, 0, 0, book_px(60000), 3, tif=0, now_ms=w.now)
        assert pre.code == res.code, (user, coll)


def test_cross_alpha_offsets_opposite_correlated_exposures_only():
    risk = {1: InstrumentRisk(1_000, BTC_PX), 2: InstrumentRisk(10_000, ETH_PX)}
    imr = {2: 500, 3: 500}
    long_btc_short_eth = {(2, 1): 10, (3, 2): -20}
    plain, _ = portfolio_requirement(long_btc_short_eth, risk, imr)
    crossed, _ = portfolio_requirement(long_btc_short_eth, risk, imr, ((1, 2, 5_000),))
    assert crossed == plain - min(30_000_000, 30_000_000) // 2
    same_sign = {(2, 1): 10, (3, 2): 20}
    assert portfolio_requirement(same_sign, risk, imr, ((1, 2, 5_000),)) == \
        portfolio_requirement(same_sign, risk, imr)
    # the devnet config enables it: the router picked the BTC/ETH pair up
    assert World().router.correlations == ((BTC, ETH, 5_000),)


def test_set_collateral_reset_cash_zeroes_only_the_cash():
    w = World()
    w.place(MAKER_A, BTC_A, BTC, SELL, 5, book_px(59990))
    slab = w.slabs[BTC_A]
    slab.set_collateral(88, 10**9, maker_class=1, now_ms=w.now)
    r = slab.place_order(88, 0, 0, book_px(59990), 2, tif=1, now_ms=w.now)
    assert r.ok and slab.account(88)["cash_atoms"] < 0
    pos = slab.position(88, 0)
    assert slab.set_collateral(88, 5, now_ms=w.now, reset_cash=True).ok
    acct = slab.account(88)
    assert (acct["collateral_atoms"], acct["cash_atoms"], acct["maker_class"]) == (5, 0, 1)
    assert slab.position(88, 0) == pos
    amm = w.slabs[AMM_ETH]
    assert amm.set_collateral(88, 7, now_ms=w.now, reset_cash=True).ok
    assert amm.account(88)["cash_atoms"] == 0
    assert not amm.set_collateral(0, 7, now_ms=w.now, reset_cash=True).ok   # never the pool
