"""AMM slab configuration: the compiled form of a CurveScript ``SLAB ... KIND amm`` block.

An AMM slab trades exactly one instrument (the CurveScript checker enforces it, CS505), so the
config holds one :class:`~executor.slab.config.InstrumentConfig` — the same record the book slab
uses, which lets the router read tick/lot/contract size the same way for both kinds.  Fees: the
CurveScript ``FEE taker_bps`` is the swap fee (``maker_bps`` must be 0: the pool is the only
maker).  ``AmmSlabConfig.from_curvescript`` builds it from the compiled ``Config``.

The arena layout (EXCHANGE §3, seed 000 §3.1) is computed here, pure Python, so a type checker
or the router can size an AMM arena without building a slab.
"""
from __future__ import annotations

import hashlib
from dataclasses import astuple, dataclass, field

from executor.curvescript.config import Config
from executor.errors import ErrorCode, ExecutorError
from executor.slab.config import InstrumentConfig
from executor.slab.layout import MAX_ARENA_BYTES, PAGE_SIZE, WORD
from executor.units import I64_MAX

__all__ = ["AmmCapacities", "AmmLayout", "AmmSlabConfig", "compute_amm_layout",
           "HEADER_WORDS", "INSTRUMENT_WORDS", "ACCOUNT_WORDS", "POSITION_WORDS",
           "HOLD_WORDS", "TRADE_WORDS", "MAX_HOLD_SLOTS"]

HEADER_WORDS = 64
INSTRUMENT_WORDS = 16
ACCOUNT_WORDS = 8
POSITION_WORDS = 16
HOLD_WORDS = 16
TRADE_WORDS = 10
MAX_HOLD_SLOTS = (1 << 24) - 1   # hold ids carry their slot in the low 24 bits, like the core's
_ALIGN = 64


@dataclass(frozen=True)
class AmmCapacities:
    """Pool sizes of an AMM arena (a full pool is a clean rejection, EXCHANGE §3).

    Account slot 0 and position slot 0 belong to the pool itself (``POOL_USER``), so both
    capacities must be at least 2 to admit one trader."""

    accounts: int = 1024
    positions: int = 1024
    reservations: int = 512
    trades: int = 512


@dataclass(frozen=True)
class AmmLayout:
    """Byte offsets of the sections of one AMM arena (each 64-byte aligned, total whole pages)."""

    accounts: int
    positions: int
    reservations: int
    trades: int
    header: int
    instrument: int
    account_records: int
    position_records: int
    hold_records: int
    trade_records: int
    end: int
    size: int


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def compute_amm_layout(caps: AmmCapacities) -> AmmLayout:
    """Sections, in order: header, the instrument, accounts, positions, holds, trade ring."""
    for name in ("accounts", "positions", "reservations", "trades"):
        v = getattr(caps, name)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"capacity {name} must be a positive integer, got {v!r}")
    if caps.accounts < 2 or caps.positions < 2:
        raise ValueError("accounts and positions need >= 2 slots (slot 0 is the pool's)")
    if caps.reservations > MAX_HOLD_SLOTS:
        raise ValueError(f"capacity reservations must be below 2**24, got {caps.reservations}")
    off = 0
    starts = []
    for words, count in ((HEADER_WORDS, 1), (INSTRUMENT_WORDS, 1), (ACCOUNT_WORDS, caps.accounts),
                         (POSITION_WORDS, caps.positions), (HOLD_WORDS, caps.reservations),
                         (TRADE_WORDS, caps.trades)):
        off = _align(off, _ALIGN)
        starts.append(off)
        off += words * WORD * count
    return AmmLayout(caps.accounts, caps.positions, caps.reservations, caps.trades, *starts,
                     end=off, size=_align(off, PAGE_SIZE))


@dataclass(frozen=True)
class AmmSlabConfig:
    """Compiled AMM ``SLAB`` block (seed 002; EXCHANGE §3 "AMM slab").

    ``base_reserve_lots`` / ``quote_reserve_atoms`` are the genesis reserves (CurveScript
    ``AMM base_reserve quote_reserve_atoms``); their implied price is
    ``quote_reserve_atoms * 1e6 / (base_reserve_lots * contract_size)`` (the same formula
    ``executor.genesis`` checks against the initial oracle price)."""

    slab_id: int
    instruments: tuple[InstrumentConfig, ...]   # exactly one
    base_reserve_lots: int
    quote_reserve_atoms: int
    capacities: AmmCapacities = field(default_factory=AmmCapacities)
    swap_fee_bps: int = 10           # FEE taker_bps
    imr_bps: int = 1_000             # RISK imr_bps
    mmr_bps: int = 500               # RISK mmr_bps
    kill_band_bps: int = 100         # ANTI_TOXICITY kill_band_bps
    arg_tax_bps: int = 0             # ANTI_TOXICITY arg_tax_bps
    reservation_batch_ms: int = 50   # RESERVATION_BATCH ms (epoch length)
    fee_cap_maker_bps: int = 10_000  # registry fee caps (ADV3); commit may pass fresher ones
    fee_cap_taker_bps: int = 10_000

    @property
    def instrument(self) -> InstrumentConfig:
        return self.instruments[0]

    def layout(self) -> AmmLayout:
        return compute_amm_layout(self.capacities)

    def validate(self) -> AmmLayout:
        """Check bounds and the 10 MB budget; returns the layout.  Raises ``ExecutorError``."""
        bad = ErrorCode.BAD_CONFIG
        if len(self.instruments) != 1:
            raise ExecutorError(bad, "an amm slab trades exactly one instrument")
        ins = self.instruments[0]
        for name in ("tick_e6", "lot", "min_size", "contract_size", "band_bps",
                     "oracle_heartbeat_ms", "funding_interval_ms"):
            if getattr(ins, name) <= 0:
                raise ExecutorError(bad, f"{ins.symbol}.{name} must be > 0")
        if not 2 <= self.base_reserve_lots <= I64_MAX or not 1 <= self.quote_reserve_atoms <= I64_MAX:
            raise ExecutorError(bad, "reserves must be in [2, 2**63) lots and [1, 2**63) atoms")
        if not 0 <= self.mmr_bps <= self.imr_bps <= 10_000:
            raise ExecutorError(bad, "need 0 <= mmr_bps <= imr_bps <= 10000")
        if not 0 <= self.swap_fee_bps <= 10_000:
            raise ExecutorError(bad, "swap fee bps out of range")
        if min(self.kill_band_bps, self.arg_tax_bps) < 0 or self.reservation_batch_ms <= 0:
            raise ExecutorError(bad, "anti-toxicity / batch parameters out of range")
        try:
            layout = self.layout()
        except ValueError as exc:
            raise ExecutorError(bad, str(exc)) from None
        if layout.size > MAX_ARENA_BYTES:
            raise ExecutorError(ErrorCode.ARENA_TOO_LARGE, f"{layout.size} bytes > {MAX_ARENA_BYTES}")
        return layout

    def fingerprint(self) -> bytes:
        """SHA-256 of the canonical field tuple; the arena header keeps its first 8 bytes."""
        return hashlib.sha256(b"amm" + repr(astuple(self)).encode()).digest()

    @classmethod
    def from_curvescript(cls, config: Config, slab_id: str, *, slab_number: int | None = None
                         ) -> "AmmSlabConfig":
        """Build from a compiled CurveScript ``Config`` (DESIGN §6).

        ``slab_number`` is the numeric id the router uses; by default the slab's index in
        ``config.slabs`` (sorted by ``slab_id``, so deterministic).  The oracle's
        ``max_age_ms`` is the staleness bound (older prices fail closed, seed 001 T1)."""
        slab = config.slab(slab_id)
        if slab.kind != "amm" or slab.amm is None:
            raise ExecutorError(ErrorCode.BAD_CONFIG, f"slab {slab_id!r} is not KIND amm")
        if len(slab.instruments) != 1:
            raise ExecutorError(ErrorCode.BAD_CONFIG, "an amm slab trades exactly one instrument")
        inst = config.instrument(slab.instruments[0])
        oracle = config.oracle(slab.oracle)
        number = ([s.slab_id for s in config.slabs].index(slab_id)
                  if slab_number is None else slab_number)
        p = slab.pools
        return cls(
            slab_id=number,
            instruments=(InstrumentConfig(
                inst.symbol, tick_e6=inst.tick_e6, lot=inst.lot_size, min_size=inst.min_size,
                contract_size=inst.contract_size, band_bps=inst.price_band_bps,
                oracle_heartbeat_ms=oracle.max_age_ms,
                funding_interval_ms=inst.funding_interval_ms),),
            base_reserve_lots=slab.amm.base_reserve,
            quote_reserve_atoms=slab.amm.quote_reserve_atoms,
            capacities=AmmCapacities(accounts=p.accounts, positions=p.positions,
                                     reservations=p.reservations, trades=p.trades),
            swap_fee_bps=slab.fee.taker_bps,
            imr_bps=slab.risk.imr_bps, mmr_bps=slab.risk.mmr_bps,
            kill_band_bps=slab.anti_toxicity.kill_band_bps,
            arg_tax_bps=slab.anti_toxicity.arg_tax_bps,
            reservation_batch_ms=slab.batch_ms,
            fee_cap_maker_bps=slab.fee_cap.maker_bps, fee_cap_taker_bps=slab.fee_cap.taker_bps)
