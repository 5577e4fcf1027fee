"""Compiled :class:`Config` → canonical CurveScript source.

The inverse of the compiler up to defaults: every statement and argument is written out
explicitly, in schema order, blocks sorted by kind then name.  ``compile(render(c)) == c``
is pinned by a hypothesis test; the rendered text is also what ``assetl2`` tooling shows an
auditor as "the configuration that was fingerprinted".
"""
from __future__ import annotations

from .checker import encode_pubkey
from .config import Config, InstrumentConfig, OracleConfig, RouterConfig, SlabConfig
from .printer import format_program
from .tree import BOOL, IDENT, INT, STR, Arg, Block, Program, Statement, Value


def _v(x: object, kind: str | None = None) -> Value:
    if kind is not None:
        return Value(kind, x)  # type: ignore[arg-type]
    if isinstance(x, bool):
        return Value(BOOL, x)
    if isinstance(x, int):
        return Value(INT, x)
    return Value(STR, x)  # type: ignore[arg-type]


def _st(kw: str, *args: tuple[str, object], positional: tuple[Value, ...] = ()) -> Statement:
    return Statement(kw, positional, tuple(Arg(n, v if isinstance(v, Value) else _v(v)) for n, v in args))


def router_block(r: RouterConfig) -> Block:
    c, pm, liq = r.collateral, r.portfolio_margin, r.liquidation
    sts = [
        _st("COLLATERAL", ("asset", _v(c.asset, IDENT)), ("decimals", c.decimals), ("vault_cap_atoms", c.vault_cap_atoms)),
        _st("PORTFOLIO_MARGIN", ("model", _v(pm.model, IDENT)), ("correl_matrix", pm.correl_matrix)),
    ]
    sts += [_st("CORRELATION", ("a", x.a), ("b", x.b), ("offset_bps", x.offset_bps)) for x in pm.correlations]
    sts += [
        _st("CAP_TTL", ("ms", r.cap_ttl_ms)),
        _st("RESERVATION_BATCH", ("ms", r.batch_ms)),
        _st("LIQUIDATION", ("grace_ms", liq.grace_ms), ("band_bps", liq.band_bps), ("penalty_bps", liq.penalty_bps)),
        _st("FEE_CAP", ("maker_bps", r.fee_cap.maker_bps), ("taker_bps", r.fee_cap.taker_bps)),
    ]
    return Block("ROUTER", None, None, tuple(sts))


def instrument_block(i: InstrumentConfig) -> Block:
    return Block("INSTRUMENT", i.symbol, None, (
        _st("ORACLE", ("ref", i.oracle)),
        _st("CONTRACT", ("size", i.contract_size)),
        _st("TICK", ("price_e6", i.tick_e6)),
        _st("LOT", ("size", i.lot_size), ("min_size", i.min_size)),
        _st("PRICE_BAND", ("bps", i.price_band_bps)),
        _st("FUNDING", ("interval_ms", i.funding_interval_ms), ("cap_bps", i.funding_cap_bps)),
    ))


def oracle_block(o: OracleConfig) -> Block:
    sts = [_st("FEEDER", ("key", encode_pubkey(k))) for k in o.feeders]
    sts += [
        _st("QUORUM", ("min", o.quorum)),
        _st("HEARTBEAT", ("ms", o.heartbeat_ms)),
        _st("STALENESS", ("max_age_ms", o.max_age_ms)),
        _st("MAX_MOVE", ("bps", o.max_move_bps)),
        _st("KILL_BAND_SYNC", ("router_ref", o.kill_band_router_ref)),
    ]
    return Block("ORACLE", o.oracle_id, None, tuple(sts))


def slab_block(s: SlabConfig) -> Block:
    sts = [_st("ORACLE", ("ref", s.oracle))]
    sts += [_st("LIST", ("instrument", sym)) for sym in s.instruments]
    sts.append(_st("RESERVATION_BATCH", ("ms", s.batch_ms)))
    sts += [_st("MAKER_CLASS", ("allowance", m.allowance), positional=(_v(m.name, IDENT),)) for m in s.maker_classes]
    if s.matching is not None:
        m = s.matching
        sts.append(_st("MATCHING", ("fifo", m.fifo), ("pending_promotion", m.pending_promotion), ("stp", _v(m.stp, IDENT))))
    f, fc, r, a, p, g = s.fee, s.fee_cap, s.risk, s.anti_toxicity, s.pools, s.registry
    sts += [
        _st("FEE", ("maker_bps", f.maker_bps), ("taker_bps", f.taker_bps), ("rebate_delay_ms", f.rebate_delay_ms)),
        _st("FEE_CAP", ("maker_bps", fc.maker_bps), ("taker_bps", fc.taker_bps)),
        _st("RISK", ("imr_bps", r.imr_bps), ("mmr_bps", r.mmr_bps)),
        _st("ANTI_TOXICITY", ("kill_band_bps", a.kill_band_bps), ("jit_penalty", a.jit_penalty),
            ("arg_tax_bps", a.arg_tax_bps), ("freeze_ms", a.freeze_ms), ("top_k", a.top_k)),
        _st("POOLS", *((k, v) for k, v in p.as_kwargs().items())),
        _st("REGISTRY", ("latency_sla_ms", g.latency_sla_ms), ("e_max_atoms", g.e_max_atoms), ("active", g.active)),
    ]
    if s.amm is not None:
        sts.append(_st("AMM", ("base_reserve", s.amm.base_reserve), ("quote_reserve_atoms", s.amm.quote_reserve_atoms)))
    kind = None if s.kind == "book" else Value(IDENT, s.kind)
    return Block("SLAB", s.slab_id, kind, tuple(sts))


def config_to_program(cfg: Config) -> Program:
    blocks = [router_block(cfg.router)]
    blocks += [instrument_block(i) for i in cfg.instruments]
    blocks += [oracle_block(o) for o in cfg.oracles]
    blocks += [slab_block(s) for s in cfg.slabs]
    return Program(tuple(blocks))


def render_config(cfg: Config) -> str:
    return format_program(config_to_program(cfg))
