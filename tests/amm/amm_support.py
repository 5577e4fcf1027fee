"""Builders shared by AMM slab tests (imported as ``amm_support``)."""
from __future__ import annotations

import dataclasses

from executor.amm.config import AmmCapacities, AmmSlabConfig
from executor.amm.program import BUY, POOL_USER, SELL, AmmSlab
from executor.slab.config import InstrumentConfig

__all__ = ["PX", "TICK", "CS", "X0", "Y0", "T0", "RICH", "TRADERS", "LP", "LP2", "USERS", "BUY",
           "SELL", "POOL_USER", "make_config", "make_slab", "arena", "random_op", "apply_op"]

CS = 10_000                 # 0.01 base unit per lot
PX = 3_000_000_000          # 3 000 quote units per base unit
TICK = 10_000
X0 = 100_000                # lots
Y0 = 3_000_000_000_000      # atoms: X0 lots * 0.01 * 3 000 USDC = 3 000 000 USDC
T0 = 1_000
RICH = 10**13
TRADERS = (1, 2, 3)
LP, LP2 = 11, 12


def make_config(**overrides) -> AmmSlabConfig:
    ins_over = {k[4:]: overrides.pop(k) for k in list(overrides) if k.startswith("ins_")}
    ins = InstrumentConfig("ETH-PERP", tick_e6=TICK, lot=1, min_size=1, contract_size=CS,
                           band_bps=1_000, oracle_heartbeat_ms=5_000, funding_interval_ms=60_000)
    base = AmmSlabConfig(
        slab_id=9, instruments=(dataclasses.replace(ins, **ins_over),),
        base_reserve_lots=X0, quote_reserve_atoms=Y0,
        capacities=AmmCapacities(accounts=16, positions=16, reservations=8, trades=16),
        swap_fee_bps=10, imr_bps=1_000, mmr_bps=500, kill_band_bps=100, arg_tax_bps=10,
        reservation_batch_ms=50)
    return dataclasses.replace(base, **overrides)


def make_slab(*, collateral=RICH, **overrides) -> AmmSlab:
    """A pool with three funded traders and a fresh oracle at ``PX`` (time ``T0``)."""
    slab = AmmSlab(make_config(**overrides))
    for user in TRADERS:
        assert slab.set_collateral(user, collateral, now_ms=T0).ok
    assert slab.update_oracle(0, PX, now_ms=T0).ok
    return slab


def arena(slab: AmmSlab) -> bytes:
    return bytes(slab.arena_bytes())


USERS = TRADERS + (LP, LP2)
KINDS = ("reserve", "reserve", "reserve", "commit", "commit", "release", "add", "remove",
         "batch_open", "oracle", "funding", "quote")


def random_op(rng, step: int) -> tuple:
    """One random AMM operation (valid most of the time, sometimes deliberately bad)."""
    return (rng.choice(KINDS), rng.choice(USERS), rng.randrange(2),
            rng.choice((1, 5, 40, 300, 2_500, 0)), rng.randint(-40, 40),
            rng.randrange(1 << 20), step)


def apply_op(slab, op, ids: dict):
    """Run ``op`` on ``slab``; ``ids`` collects hold ids for later picks."""
    kind, user, side, qty, bps, pick, step = op
    now = T0 + 10 + step * 7
    holds = ids.setdefault("holds", [1 << 24])
    limit = max(TICK, (PX + PX * bps // 1_000) // TICK * TICK) + (1 if pick % 97 == 0 else 0)
    if kind == "reserve":
        r = slab.reserve(user, 0, side, qty, limit, now_ms=now, ttl_ms=20 + pick % 300)
        if r.ok:
            holds.append(r.hold_id)
    elif kind == "commit":
        r = slab.commit(holds[-1 - pick % min(4, len(holds))], now_ms=now)
    elif kind == "release":
        r = slab.release(holds[-1 - pick % min(4, len(holds))], now_ms=now)
    elif kind == "add":
        r = slab.add_liquidity(user, qty * 1_000_000 * (1 + pick % 50), min_shares=pick % 3,
                               now_ms=now)
    elif kind == "remove":
        shares = slab.account(user).get("lp_shares", 0)
        r = slab.remove_liquidity(user, max(shares * (1 + pick % 4) // 4, 1 if pick % 5 else 0),
                                  now_ms=now)
    elif kind == "batch_open":
        r = slab.batch_open(now_ms=now)
    elif kind == "oracle":
        r = slab.update_oracle(0, PX + (pick % 21 - 10) * PX // 400 // TICK * TICK, now_ms=now)
    elif kind == "funding":
        r = slab.apply_funding(0, pick % 201 - 100, now_ms=now)
    else:
        r = slab.quote(0, side, qty, limit, now_ms=now)
    return r
