"""Builders shared by slab tests (imported as ``slab_support``)."""
from __future__ import annotations

import dataclasses

from executor.slab.config import Capacities, InstrumentConfig, SlabConfig
from executor.slab.program import DLP, REG, Slab

PX = 100_000_000          # 100 quote units per base unit
TICK = 10_000             # 0.01
MAKER, MAKER2, TAKER, TAKER2, REG_MAKER = 1, 2, 3, 4, 5
RICH = 10**13             # collateral that never binds
T0 = 1_000


def make_config(**overrides) -> SlabConfig:
    base = SlabConfig(
        slab_id=7,
        instruments=(
            InstrumentConfig("SOL-PERP", tick_e6=TICK, lot=1, min_size=1, contract_size=1_000_000,
                             band_bps=1_000, oracle_heartbeat_ms=5_000,
                             funding_interval_ms=60_000),
            InstrumentConfig("BTC-PERP", tick_e6=TICK, lot=2, min_size=4, contract_size=10_000,
                             band_bps=500, oracle_heartbeat_ms=5_000, funding_interval_ms=60_000),
        ),
        capacities=Capacities(accounts=16, orders=64, positions=32, reservations=8, slices=64,
                              trades=128),
        maker_fee_bps=2, taker_fee_bps=5, imr_bps=500, mmr_bps=350, kill_band_bps=75,
        jit_penalty=True, arg_tax_bps=10, freeze_ms=0, freeze_top_k=0,
        reservation_batch_ms=50,
    )
    return dataclasses.replace(base, **overrides)


def make_slab(*, collateral=RICH, **overrides) -> Slab:
    """A slab with two DLP makers, two takers, one REG maker, fresh oracles at ``PX``."""
    slab = Slab(make_config(**overrides))
    for user in (MAKER, MAKER2):
        assert slab.set_collateral(user, collateral, maker_class=DLP, now_ms=T0).ok
    for user in (TAKER, TAKER2):
        assert slab.set_collateral(user, collateral, maker_class=DLP, now_ms=T0).ok
    assert slab.set_collateral(REG_MAKER, collateral, maker_class=REG, now_ms=T0).ok
    for instr in (0, 1):
        assert slab.update_oracle(instr, PX, now_ms=T0).ok
    return slab


def arena(slab: Slab) -> bytes:
    return bytes(slab.arena_bytes())


USERS = (MAKER, MAKER2, TAKER, TAKER2, REG_MAKER)


def random_op(rng, step: int) -> tuple:
    """One random slab operation (valid most of the time, sometimes deliberately bad)."""
    kind = rng.choice(("place", "place", "place", "place", "cancel", "modify", "reserve",
                       "commit", "release", "batch_open", "oracle", "funding"))
    return (kind, rng.choice(USERS), rng.randrange(2), rng.randrange(2),
            PX + rng.randint(-6, 6) * TICK + (1 if rng.random() < 0.03 else 0),
            rng.choice((1, 2, 3, 4, 6, 8, 0)), rng.randrange(4), rng.randrange(1 << 20), step)


def apply_op(slab, op, ids: dict) -> object:
    """Run ``op`` on ``slab``; ``ids`` collects order and hold ids for later picks."""
    kind, user, instr, side, px, qty, tif, pick, step = op
    now = T0 + 10 + step * 7
    orders, holds = ids.setdefault("orders", [1 << 24]), ids.setdefault("holds", [1 << 24])
    if kind == "place":
        r = slab.place_order(user, instr, side, px, qty * (2 if instr else 1), tif=tif,
                             now_ms=now)
        if r.ok:
            orders.append(r.order_id)
    elif kind == "cancel":
        oid = orders[-1 - pick % min(8, len(orders))]
        o = slab.order(oid)
        r = slab.cancel_order(o[1] if o and pick % 5 else user, oid, now_ms=now)
    elif kind == "modify":
        oid = orders[-1 - pick % min(8, len(orders))]
        o = slab.order(oid)
        r = slab.modify_order(o[1] if o else user, oid, px, max(qty, 1) * (2 if instr else 1),
                              now_ms=now)
    elif kind == "reserve":
        r = slab.reserve(user, instr, side, max(qty, 1) * 2 * (2 if instr else 1), px,
                         now_ms=now, ttl_ms=20 + pick % 200)
        if r.ok:
            holds.append(r.hold_id)
    elif kind == "commit":
        r = slab.commit(holds[-1 - pick % min(4, len(holds))], now_ms=now)
    elif kind == "release":
        r = slab.release(holds[-1 - pick % min(4, len(holds))], now_ms=now)
    elif kind == "batch_open":
        r = slab.batch_open(now_ms=now)
    elif kind == "oracle":
        r = slab.update_oracle(instr, PX + (pick % 13 - 6) * TICK * 3, now_ms=now)
    else:
        r = slab.apply_funding(instr, pick % 201 - 100, now_ms=now)
    return r
