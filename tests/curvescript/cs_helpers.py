"""Shared helpers for the CurveScript, manifest and genesis tests.

``STUB_LAYOUT`` stands in for ``executor.slab.layout`` wherever a test is about something
other than the arena bound, so those tests do not depend on another module's numbers; the
arena bound itself is tested against the real module in ``test_curvescript_arena.py``.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace

from solders.keypair import Keypair

from executor.curvescript import CurveScriptErrors, compile_source

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "executor" / "curvescript" / "examples"
DEVNET_CURVE = EXAMPLES / "devnet.curve"
DEVNET_TOML = EXAMPLES / "devnet-genesis.toml"

STUB_LAYOUT = SimpleNamespace(
    __name__="tests.stub_layout",
    MAX_ARENA_BYTES=10 * 1024 * 1024,
    arena_size=lambda **caps: 4096 + 64 * sum(caps.values()),
)


def test_key(i: int) -> str:
    """Deterministic, valid base58 ed25519 public key number ``i``."""
    return str(Keypair.from_seed(hashlib.sha256(b"assetl2-test-key-%d" % i).digest()).pubkey())


KEYS = [test_key(i) for i in range(5)]

# Line numbers matter: the checker tests assert exact positions in this text.
BASE = f'''ROUTER {{
    COLLATERAL asset=USDC vault_cap_atoms=1000000000
    CAP_TTL ms=60000
    RESERVATION_BATCH ms=50
    FEE_CAP maker_bps=10 taker_bps=20
}}
INSTRUMENT "BTC-PERP" {{
    ORACLE ref="px"
    CONTRACT size=1000
    TICK price_e6=100000
    LOT size=1
    PRICE_BAND bps=1000
    FUNDING interval_ms=3600000 cap_bps=75
}}
ORACLE "px" {{
    FEEDER key="{KEYS[0]}"
    HEARTBEAT ms=500
    MAX_MOVE bps=300
}}
SLAB "book:A" {{
    ORACLE ref="px"
    LIST instrument="BTC-PERP"
    MAKER_CLASS DLP allowance=100
    FEE maker_bps=1 taker_bps=5
    RISK imr_bps=500 mmr_bps=350
    ANTI_TOXICITY kill_band_bps=75
    POOLS accounts=16 orders=64 positions=16 reservations=16 slices=32 trades=16
    REGISTRY e_max_atoms=1000000
}}
INSTRUMENT "ETH-PERP" {{
    ORACLE ref="px"
    CONTRACT size=10000
    TICK price_e6=10000
    LOT size=1
    PRICE_BAND bps=1000
    FUNDING interval_ms=3600000 cap_bps=75
}}
'''


def compile_stub(source: str):
    return compile_source(source, layout=STUB_LAYOUT)


def errors_of(source: str, layout=STUB_LAYOUT) -> list[tuple[str, int, int]]:
    """``(code, line, col)`` of every error, or [] if the source compiles."""
    try:
        compile_source(source, layout=layout)
    except CurveScriptErrors as exc:
        return [(e.code, e.line, e.col) for e in exc.errors]
    return []


def pos_of(source: str, needle: str, nth: int = 1) -> tuple[int, int]:
    """1-based (line, col) of the ``nth`` occurrence of ``needle``."""
    start = -1
    for _ in range(nth):
        start = source.index(needle, start + 1)
    line = source.count("\n", 0, start) + 1
    col = start - (source.rfind("\n", 0, start) + 1) + 1
    return line, col


def edit(source: str, old: str, new: str) -> str:
    assert source.count(old) == 1, f"{old!r} must occur exactly once"
    return source.replace(old, new)
