"""Portfolio margin (EXCHANGE §2 Portfolio; plan RM4, RM5; seed 000 §5.3).

IM and MM are computed on the **net exposure per instrument** across slabs, never netting one
instrument against another:

    IM_i   = min( bps(notional(|Σ_s q_s|, mark_i), max_s imr_s),  Σ_s bps(notional(|q_s|, mark_i), imr_s) )
    IM     = Σ_i IM_i  −  cross-instrument offsets (only with PORTFOLIO_MARGIN model="cross_alpha")

The ``min`` makes ``IM_router ≤ Σ IM_slab`` hold by construction (RM4) even when slabs have
different ``imr_bps``; the first term makes a perfect cross-slab hedge (net 0) need no margin
(RM5) and a partial offset need exactly the margin of its net on one venue.  Every notional and
bps product rounds up (a requirement is a debit-like quantity, EXCHANGE §1).

``cross_alpha`` (an explicit, configured extension): for each configured pair ``(a, b,
offset_bps)`` whose net exposures have opposite signs, ``floor(min(IM_a, IM_b) × offset_bps /
10 000)`` is released.
"""
from __future__ import annotations

from dataclasses import dataclass

from executor.units import bps_of, notional

__all__ = ["InstrumentRisk", "portfolio_requirement"]


@dataclass(frozen=True)
class InstrumentRisk:
    """What margin needs to know about one instrument."""

    contract_size: int
    mark_px_e6: int


def portfolio_requirement(exposures: dict[tuple[int, int], int], risk: dict[int, InstrumentRisk],
                          slab_bps: dict[int, int], correlations: tuple = ()) -> tuple[int, int]:
    """(router requirement, Σ per-slab requirement) for ``exposures`` = {(slab, instrument):
    qty}; ``slab_bps`` = {slab: imr_bps or mmr_bps}; ``correlations`` = ((a, b, offset_bps),)
    over instrument ids (empty unless the cross_alpha model is configured)."""
    per_instr: dict[int, list[tuple[int, int]]] = {}
    for (slab, instr), q in sorted(exposures.items()):
        if q:
            per_instr.setdefault(instr, []).append((slab, q))
    total = total_slab = 0
    req: dict[int, int] = {}
    net_of: dict[int, int] = {}
    for instr in sorted(per_instr):
        legs = per_instr[instr]
        r = risk[instr]
        sum_slab = sum(bps_of(notional(abs(q), r.mark_px_e6, r.contract_size, round_up=True),
                              slab_bps[s], round_up=True) for s, q in legs)
        net = sum(q for _s, q in legs)
        worst_bps = max(slab_bps[s] for s, _q in legs)
        net_req = bps_of(notional(abs(net), r.mark_px_e6, r.contract_size, round_up=True),
                         worst_bps, round_up=True)
        req[instr] = min(net_req, sum_slab)
        net_of[instr] = net
        total += req[instr]
        total_slab += sum_slab
    for a, b, offset_bps in correlations:
        if a in req and b in req and net_of[a] * net_of[b] < 0:
            total -= bps_of(min(req[a], req[b]), offset_bps, round_up=False)
    return max(total, 0), total_slab
