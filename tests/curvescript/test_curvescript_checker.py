"""Type checker: every error code, at the exact line:column, and all errors at once."""
from __future__ import annotations

import pytest

from executor.curvescript import errors as E
from executor.curvescript.errors import TITLES

from cs_helpers import BASE, KEYS, compile_stub, edit, errors_of, pos_of

AMM_SLAB = '''SLAB "amm:A" KIND amm {
    ORACLE ref="px"
    LIST instrument="BTC-PERP"
    FEE maker_bps=0 taker_bps=10
    RISK imr_bps=1000 mmr_bps=500
    ANTI_TOXICITY kill_band_bps=100
    POOLS accounts=16 orders=1 positions=16 reservations=16 slices=16 trades=16
    REGISTRY e_max_atoms=1000
    AMM base_reserve=1000 quote_reserve_atoms=1000000
}
'''


def test_base_and_amm_compile_cleanly():
    c = compile_stub(BASE + AMM_SLAB)
    assert [s.slab_id for s in c.config.slabs] == ["amm:A", "book:A"]
    amm = c.config.slab("amm:A")
    assert (amm.kind, amm.matching, amm.maker_classes, amm.amm.base_reserve) == ("amm", None, (), 1000)


def test_defaults_are_filled_from_the_schema_and_the_router():
    cfg = compile_stub(BASE).config
    slab = cfg.slab("book:A")
    assert slab.batch_ms == cfg.router.batch_ms == 50
    assert slab.fee_cap == cfg.router.fee_cap
    assert slab.pools.instruments == 1
    assert (slab.anti_toxicity.jit_penalty, slab.anti_toxicity.arg_tax_bps, slab.anti_toxicity.top_k) == (True, 0, 0)
    assert (slab.matching.fifo, slab.matching.pending_promotion, slab.matching.stp) == (True, True, "cancel_taker")
    px = cfg.oracle("px")
    assert (px.quorum, px.max_age_ms, px.kill_band_router_ref) == (1, 1500, "")
    assert cfg.instrument("BTC-PERP").min_size == 1
    assert cfg.router.portfolio_margin.model == "net_per_instrument"
    assert cfg.router.collateral.decimals == 6


def at(src: str, needle: str, nth: int = 1, offset: int = 0) -> tuple[int, int]:
    line, col = pos_of(src, needle, nth)
    return line, col + offset


def value_at(src: str, text: str, nth: int = 1) -> tuple[int, int]:
    """Position of the value in ``name=value``."""
    return at(src, text, nth, text.index("=") + 1)


# (id, mutated source, expected code, expected position) -- one case per check
def _cases():
    def case(name, src, code, pos):
        return pytest.param(src, code, pos, id=f"{code}-{name}")

    s = edit(BASE, "    CAP_TTL ms=60000\n", "    BOGUS x=1\n    CAP_TTL ms=60000\n")
    yield case("unknown-statement", s, E.UNKNOWN_STATEMENT, at(s, "BOGUS"))
    s = edit(BASE, "CAP_TTL ms=60000", "CAP_TTL ms=60000 sec=1")
    yield case("unknown-argument", s, E.UNKNOWN_ARGUMENT, at(s, "sec=1"))
    s = edit(BASE, "CAP_TTL ms=60000", "CAP_TTL ms=60000 ms=1")
    yield case("duplicate-argument", s, E.DUPLICATE_ARGUMENT, at(s, "60000 ms=1", offset=6))
    s = edit(BASE, "FEE_CAP maker_bps=10 taker_bps=20", "FEE_CAP maker_bps=10")
    yield case("missing-argument", s, E.MISSING_ARGUMENT, at(s, "FEE_CAP"))
    s = edit(BASE, "CAP_TTL ms=60000", 'CAP_TTL ms="60000"')
    yield case("wrong-type", s, E.WRONG_TYPE, value_at(s, 'ms="60000"'))
    s = edit(BASE, "CAP_TTL ms=60000", "CAP_TTL ms=120001")
    yield case("cap-ttl-over-120s", s, E.OUT_OF_RANGE, value_at(s, "ms=120001"))
    s = edit(BASE, "RISK imr_bps=500", "RISK imr_bps=10001")
    yield case("bps-over-10000", s, E.OUT_OF_RANGE, value_at(s, "imr_bps=10001"))
    s = edit(BASE, "MAKER_CLASS DLP", "MAKER_CLASS VIP")
    yield case("maker-class", s, E.BAD_ENUM, at(s, "VIP"))
    s = edit(BASE, 'SLAB "book:A" {', 'SLAB "book:A" KIND pool {')
    yield case("slab-kind", s, E.BAD_ENUM, at(s, "pool"))
    s = edit(BASE, "    CAP_TTL ms=60000\n", "    CAP_TTL ms=60000\n    CAP_TTL ms=1000\n")
    yield case("duplicate-statement", s, E.DUPLICATE_STATEMENT, at(s, "CAP_TTL", 2))
    s = edit(BASE, "    CAP_TTL ms=60000\n", "")
    yield case("missing-statement", s, E.MISSING_STATEMENT, at(s, "ROUTER"))
    s = edit(BASE, "MAKER_CLASS DLP allowance=100", "MAKER_CLASS allowance=100")
    yield case("positional", s, E.BAD_POSITIONAL, at(s, "MAKER_CLASS"))
    s = edit(BASE, 'INSTRUMENT "ETH-PERP"', 'INSTRUMENT "eth perp"')
    yield case("instrument-name", s, E.BAD_NAME, at(s, '"eth perp"'))
    s = edit(BASE, "asset=USDC", "asset=usdc")
    yield case("asset-symbol", s, E.BAD_NAME, at(s, "usdc"))
    s = edit(BASE, KEYS[0], KEYS[0][:-2])
    yield case("pubkey", s, E.BAD_PUBKEY, at(s, '"' + KEYS[0][:-2]))
    s = edit(BASE, KEYS[0], "11111111111111111111111111111111")
    yield case("zero-pubkey", s, E.BAD_PUBKEY, at(s, '"1111'))
    s = BASE.replace("ROUTER {", "XROUTER {").replace("XROUTER {\n", "", 1)
    s = s[s.index("INSTRUMENT"):]
    yield case("missing-router", s, E.MISSING_ROUTER, (1, 1))
    s = BASE + 'ROUTER {\n    COLLATERAL asset=USDC vault_cap_atoms=1\n    CAP_TTL ms=1\n    RESERVATION_BATCH ms=50\n' \
               '    FEE_CAP maker_bps=1 taker_bps=1\n}\n'
    yield case("duplicate-router", s, E.DUPLICATE_ROUTER, at(s, "ROUTER", 2))
    s = BASE + 'INSTRUMENT "ETH-PERP" {\n    ORACLE ref="px"\n    CONTRACT size=1\n    TICK price_e6=1\n    LOT size=1\n' \
               '    PRICE_BAND bps=1\n    FUNDING interval_ms=1000 cap_bps=1\n}\n'
    yield case("duplicate-instrument", s, E.DUPLICATE_NAME, at(s, '"ETH-PERP"', 2))
    s = edit(BASE, 'LIST instrument="BTC-PERP"', 'LIST instrument="BTC-PERP"\n    LIST instrument="BTC-PERP"')
    yield case("duplicate-list", s, E.DUPLICATE_NAME, value_at(s, 'instrument="BTC-PERP"', 2))
    s = edit(BASE, f'    FEEDER key="{KEYS[0]}"\n', f'    FEEDER key="{KEYS[0]}"\n    FEEDER key="{KEYS[0]}"\n')
    yield case("duplicate-feeder", s, E.DUPLICATE_NAME, value_at(s, f'key="{KEYS[0]}"', 2))
    s = edit(BASE, "    MAKER_CLASS DLP allowance=100\n", "    MAKER_CLASS DLP allowance=100\n    MAKER_CLASS DLP allowance=5\n")
    yield case("duplicate-maker-class", s, E.DUPLICATE_NAME, at(s, "MAKER_CLASS", 2))
    s = BASE[: BASE.index('SLAB "book:A"')] + BASE[BASE.index('INSTRUMENT "ETH-PERP"'):]
    yield case("no-slab", s, E.MISSING_BLOCKS, (1, 1))
    s = edit(BASE, '    ORACLE ref="px"\n    LIST', '    ORACLE ref="nope"\n    LIST')
    yield case("slab-oracle", s, E.UNKNOWN_ORACLE, value_at(s, 'ref="nope"'))
    s = edit(BASE, '    ORACLE ref="px"\n    CONTRACT size=1000\n', '    ORACLE ref="nope"\n    CONTRACT size=1000\n')
    yield case("instrument-oracle", s, E.UNKNOWN_ORACLE, value_at(s, 'ref="nope"'))
    s = edit(BASE, 'LIST instrument="BTC-PERP"', 'LIST instrument="SOL-PERP"')
    yield case("list", s, E.UNKNOWN_INSTRUMENT, value_at(s, 'instrument="SOL-PERP"'))
    s = edit(BASE, '    ORACLE ref="px"\n    LIST', '    ORACLE ref="px2"\n    LIST') + \
        f'ORACLE "px2" {{\n    FEEDER key="{KEYS[1]}"\n    HEARTBEAT ms=500\n    MAX_MOVE bps=300\n}}\n'
    yield case("slab-vs-instrument", s, E.ORACLE_MISMATCH, value_at(s, 'instrument="BTC-PERP"'))
    s = edit(BASE, "    REGISTRY e_max_atoms=1000000\n", "    REGISTRY e_max_atoms=1000000\n    RESERVATION_BATCH ms=61\n")
    yield case("batch-61-vs-50", s, E.BATCH_MISMATCH, value_at(s, "ms=61"))
    s = edit(BASE, "    MAX_MOVE bps=300\n", '    MAX_MOVE bps=300\n    KILL_BAND_SYNC router_ref="R2"\n')
    yield case("router-ref", s, E.BAD_ROUTER_REF, value_at(s, 'router_ref="R2"'))
    s = edit(BASE, "mmr_bps=350", "mmr_bps=500")
    yield case("mmr-not-below-imr", s, E.MARGIN_ORDER, value_at(s, "mmr_bps=500"))
    s = edit(BASE, "FEE maker_bps=1 taker_bps=5", "FEE maker_bps=1 taker_bps=25")
    yield case("fee-over-cap", s, E.FEE_ABOVE_CAP, value_at(s, "taker_bps=25"))
    s = edit(BASE, "    REGISTRY e_max_atoms=1000000\n", "    REGISTRY e_max_atoms=1000000\n    FEE_CAP maker_bps=11 taker_bps=20\n")
    yield case("slab-cap-over-router-cap", s, E.FEE_ABOVE_CAP, value_at(s, "maker_bps=11"))
    s = edit(BASE, "FEE maker_bps=1 taker_bps=5", "FEE maker_bps=-6 taker_bps=5")
    yield case("rebate", s, E.REBATE_EXCEEDS_TAKER, value_at(s, "maker_bps=-6"))
    s = edit(BASE, "ANTI_TOXICITY kill_band_bps=75", "ANTI_TOXICITY kill_band_bps=75 freeze_ms=60 top_k=2")
    yield case("freeze", s, E.FREEZE_EXCEEDS_BATCH, value_at(s, "freeze_ms=60"))
    s = edit(BASE, "    LOT size=1\n    PRICE_BAND bps=1000\n    FUNDING interval_ms=3600000 cap_bps=75\n}\nORACLE",
             "    LOT size=2 min_size=3\n    PRICE_BAND bps=1000\n    FUNDING interval_ms=3600000 cap_bps=75\n}\nORACLE")
    yield case("lot", s, E.LOT_ALIGNMENT, value_at(s, "min_size=3"))
    s = edit(BASE + AMM_SLAB, "    REGISTRY e_max_atoms=1000\n", "    REGISTRY e_max_atoms=1000\n    MAKER_CLASS DLP allowance=1\n")
    yield case("amm-maker-class", s, E.AMM_SHAPE, at(s, "MAKER_CLASS", 2))
    s = edit(BASE + AMM_SLAB, "    LIST instrument=\"BTC-PERP\"\n    FEE maker_bps=0 taker_bps=10",
             "    LIST instrument=\"BTC-PERP\"\n    LIST instrument=\"ETH-PERP\"\n    FEE maker_bps=0 taker_bps=10")
    yield case("amm-two-instruments", s, E.AMM_SHAPE, at(s, 'SLAB "amm:A"'))
    s = edit(BASE + AMM_SLAB, "FEE maker_bps=0 taker_bps=10", "FEE maker_bps=2 taker_bps=10")
    yield case("amm-maker-fee", s, E.AMM_SHAPE, value_at(s, "maker_bps=2 taker_bps=10"))
    s = edit(BASE + AMM_SLAB, "ANTI_TOXICITY kill_band_bps=100", "ANTI_TOXICITY kill_band_bps=100 top_k=1")
    yield case("amm-freeze", s, E.AMM_SHAPE, value_at(s, "top_k=1"))
    s = edit(BASE + AMM_SLAB, "    AMM base_reserve=1000 quote_reserve_atoms=1000000\n", "")
    yield case("amm-without-reserves", s, E.MISSING_STATEMENT, at(s, 'SLAB "amm:A"'))
    s = edit(BASE, "    REGISTRY e_max_atoms=1000000\n", "    REGISTRY e_max_atoms=1000000\n    AMM base_reserve=1 quote_reserve_atoms=1\n")
    yield case("book-with-amm", s, E.AMM_SHAPE, at(s, "AMM base_reserve"))
    s = edit(BASE, "    MAKER_CLASS DLP allowance=100\n", "")
    yield case("book-without-maker-class", s, E.MISSING_STATEMENT, at(s, 'SLAB "book:A"'))
    s = edit(BASE, "    MAX_MOVE bps=300\n", "    MAX_MOVE bps=300\n    QUORUM min=2\n")
    yield case("quorum", s, E.QUORUM_EXCEEDS_FEEDERS, value_at(s, "min=2"))
    s = edit(BASE, "    CAP_TTL ms=60000\n",
             '    CAP_TTL ms=60000\n    CORRELATION a="BTC-PERP" b="ETH-PERP" offset_bps=5000\n')
    yield case("correlation-without-cross-alpha", s, E.MODEL_MISMATCH, at(s, "CORRELATION"))
    s = edit(BASE, "    CAP_TTL ms=60000\n", "    CAP_TTL ms=60000\n    PORTFOLIO_MARGIN model=cross_alpha\n")
    yield case("cross-alpha-without-matrix", s, E.MODEL_MISMATCH, at(s, "PORTFOLIO_MARGIN"))
    s = edit(BASE, "    CAP_TTL ms=60000\n", '    CAP_TTL ms=60000\n    PORTFOLIO_MARGIN model=cross_alpha correl_matrix="m"\n'
                                             '    CORRELATION a="BTC-PERP" b="SOL-PERP" offset_bps=5000\n')
    yield case("correlation-instrument", s, E.UNKNOWN_INSTRUMENT, value_at(s, 'b="SOL-PERP"'))
    s = edit(BASE, "    CAP_TTL ms=60000\n", '    CAP_TTL ms=60000\n    PORTFOLIO_MARGIN model=cross_alpha correl_matrix="m"\n'
                                             '    CORRELATION a="BTC-PERP" b="ETH-PERP" offset_bps=5000\n'
                                             '    CORRELATION a="ETH-PERP" b="BTC-PERP" offset_bps=4000\n')
    yield case("correlation-pair-twice", s, E.DUPLICATE_NAME, at(s, "CORRELATION", 2))
    s = edit(BASE, "    REGISTRY e_max_atoms=1000000\n", "    REGISTRY e_max_atoms=1000000\n    MATCHING fifo=false\n")
    yield case("fifo", s, E.MATCHING_UNSUPPORTED, value_at(s, "fifo=false"))
    s = edit(BASE, 'LIST instrument="BTC-PERP"', 'LIST instrument="BTC-PERP"\n    LIST instrument="ETH-PERP"')
    s = edit(s, "POOLS accounts=16", "POOLS instruments=1 accounts=16")
    yield case("instrument-slots", s, E.INSTRUMENT_CAPACITY, value_at(s, "instruments=1"))
    s = edit(BASE, "MAX_MOVE bps=300", "MAX_MOVE bps=400")
    yield case("bounded-move", s, E.MMR_BELOW_MAX_MOVE, value_at(s, "mmr_bps=350"))
    s = edit(BASE, "    MAX_MOVE bps=300\n", "    MAX_MOVE bps=300\n    STALENESS max_age_ms=500\n")
    yield case("staleness", s, E.HEARTBEAT_ORDER, value_at(s, "max_age_ms=500"))
    s = edit(BASE, "slices=32", "slices=8")
    yield case("slices", s, E.POOL_SHAPE, value_at(s, "slices=8"))


@pytest.mark.parametrize("src, code, pos", list(_cases()))
def test_each_check_reports_its_code_at_the_offending_text(src, code, pos):
    assert errors_of(src) == [(code, *pos)]


def test_every_published_code_is_exercised_somewhere():
    parser_codes = {E.UNEXPECTED_CHAR, E.UNTERMINATED_STRING, E.BAD_STRING_CHAR, E.BAD_NUMBER, E.UNEXPECTED_TOKEN,
                    E.UNKNOWN_BLOCK, E.POSITIONAL_AFTER_NAMED, E.UNCLOSED_BLOCK, E.BAD_HEADER}   # test_curvescript_parser
    arena_codes = {E.ARENA_TOO_LARGE, E.LAYOUT_UNAVAILABLE}                                       # test_curvescript_arena
    checked = {p.values[1] for p in _cases()}
    assert set(TITLES) == parser_codes | arena_codes | checked


def test_all_errors_are_collected_sorted_by_position():
    s = edit(BASE, "CAP_TTL ms=60000", "CAP_TTL ms=0")
    s = edit(s, "MAX_MOVE bps=300", "MAX_MOVE bps=400")
    s = edit(s, 'LIST instrument="BTC-PERP"', 'LIST instrument="SOL-PERP"')
    s = edit(s, "mmr_bps=350", "mmr_bps=600")
    assert errors_of(s) == [
        (E.OUT_OF_RANGE, *value_at(s, "ms=0")),
        (E.UNKNOWN_INSTRUMENT, *value_at(s, 'instrument="SOL-PERP"')),
        (E.MARGIN_ORDER, *value_at(s, "mmr_bps=600")),
    ]


def test_a_block_with_schema_errors_still_counts_for_cross_references():
    # The oracle block is broken, but slabs naming it must not also report "unknown oracle".
    s = edit(BASE, "HEARTBEAT ms=500", "HEARTBEAT ms=0")
    assert errors_of(s) == [(E.OUT_OF_RANGE, *value_at(s, "ms=0"))]


def test_messages_name_the_fix():
    from executor.curvescript import CurveScriptErrors, compile_source
    from cs_helpers import STUB_LAYOUT
    s = edit(BASE, "    REGISTRY e_max_atoms=1000000\n", "    REGISTRY e_max_atoms=1000000\n    RESERVATION_BATCH ms=61\n")
    with pytest.raises(CurveScriptErrors) as exc:
        compile_source(s, source_name="x.curve", layout=STUB_LAYOUT)
    line, col = value_at(s, "ms=61")
    assert str(exc.value) == (f"x.curve:{line}:{col}: CS403 RESERVATION_BATCH ms=61 differs from the router's 50 ms "
                              "by more than 10 ms; use 40..60")


def test_batch_window_at_the_tolerance_edge_is_accepted():
    for ms in (40, 60):
        s = edit(BASE, "    REGISTRY e_max_atoms=1000000\n", f"    REGISTRY e_max_atoms=1000000\n    RESERVATION_BATCH ms={ms}\n")
        assert compile_stub(s).config.slab("book:A").batch_ms == ms


def test_an_argument_repeated_after_an_invalid_first_use_is_still_a_duplicate():
    s = edit(BASE, "CAP_TTL ms=60000", "CAP_TTL ms=0 ms=0")
    assert errors_of(s) == [(E.OUT_OF_RANGE, *value_at(s, "ms=0")), (E.DUPLICATE_ARGUMENT, *at(s, "ms=0", 2))]
