"""Slab configuration: the compiled form of a CurveScript ``SLAB`` block (seed 000 §1).

Parameters are integers with their unit in the name (STYLE.md).  The arena capacities live
here too; ``SlabConfig.layout()`` computes the arena and ``validate()`` refuses anything over
``MAX_ARENA_BYTES`` with ``ARENA_TOO_LARGE`` (EXCHANGE §3: "the arena's layout is computed and
checked to stay <= 10 MB").
"""
from __future__ import annotations

import hashlib
from dataclasses import astuple, dataclass, field

from executor.errors import ErrorCode, ExecutorError
from executor.slab.layout import MAX_ARENA_BYTES, MAX_INSTRUMENTS, Layout, compute_layout

__all__ = ["InstrumentConfig", "Capacities", "SlabConfig", "CAP_TTL_MS_MAX"]

MAX_CONTRACT_SIZE = 1 << 32
CAP_TTL_MS_MAX = 120_000  # EXCHANGE §2: CAP_TTL <= 120 000 ms; a hold never outlives a cap


@dataclass(frozen=True)
class InstrumentConfig:
    """One instrument (EXCHANGE §1, §3): tick/lot/min-size checks (plan S3) and price band."""

    symbol: str
    tick_e6: int = 1               # price tick in price_e6 units
    lot: int = 1                   # quantity step in lots
    min_size: int = 1              # minimum order size in lots
    contract_size: int = 1_000_000  # base units per lot, scaled by 1e6 (units.py)
    band_bps: int = 1_000          # order price must be within this band of the oracle
    oracle_heartbeat_ms: int = 5_000  # oracle older than this is stale (seed 001 T1)
    funding_interval_ms: int = 3_600_000


@dataclass(frozen=True)
class Capacities:
    """Pool sizes of the arena (EXCHANGE §3; a full pool is a clean rejection)."""

    accounts: int = 1024
    orders: int = 16384
    positions: int = 4096
    reservations: int = 2048
    slices: int = 16384
    trades: int = 4096


@dataclass(frozen=True)
class SlabConfig:
    """Compiled ``SLAB`` block.  Fees are signed bps: a negative ``maker_fee_bps`` is a rebate."""

    slab_id: int
    instruments: tuple[InstrumentConfig, ...]
    capacities: Capacities = field(default_factory=Capacities)
    maker_fee_bps: int = 2          # FEE maker_bps
    taker_fee_bps: int = 5          # FEE taker_bps
    imr_bps: int = 500              # RISK imr_bps
    mmr_bps: int = 350              # RISK mmr_bps
    kill_band_bps: int = 75         # ANTI_TOXICITY kill_band_bps
    jit_penalty: bool = True        # ANTI_TOXICITY jit_penalty
    arg_tax_bps: int = 10           # ANTI_TOXICITY arg_tax_bps
    freeze_ms: int = 0              # top-K freeze window after batch_open (0 = off)
    freeze_top_k: int = 0           # K of the top-K freeze
    reservation_batch_ms: int = 50  # ROUTER RESERVATION_BATCH ms (epoch length)
    fee_cap_maker_bps: int = 10_000  # registry fee caps (ADV3); commit may pass fresher ones
    fee_cap_taker_bps: int = 10_000
    # MAKER_CLASS <class> allowance=<lots>: (class code REG 0 / DLP 1, max open quantity of one
    # maker account's orders, base lots), sorted by class; a class not listed has no bound
    maker_allowances: tuple[tuple[int, int], ...] = ()

    def layout(self) -> Layout:
        c = self.capacities
        return compute_layout(instruments=len(self.instruments), accounts=c.accounts,
                              orders=c.orders, positions=c.positions,
                              reservations=c.reservations, slices=c.slices, trades=c.trades)

    def validate(self) -> Layout:
        """Check bounds and the 10 MB budget; returns the layout.  Raises ``ExecutorError``."""
        if not 1 <= len(self.instruments) <= MAX_INSTRUMENTS:
            raise ExecutorError(ErrorCode.TOO_MANY_INSTRUMENTS, f"{len(self.instruments)}")
        for ins in self.instruments:
            for name in ("tick_e6", "lot", "min_size", "contract_size", "band_bps",
                         "oracle_heartbeat_ms", "funding_interval_ms"):
                if getattr(ins, name) <= 0:
                    raise ExecutorError(ErrorCode.BAD_CONFIG, f"{ins.symbol}.{name} must be > 0")
        for ins in self.instruments:
            if ins.contract_size > MAX_CONTRACT_SIZE:
                # keeps qty (< 2**38) x contract_size x price (< 2**56) inside 128 bits
                raise ExecutorError(ErrorCode.BAD_CONFIG, f"{ins.symbol}.contract_size > 2**32")
        if not 0 <= self.mmr_bps <= self.imr_bps <= 10_000:
            raise ExecutorError(ErrorCode.BAD_CONFIG, "need 0 <= mmr_bps <= imr_bps <= 10000")
        if self.taker_fee_bps < 0 or self.taker_fee_bps > 10_000 or abs(self.maker_fee_bps) > 10_000:
            raise ExecutorError(ErrorCode.BAD_CONFIG, "fee bps out of range")
        if self.maker_fee_bps + self.taker_fee_bps < 0:
            raise ExecutorError(ErrorCode.BAD_CONFIG, "maker rebate exceeds taker fee")
        if min(self.kill_band_bps, self.arg_tax_bps, self.freeze_ms, self.freeze_top_k) < 0:
            raise ExecutorError(ErrorCode.BAD_CONFIG, "anti-toxicity parameters must be >= 0")
        if self.reservation_batch_ms <= 0:
            raise ExecutorError(ErrorCode.BAD_CONFIG, "reservation_batch_ms must be > 0")
        try:
            layout = self.layout()
        except ValueError as exc:
            raise ExecutorError(ErrorCode.BAD_CONFIG, str(exc)) from None
        if layout.size > MAX_ARENA_BYTES:
            raise ExecutorError(ErrorCode.ARENA_TOO_LARGE,
                                f"{layout.size} bytes > {MAX_ARENA_BYTES}")
        return layout

    def fingerprint(self) -> bytes:
        """SHA-256 of the canonical field tuple; the arena header keeps its first 8 bytes."""
        return hashlib.sha256(repr(astuple(self)).encode()).digest()
