"""Differential test: the AMM slab against the exact-rational reference pool (tests/amm/
reference.py) on random reserve / commit / release / add / remove / batch_open streams."""
from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import reference as ref
from amm_support import CS, LP, LP2, PX, T0, TICK, X0, Y0, make_slab
from executor.errors import ErrorCode as E

USDC = 1_000_000
_LP_CODES = {"insolvent": E.AMM_POOL_INSOLVENT, "zero": E.AMM_ZERO_SHARES,
             "min_out": E.AMM_MIN_OUT, "shares": E.AMM_INSUFFICIENT_SHARES,
             "cash_short": E.AMM_POOL_CASH_SHORT, "locked": E.AMM_LIQUIDITY_LOCKED}

_reserve = st.tuples(st.just("reserve"), st.sampled_from((1, 2, 3)), st.integers(0, 1),
                     st.integers(1, 400), st.integers(-30, 300), st.integers(1, 120))
_commit = st.tuples(st.just("commit"), st.integers(0, 7))
_op = st.one_of(
    _reserve, _reserve, _reserve, _commit, _commit, _commit,
    st.tuples(st.just("release"), st.integers(0, 7)),
    st.tuples(st.just("add"), st.sampled_from((LP, LP2)), st.integers(1, 10**6),
              st.integers(0, 2)),
    st.tuples(st.just("remove"), st.sampled_from((LP, LP2)), st.integers(1, 4),
              st.integers(0, 2)),
    st.tuples(st.just("batch_open")),
    st.tuples(st.just("wait"), st.integers(1, 200)),
)


def _check_state(slab, pool: ref.RefPool) -> None:
    s = slab.pool()
    assert (s.base_reserve_lots, s.quote_reserve_atoms) == (pool.x, pool.y)
    assert (s.pending_buy_lots, s.pending_sell_lots) == (pool.pending(ref.BUY), pool.pending(ref.SELL))
    assert s.total_shares == pool.shares and s.balance_atoms == pool.balance
    assert s.value_atoms == pool.nav() - pool.genesis
    assert s.position_lots == pool.pool_qty
    assert {h["hold_id"]: (h["qty_lots"], h["price_e6"]) for h in slab.open_holds()} == {
        i: (h.qty, h.px) for i, h in pool.holds.items()}
    for u in (LP, LP2):
        assert slab.account(u).get("lp_shares", 0) == pool.lp.get(u, 0)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_op, min_size=10, max_size=60))
def test_slab_matches_the_reference_pool_on_random_streams(ops):
    slab = make_slab(arg_tax_bps=10, swap_fee_bps=30)
    cfg = slab.config.instrument
    pool = ref.RefPool(x=X0, y=Y0, genesis=Y0, lot=cfg.lot, min_size=cfg.min_size, tick=TICK,
                       cs=CS, band_bps=cfg.band_bps, fee_bps=30, oracle=PX)
    now = T0 + 1
    issued: list[int] = []
    for op in ops:
        kind = op[0]
        if kind == "wait":
            now += op[1]
            # keep the oracle fresh at the same price: no kill band, no funding in this stream
            assert slab.update_oracle(0, PX, now_ms=now).ok
        elif kind == "reserve":
            _k, user, side, qty, per_10k, ttl = op
            limit = (PX + (1 if side == ref.BUY else -1) * PX * per_10k // 10_000) // TICK * TICK
            r = slab.reserve(user, 0, side, qty, limit, now_ms=now, ttl_ms=ttl)
            p = pool.plan(side, qty, limit)
            if p is None:
                assert r.code == E.NO_LIQUIDITY
            elif r.code == E.POOL_FULL_RESERVATIONS:
                assert len(pool.holds) == slab.layout.reservations
            else:
                assert r.ok and (r.held_qty, r.vwap_px_e6) == p
                pool.reserve(r.hold_id, user, side, qty, limit, now + ttl)
                issued.append(r.hold_id)
        elif kind in ("commit", "release"):
            if not issued:
                continue
            hid = issued[-1 - op[1] % len(issued)]
            if kind == "release":
                r = slab.release(hid, now_ms=now)
                assert r.ok and r.noop == (hid not in pool.holds)
                pool.release(hid)
                _check_state(slab, pool)
                continue
            r = slab.commit(hid, now_ms=now)
            if hid not in pool.holds:
                assert r.code == E.RESERVATION_CLOSED
            elif now > pool.holds[hid].expiry:
                assert r.code == E.RESERVATION_EXPIRED
            else:
                h = pool.commit(hid)
                assert r.ok, r.code
                assert (r.filled_qty, r.fills[0].price_e6) == (h.qty, h.px)
        elif kind == "add":
            _k, user, units, min_kind = op
            amount = units * USDC // 10
            min_shares = (0, amount * 9 // 10, amount * 2)[min_kind]
            r = slab.add_liquidity(user, amount, min_shares=min_shares, now_ms=now)
            out = pool.add(user, amount, min_shares)
            if isinstance(out, str):
                assert r.code == _LP_CODES[out]
            else:
                assert r.ok and r.shares == out
        elif kind == "remove":
            _k, user, quarter, min_kind = op
            held = pool.lp.get(user, 0)
            shares = max(held * quarter // 4, 1)
            min_out = (0, shares // 2, shares * 2)[min_kind]
            r = slab.remove_liquidity(user, shares, min_amount_atoms=min_out, now_ms=now)
            if user not in pool.lp:
                assert r.code == E.UNKNOWN_ACCOUNT
            else:
                out = pool.remove(user, shares, min_out)
                if isinstance(out, str):
                    assert r.code == _LP_CODES[out]
                else:
                    assert r.ok and r.amount_atoms == out
        else:
            r = slab.batch_open(now_ms=now)
            gone = sorted(i for i, h in pool.holds.items() if now > h.expiry)
            assert r.ok and list(r.expired_hold_ids) == gone
            for i in gone:
                pool.release(i)
        if kind != "wait":
            event(f"{kind}: {r.code.name}")
        _check_state(slab, pool)
