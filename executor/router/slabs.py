"""Slab program configurations from the compiled CurveScript ``Config`` (DESIGN §6).

The router numbers slabs by their 1-based index in ``config.slabs`` (sorted by id) and
instruments by their 1-based index in ``config.instruments``; a slab's local instrument index
is its position in ``SlabConfig.instruments``.  ``slab_program_config`` builds the book slab's
``executor.slab.config.SlabConfig`` or the AMM's ``AmmSlabConfig`` with exactly that
numbering and the same fields as the block executor's ``executor/slabs.py`` (fee caps: the
tighter of the slab's and the router's, ADV3), so tests and nodes build identical slabs.  The oracle's
``STALENESS max_age_ms`` is the slabs' staleness bound, the same one the router uses.
"""
from __future__ import annotations

from executor.amm.config import AmmSlabConfig
from executor.curvescript.config import Config
from executor.slab.config import Capacities, InstrumentConfig, SlabConfig

__all__ = ["slab_program_config", "build_slabs"]


def slab_program_config(config: Config, slab_number: int):
    """The program configuration of slab ``slab_number`` (1-based)."""
    s = config.slabs[slab_number - 1]
    if s.kind == "amm":
        return AmmSlabConfig.from_curvescript(config, s.slab_id, slab_number=slab_number)
    oracle = config.oracle(s.oracle)
    instruments = []
    for sym in s.instruments:
        i = config.instrument(sym)
        instruments.append(InstrumentConfig(
            sym, tick_e6=i.tick_e6, lot=i.lot_size, min_size=i.min_size,
            contract_size=i.contract_size, band_bps=i.price_band_bps,
            oracle_heartbeat_ms=oracle.max_age_ms, funding_interval_ms=i.funding_interval_ms))
    p = s.pools
    return SlabConfig(
        slab_id=slab_number, instruments=tuple(instruments),
        capacities=Capacities(accounts=p.accounts, orders=p.orders, positions=p.positions,
                              reservations=p.reservations, slices=p.slices, trades=p.trades),
        maker_fee_bps=s.fee.maker_bps, taker_fee_bps=s.fee.taker_bps,
        imr_bps=s.risk.imr_bps, mmr_bps=s.risk.mmr_bps,
        kill_band_bps=s.anti_toxicity.kill_band_bps, jit_penalty=s.anti_toxicity.jit_penalty,
        arg_tax_bps=s.anti_toxicity.arg_tax_bps, freeze_ms=s.anti_toxicity.freeze_ms,
        freeze_top_k=s.anti_toxicity.top_k, reservation_batch_ms=s.batch_ms,
        fee_cap_maker_bps=min(s.fee_cap.maker_bps, config.router.fee_cap.maker_bps),
        fee_cap_taker_bps=min(s.fee_cap.taker_bps, config.router.fee_cap.taker_bps))


def build_slabs(config: Config) -> dict[int, object]:
    """Fresh slab programs for every configured slab, keyed by slab number."""
    from executor.amm.program import AmmSlab
    from executor.slab.program import Slab

    out = {}
    for n in range(1, len(config.slabs) + 1):
        cfg = slab_program_config(config, n)
        out[n] = AmmSlab(cfg) if isinstance(cfg, AmmSlabConfig) else Slab(cfg)
    return out
