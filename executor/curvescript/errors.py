"""Stable error codes of the CurveScript front end.

Why codes: seed 000 §1 says every keyword maps to bounded, type-safe arguments, and
DESIGN §6 makes the checker's verdict part of the program manifest.  Operators, CI and
the registry need to tell errors apart without parsing prose, so every rejection carries
a code that never changes meaning once published (add new codes, never reuse old ones),
the ``line:column`` of the offending text, and a message that says what to change.

Code ranges:

* ``CS1xx`` lexing and parsing,
* ``CS2xx`` statement / argument shape (schema of seed 000 §1 as extended in README.md),
* ``CS3xx`` block structure and uniqueness,
* ``CS4xx`` cross references (DESIGN §6, seed 000 §4 "cross-reference validation"),
* ``CS5xx`` relations between parameters (EXCHANGE §2–§3),
* ``CS6xx`` slab memory layout (seed 000 §3.1, ≤ 10 MB).

These codes are deliberately separate from ``executor/errors.py`` (transaction receipts):
they describe a configuration file, not a transaction.
"""
from __future__ import annotations

from dataclasses import dataclass

# -- CS1xx: lexing and parsing -------------------------------------------------------
UNEXPECTED_CHAR = "CS100"
UNTERMINATED_STRING = "CS101"
BAD_STRING_CHAR = "CS102"
BAD_NUMBER = "CS103"
UNEXPECTED_TOKEN = "CS110"
UNKNOWN_BLOCK = "CS111"
POSITIONAL_AFTER_NAMED = "CS112"
UNCLOSED_BLOCK = "CS113"

# -- CS2xx: statement and argument shape ---------------------------------------------
UNKNOWN_STATEMENT = "CS200"
UNKNOWN_ARGUMENT = "CS201"
DUPLICATE_ARGUMENT = "CS202"
MISSING_ARGUMENT = "CS203"
WRONG_TYPE = "CS204"
OUT_OF_RANGE = "CS205"
BAD_ENUM = "CS206"
DUPLICATE_STATEMENT = "CS207"
MISSING_STATEMENT = "CS208"
BAD_POSITIONAL = "CS209"
BAD_NAME = "CS210"
BAD_PUBKEY = "CS211"
BAD_HEADER = "CS212"

# -- CS3xx: block structure and uniqueness -------------------------------------------
MISSING_ROUTER = "CS300"
DUPLICATE_ROUTER = "CS301"
DUPLICATE_NAME = "CS302"
MISSING_BLOCKS = "CS303"

# -- CS4xx: cross references ---------------------------------------------------------
UNKNOWN_ORACLE = "CS400"
UNKNOWN_INSTRUMENT = "CS401"
ORACLE_MISMATCH = "CS402"
BATCH_MISMATCH = "CS403"
BAD_ROUTER_REF = "CS404"

# -- CS5xx: relations between parameters ---------------------------------------------
MARGIN_ORDER = "CS500"
FEE_ABOVE_CAP = "CS501"
REBATE_EXCEEDS_TAKER = "CS502"
FREEZE_EXCEEDS_BATCH = "CS503"
LOT_ALIGNMENT = "CS504"
AMM_SHAPE = "CS505"
QUORUM_EXCEEDS_FEEDERS = "CS506"
MODEL_MISMATCH = "CS507"
MATCHING_UNSUPPORTED = "CS508"
INSTRUMENT_CAPACITY = "CS509"
MMR_BELOW_MAX_MOVE = "CS510"
HEARTBEAT_ORDER = "CS511"
POOL_SHAPE = "CS512"

# -- CS6xx: slab memory layout -------------------------------------------------------
ARENA_TOO_LARGE = "CS600"
LAYOUT_UNAVAILABLE = "CS601"

TITLES: dict[str, str] = {
    UNEXPECTED_CHAR: "unexpected character",
    UNTERMINATED_STRING: "unterminated string",
    BAD_STRING_CHAR: "character not allowed in a string",
    BAD_NUMBER: "malformed or oversized integer",
    UNEXPECTED_TOKEN: "unexpected token",
    UNKNOWN_BLOCK: "unknown block keyword",
    POSITIONAL_AFTER_NAMED: "positional value after a named argument",
    UNCLOSED_BLOCK: "block not closed before end of file",
    UNKNOWN_STATEMENT: "statement not allowed in this block",
    UNKNOWN_ARGUMENT: "unknown argument",
    DUPLICATE_ARGUMENT: "argument given twice",
    MISSING_ARGUMENT: "required argument missing",
    WRONG_TYPE: "argument has the wrong type",
    OUT_OF_RANGE: "integer outside its documented range",
    BAD_ENUM: "value not one of the allowed choices",
    DUPLICATE_STATEMENT: "statement may appear only once",
    MISSING_STATEMENT: "required statement missing",
    BAD_POSITIONAL: "wrong positional values",
    BAD_NAME: "malformed name or identifier",
    BAD_PUBKEY: "not a base58 ed25519 public key",
    BAD_HEADER: "malformed block header",
    MISSING_ROUTER: "no ROUTER block",
    DUPLICATE_ROUTER: "more than one ROUTER block",
    DUPLICATE_NAME: "name declared twice",
    MISSING_BLOCKS: "no INSTRUMENT, ORACLE or SLAB block",
    UNKNOWN_ORACLE: "reference to an undeclared oracle",
    UNKNOWN_INSTRUMENT: "reference to an undeclared instrument",
    ORACLE_MISMATCH: "slab oracle differs from the instrument's oracle",
    BATCH_MISMATCH: "slab batch window differs from the router's by more than 10 ms",
    BAD_ROUTER_REF: "router reference does not name the ROUTER block",
    MARGIN_ORDER: "maintenance margin not below initial margin",
    FEE_ABOVE_CAP: "fee above its governance cap",
    REBATE_EXCEEDS_TAKER: "maker rebate larger than the taker fee",
    FREEZE_EXCEEDS_BATCH: "freeze window longer than the batch window",
    LOT_ALIGNMENT: "minimum size not a multiple of the lot size",
    AMM_SHAPE: "statement or shape not valid for this slab kind",
    QUORUM_EXCEEDS_FEEDERS: "oracle quorum larger than its feeder set",
    MODEL_MISMATCH: "statement inconsistent with the portfolio margin model",
    MATCHING_UNSUPPORTED: "matching mode not supported",
    INSTRUMENT_CAPACITY: "more instruments listed than the slab can hold",
    MMR_BELOW_MAX_MOVE: "maintenance margin below the oracle's bounded move",
    HEARTBEAT_ORDER: "oracle staleness limit not above its heartbeat",
    POOL_SHAPE: "pool capacities inconsistent",
    ARENA_TOO_LARGE: "slab arena larger than MAX_ARENA_BYTES",
    LAYOUT_UNAVAILABLE: "slab layout module unavailable; memory bound not verified",
}


@dataclass(frozen=True, order=True)
class CurveScriptError:
    """One finding: where (1-based ``line``/``col``), which rule (``code``), what to do."""

    line: int
    col: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.line}:{self.col}: {self.code} {self.message}"


class CurveScriptErrors(Exception):
    """Raised when a source has any error; carries *all* of them, sorted by position."""

    def __init__(self, errors: list[CurveScriptError] | tuple[CurveScriptError, ...], source_name: str = "<curvescript>"):
        self.errors: tuple[CurveScriptError, ...] = tuple(sorted(errors))
        self.source_name = source_name
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(f"{self.source_name}:{e}" for e in self.errors)

    @property
    def codes(self) -> list[str]:
        return [e.code for e in self.errors]
