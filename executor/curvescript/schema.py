"""The statement schema: which keywords each block accepts and each argument's bounds.

Seed 000 §1: "Every keyword maps to bounded, type-safe arguments".  This table *is* that
mapping; the checker is a generic walk over it, and README.md documents the same table (a
test keeps the two in step).  Ranges are inclusive and chosen from EXCHANGE §1–§3:
amounts fit u64, bps are over 10 000, CAP_TTL ≤ 120 000 ms, ≤ 32 instruments per slab.
"""
from __future__ import annotations

from dataclasses import dataclass

U64_MAX = (1 << 64) - 1
BPS = 10_000
MAX_CAP_TTL_MS = 120_000
MAX_SLAB_INSTRUMENTS = 32
BATCH_TOLERANCE_MS = 10

# argument types
T_INT = "int"
T_BOOL = "bool"
T_STR = "string"          # quoted string
T_REF = "ref"             # quoted name of another block
T_ENUM = "enum"           # bare identifier or quoted string from ``choices``
T_SYMBOL = "symbol"       # bare identifier or quoted string matching ASSET_RE
T_PUBKEY = "pubkey"       # quoted base58 ed25519 public key

ASSET_RE = r"^[A-Z][A-Z0-9]{0,15}$"
INSTRUMENT_RE = r"^[A-Z0-9][A-Z0-9-]{0,31}$"
ID_RE = r"^[A-Za-z0-9][A-Za-z0-9:._/-]{0,63}$"
MATRIX_RE = r"^[A-Za-z0-9][A-Za-z0-9:._/-]{0,127}$"


@dataclass(frozen=True)
class ArgSpec:
    name: str
    type: str
    lo: int | None = None
    hi: int | None = None
    required: bool = True
    default: object = None
    choices: tuple[str, ...] = ()
    doc: str = ""


@dataclass(frozen=True)
class StmtSpec:
    keyword: str
    args: tuple[ArgSpec, ...]
    positional: tuple[ArgSpec, ...] = ()
    required: bool = True
    repeat: bool = False
    #: for repeatable statements, the argument that identifies one occurrence
    key: str | None = None
    doc: str = ""

    def arg(self, name: str) -> ArgSpec | None:
        for a in self.positional + self.args:
            if a.name == name:
                return a
        return None


def _int(name: str, lo: int, hi: int, *, required: bool = True, default: int | None = None, doc: str = "") -> ArgSpec:
    return ArgSpec(name, T_INT, lo, hi, required, default, (), doc)


def _bool(name: str, default: bool, doc: str = "") -> ArgSpec:
    return ArgSpec(name, T_BOOL, None, None, False, default, (), doc)


def _enum(name: str, choices: tuple[str, ...], *, required: bool = True, default: str | None = None, doc: str = "") -> ArgSpec:
    return ArgSpec(name, T_ENUM, None, None, required, default, choices, doc)


ROUTER = (
    StmtSpec("COLLATERAL", (
        ArgSpec("asset", T_SYMBOL, doc="quote collateral asset symbol (one per router, EXCHANGE §1)"),
        _int("decimals", 0, 18, required=False, default=6, doc="atoms per whole unit = 10^decimals"),
        _int("vault_cap_atoms", 1, U64_MAX, doc="total collateral the router accepts, in atoms (deposit guardrail)"),
    ), doc="collateral asset and deposit cap"),
    StmtSpec("PORTFOLIO_MARGIN", (
        _enum("model", ("net_per_instrument", "cross_alpha"),
              doc="net_per_instrument: IM on net exposure per instrument; cross_alpha: plus CORRELATION offsets"),
        ArgSpec("correl_matrix", T_STR, required=False, default="", doc="label of the correlation table (required for cross_alpha)"),
    ), required=False, doc="portfolio margin model (EXCHANGE §2 Portfolio); default net_per_instrument"),
    StmtSpec("CORRELATION", (
        ArgSpec("a", T_REF, doc="instrument symbol"),
        ArgSpec("b", T_REF, doc="another instrument symbol"),
        _int("offset_bps", 0, BPS, doc="share of the smaller leg's IM released by an opposite position"),
    ), required=False, repeat=True, key="a,b", doc="one entry of the cross_alpha correlation table"),
    StmtSpec("CAP_TTL", (_int("ms", 1, MAX_CAP_TTL_MS, doc="cap lifetime, ≤ 120 000 ms (EXCHANGE §2)"),),
             doc="capability time-to-live"),
    StmtSpec("RESERVATION_BATCH", (_int("ms", 1, 10_000, doc="epoch / reservation batch window (DESIGN §1)"),),
             doc="batch window of the sequencer epochs"),
    StmtSpec("LIQUIDATION", (
        _int("grace_ms", 0, 600_000, required=False, default=5_000, doc="router remediation window before slab sweeps (L1)"),
        _int("band_bps", 1, BPS, required=False, default=500, doc="liquidation sweep band around mark (L3)"),
        _int("penalty_bps", 0, BPS, required=False, default=50, doc="liquidation fee to the insurance fund"),
    ), required=False, doc="liquidation policy"),
    StmtSpec("FEE_CAP", (
        _int("maker_bps", 0, 1_000, doc="largest maker fee any slab may charge (ADV3)"),
        _int("taker_bps", 0, 1_000, doc="largest taker fee any slab may charge (ADV3)"),
    ), doc="governance fee caps, default for every slab's registry entry"),
)

INSTRUMENT = (
    StmtSpec("ORACLE", (ArgSpec("ref", T_REF, doc="id of the ORACLE block that prices it"),), doc="price source"),
    StmtSpec("CONTRACT", (_int("size", 1, U64_MAX, doc="contract_size used by notional() (EXCHANGE §1)"),), doc="contract size"),
    StmtSpec("TICK", (_int("price_e6", 1, U64_MAX, doc="price increment in price_e6 (quote atoms per whole base unit)"),), doc="tick size"),
    StmtSpec("LOT", (
        _int("size", 1, U64_MAX, doc="order quantities are multiples of this many lots"),
        _int("min_size", 1, U64_MAX, required=False, doc="smallest order quantity (default: one lot); multiple of size"),
    ), doc="lot and minimum order size (S3)"),
    StmtSpec("PRICE_BAND", (_int("bps", 1, BPS, doc="max distance of a limit price from the oracle"),), doc="price band"),
    StmtSpec("FUNDING", (
        _int("interval_ms", 1_000, 86_400_000, doc="funding cadence (EXCHANGE §2 Funding)"),
        _int("cap_bps", 0, BPS, doc="largest funding rate applied in one interval"),
    ), doc="funding cadence and clamp"),
)

ORACLE = (
    StmtSpec("FEEDER", (ArgSpec("key", T_PUBKEY, doc="authorised feeder, base58 ed25519 public key"),),
             repeat=True, key="key", doc="one authorised price feeder (≥ 1)"),
    StmtSpec("QUORUM", (_int("min", 1, 64, doc="distinct feeders needed for an accepted price"),),
             required=False, doc="feeder quorum (default 1)"),
    StmtSpec("HEARTBEAT", (_int("ms", 1, 60_000, doc="expected update period"),), doc="heartbeat"),
    StmtSpec("STALENESS", (_int("max_age_ms", 1, 600_000, doc="older prices fail closed (seed 001 T1)"),),
             required=False, doc="freshness gate (default 3 × heartbeat)"),
    StmtSpec("MAX_MOVE", (_int("bps", 1, BPS, doc="larger moves per update are rejected"),), doc="bounded-move gate"),
    StmtSpec("KILL_BAND_SYNC", (ArgSpec("router_ref", T_STR, doc='must be "ROUTER"'),), required=False,
             doc="kill-band reference prices are shared with the router"),
)

SLAB = (
    StmtSpec("ORACLE", (ArgSpec("ref", T_REF, doc="id of an ORACLE block"),), doc="oracle used for kill band and price band"),
    StmtSpec("LIST", (ArgSpec("instrument", T_REF, doc="instrument symbol"),), repeat=True, key="instrument",
             doc="an instrument the slab trades (≥ 1, ≤ 32; an amm slab exactly 1)"),
    StmtSpec("RESERVATION_BATCH", (_int("ms", 1, 10_000, doc="slab batch window; within ±10 ms of the router's"),),
             required=False, doc="batch window (default: the router's)"),
    StmtSpec("MAKER_CLASS", (_int("allowance", 0, U64_MAX, doc="max open quantity per maker account, base lots"),),
             positional=(_enum("class", ("DLP", "REG"), doc="DLP goes live at once; REG waits for batch_open"),),
             required=False, repeat=True, key="class", doc="maker class (book slabs, ≥ 1)"),
    StmtSpec("MATCHING", (
        _bool("fifo", True, doc="price-time priority; only true is supported (M1)"),
        _bool("pending_promotion", True, doc="promote PENDING orders at batch_open (S4, M7)"),
        _enum("stp", ("cancel_taker", "cancel_maker", "cancel_both"), required=False, default="cancel_taker",
              doc="self-trade prevention"),
    ), required=False, doc="matching policy (book slabs)"),
    StmtSpec("FEE", (
        _int("maker_bps", -1_000, 1_000, doc="maker fee; negative is a rebate"),
        _int("taker_bps", 0, 1_000, doc="taker fee (for an amm slab: the swap fee)"),
        _int("rebate_delay_ms", 0, 60_000, required=False, default=0, doc="delay before a rebate is credited"),
    ), doc="fees"),
    StmtSpec("FEE_CAP", (
        _int("maker_bps", 0, 1_000, doc="registry maker fee cap, ≤ router FEE_CAP"),
        _int("taker_bps", 0, 1_000, doc="registry taker fee cap, ≤ router FEE_CAP"),
    ), required=False, doc="registry fee caps (default: the router's)"),
    StmtSpec("RISK", (
        _int("imr_bps", 1, BPS, doc="initial margin ratio"),
        _int("mmr_bps", 1, BPS, doc="maintenance margin ratio, < imr_bps"),
    ), doc="slab-local margin (RM1–RM3)"),
    StmtSpec("ANTI_TOXICITY", (
        _int("kill_band_bps", 1, BPS, doc="reject commit if the oracle moved more since reserve"),
        _bool("jit_penalty", True, doc="orders created at/after batch open earn no rebate"),
        _int("arg_tax_bps", 0, BPS, required=False, default=0, doc="aggressor round-trip overlap tax"),
        _int("freeze_ms", 0, 10_000, required=False, default=0, doc="top-K freeze window after batch_open, ≤ batch"),
        _int("top_k", 0, 64, required=False, default=0, doc="price levels frozen (0 = off)"),
    ), doc="anti-toxicity (seed 000 §5.4)"),
    StmtSpec("POOLS", (
        _int("instruments", 1, MAX_SLAB_INSTRUMENTS, required=False, doc="instrument slots (default: number listed)"),
        _int("accounts", 1, 1 << 20, doc="account pool capacity"),
        _int("orders", 1, 1 << 22, doc="order pool capacity (an amm slab keeps none: use 1)"),
        _int("positions", 1, 1 << 22, doc="position pool capacity"),
        _int("reservations", 1, 1 << 20, doc="reservation pool capacity"),
        _int("slices", 1, 1 << 22, doc="slice pool capacity, ≥ reservations"),
        _int("trades", 1, 1 << 20, doc="trade ring capacity"),
    ), doc="arena pool capacities (EXCHANGE §3; arena ≤ 10 MB)"),
    StmtSpec("REGISTRY", (
        _int("latency_sla_ms", 1, 60_000, required=False, default=1_000, doc="router skips a slab slower than this"),
        _int("e_max_atoms", 0, U64_MAX, doc="exposure ceiling E_max, notional in atoms"),
        _bool("active", True, doc="routable"),
    ), doc="slab registry entry (EXCHANGE §2)"),
    StmtSpec("AMM", (
        _int("base_reserve", 1, U64_MAX, doc="initial base reserve, base lots"),
        _int("quote_reserve_atoms", 1, U64_MAX, doc="initial quote reserve, atoms"),
    ), required=False, doc="constant-product pool (amm slabs only, seed 002)"),
)

SCHEMA: dict[str, tuple[StmtSpec, ...]] = {
    "ROUTER": ROUTER,
    "INSTRUMENT": INSTRUMENT,
    "ORACLE": ORACLE,
    "SLAB": SLAB,
}

SLAB_KINDS = ("book", "amm")


def spec_for(block_kind: str, keyword: str) -> StmtSpec | None:
    for s in SCHEMA[block_kind]:
        if s.keyword == keyword:
            return s
    return None
