"""The canonical compiled configuration and its fingerprint (DESIGN §6).

What the router and the slabs read at start-up.  Frozen dataclasses holding only ``int``,
``bool``, ``str``, ``bytes``, nested dataclasses and tuples of them — never floats — so the
configuration is a pure value.  Every set-like collection is stored sorted by its key, which
makes the compiled value independent of the order blocks and repeated statements were
written in.

Canonical encoding (``canonical_bytes``): the config as JSON with

* objects for dataclasses, keys = field names, sorted by code point;
* integers as JSON integers (arbitrary size, no exponent), booleans as ``true``/``false``,
  strings ASCII-only (the lexer admits nothing else), ``bytes`` as lowercase hex strings,
  tuples as arrays, ``None`` as ``null``;
* no insignificant whitespace (separators ``,`` and ``:``), UTF-8 (= ASCII) bytes;
* wrapped as ``{"config": …, "format": "assetl2/curvescript-config/v1"}``.

The **config fingerprint** is ``SHA-256(canonical_bytes(config))``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass
from typing import Any

CONFIG_FORMAT = "assetl2/curvescript-config/v1"


@dataclass(frozen=True)
class CollateralConfig:
    asset: str
    decimals: int
    vault_cap_atoms: int


@dataclass(frozen=True)
class CorrelationConfig:
    """Cross-instrument offset; ``a < b`` (sorted) so each pair has one spelling."""

    a: str
    b: str
    offset_bps: int


@dataclass(frozen=True)
class PortfolioMarginConfig:
    model: str                      # "net_per_instrument" | "cross_alpha"
    correl_matrix: str              # label, "" for net_per_instrument
    correlations: tuple[CorrelationConfig, ...]   # sorted by (a, b)


@dataclass(frozen=True)
class LiquidationConfig:
    grace_ms: int
    band_bps: int
    penalty_bps: int


@dataclass(frozen=True)
class FeeCapConfig:
    maker_bps: int
    taker_bps: int


@dataclass(frozen=True)
class RouterConfig:
    collateral: CollateralConfig
    portfolio_margin: PortfolioMarginConfig
    cap_ttl_ms: int
    batch_ms: int
    liquidation: LiquidationConfig
    fee_cap: FeeCapConfig


@dataclass(frozen=True)
class InstrumentConfig:
    symbol: str
    oracle: str
    contract_size: int
    tick_e6: int
    lot_size: int
    min_size: int
    price_band_bps: int
    funding_interval_ms: int
    funding_cap_bps: int


@dataclass(frozen=True)
class OracleConfig:
    oracle_id: str
    feeders: tuple[bytes, ...]      # raw 32-byte ed25519 public keys, sorted
    quorum: int
    heartbeat_ms: int
    max_age_ms: int
    max_move_bps: int
    kill_band_router_ref: str       # "ROUTER" or "" when not synced


@dataclass(frozen=True)
class MakerClassConfig:
    name: str                       # "DLP" (live at once) | "REG" (pending until batch_open)
    allowance: int


@dataclass(frozen=True)
class MatchingConfig:
    fifo: bool
    pending_promotion: bool
    stp: str


@dataclass(frozen=True)
class FeeConfig:
    maker_bps: int
    taker_bps: int
    rebate_delay_ms: int


@dataclass(frozen=True)
class RiskConfig:
    imr_bps: int
    mmr_bps: int


@dataclass(frozen=True)
class AntiToxicityConfig:
    kill_band_bps: int
    jit_penalty: bool
    arg_tax_bps: int
    freeze_ms: int
    top_k: int


@dataclass(frozen=True)
class PoolsConfig:
    """Arena capacities; the keyword names match ``executor.slab.layout.arena_size``."""

    instruments: int
    accounts: int
    orders: int
    positions: int
    reservations: int
    slices: int
    trades: int

    def as_kwargs(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class RegistryConfig:
    latency_sla_ms: int
    e_max_atoms: int
    active: bool


@dataclass(frozen=True)
class AmmConfig:
    base_reserve: int
    quote_reserve_atoms: int


@dataclass(frozen=True)
class SlabConfig:
    slab_id: str
    kind: str                                   # "book" | "amm"
    oracle: str
    instruments: tuple[str, ...]                # sorted; a slab's instrument index is its position here
    batch_ms: int
    maker_classes: tuple[MakerClassConfig, ...]  # sorted by name; () for amm
    matching: MatchingConfig | None             # None for amm
    fee: FeeConfig
    fee_cap: FeeCapConfig
    risk: RiskConfig
    anti_toxicity: AntiToxicityConfig
    pools: PoolsConfig
    registry: RegistryConfig
    amm: AmmConfig | None                       # None for book


@dataclass(frozen=True)
class Config:
    router: RouterConfig
    instruments: tuple[InstrumentConfig, ...]   # sorted by symbol
    oracles: tuple[OracleConfig, ...]           # sorted by oracle_id
    slabs: tuple[SlabConfig, ...]               # sorted by slab_id

    def instrument(self, symbol: str) -> InstrumentConfig:
        for i in self.instruments:
            if i.symbol == symbol:
                return i
        raise KeyError(symbol)

    def oracle(self, oracle_id: str) -> OracleConfig:
        for o in self.oracles:
            if o.oracle_id == oracle_id:
                return o
        raise KeyError(oracle_id)

    def slab(self, slab_id: str) -> SlabConfig:
        for s in self.slabs:
            if s.slab_id == slab_id:
                return s
        raise KeyError(slab_id)


def to_plain(obj: Any) -> Any:
    """Dataclass tree → JSON-ready value under the rules in the module docstring."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        if isinstance(obj, str) and not obj.isascii():
            raise ValueError("canonical encoding admits ASCII strings only")
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, bytes):
        return obj.hex()
    if isinstance(obj, tuple):
        return [to_plain(x) for x in obj]
    raise TypeError(f"type {type(obj).__name__} is not allowed in a canonical config")


def canonical_json(value: Any) -> bytes:
    """Sorted-key, whitespace-free, ASCII JSON of an already plain value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def canonical_bytes(config: Config) -> bytes:
    return canonical_json({"format": CONFIG_FORMAT, "config": to_plain(config)})


def fingerprint(config: Config) -> bytes:
    """SHA-256 of the canonical encoding: the config fingerprint of DESIGN §6."""
    return hashlib.sha256(canonical_bytes(config)).digest()


def _decode(tp: Any, v: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        arms = [a for a in typing.get_args(tp) if a is not type(None)]
        return None if v is None else _decode(arms[0], v, where)
    if origin is tuple:
        if not isinstance(v, list):
            raise ValueError(f"{where}: expected an array")
        inner = typing.get_args(tp)[0]
        return tuple(_decode(inner, x, f"{where}[{i}]") for i, x in enumerate(v))
    if dataclasses.is_dataclass(tp):
        if not isinstance(v, dict):
            raise ValueError(f"{where}: expected an object")
        hints = typing.get_type_hints(tp)
        names = [f.name for f in dataclasses.fields(tp)]
        if sorted(v) != sorted(names):
            raise ValueError(f"{where}: keys {sorted(v)} are not the fields {sorted(names)}")
        return tp(**{n: _decode(hints[n], v[n], f"{where}.{n}") for n in names})
    if tp is bool:
        if not isinstance(v, bool):
            raise ValueError(f"{where}: expected true/false")
        return v
    if tp is int:
        if not isinstance(v, int) or isinstance(v, bool):
            raise ValueError(f"{where}: expected an integer")
        return v
    if tp is str:
        if not isinstance(v, str):
            raise ValueError(f"{where}: expected a string")
        return v
    if tp is bytes:
        if not isinstance(v, str):
            raise ValueError(f"{where}: expected a hex string")
        return bytes.fromhex(v)
    raise TypeError(f"{where}: unsupported type {tp!r}")


def config_from_canonical(data: bytes) -> Config:
    """Inverse of :func:`canonical_bytes`, e.g. for a config stored in the slab registry.

    Refuses anything that is not exactly the canonical encoding of a ``Config`` (so the
    fingerprint of the result is the SHA-256 of ``data``).  It does not re-run the checker:
    for input of unknown provenance, ``compile_source(render_config(cfg))`` does that.
    """
    doc = json.loads(data)
    if not isinstance(doc, dict) or sorted(doc) != ["config", "format"] or doc["format"] != CONFIG_FORMAT:
        raise ValueError(f"not a {CONFIG_FORMAT} document")
    cfg = _decode(Config, doc["config"], "config")
    if canonical_bytes(cfg) != bytes(data):
        raise ValueError("input is not in canonical form (key order, spacing or number spelling)")
    return cfg
