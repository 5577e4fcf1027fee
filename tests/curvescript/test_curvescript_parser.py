"""Lexer and parser: positions of syntax errors, recovery, and the canonical printer."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from executor.curvescript import errors as E
from executor.curvescript import format_program, parse, parse_with_errors
from executor.curvescript.tree import BLOCK_KINDS, BOOL, IDENT, INT, STR, Arg, Block, Program, Statement, Value

from cs_helpers import BASE, DEVNET_CURVE, edit, errors_of, pos_of

SEED_000_SECTION_1 = '''ROUTER {
    COLLATERAL asset=USDC vault_cap=50000000
    PORTFOLIO_MARGIN model="cross_alpha" correl_matrix="router::correlations::v1"
    CAP_TTL ms=120000
    RESERVATION_BATCH ms=50
}

SLAB "perp:SOL-PERP" {
    MAKER_CLASS DLP allowance=5000000
    MATCHING fifo=true pending_promotion=true
    FEE maker_bps=2 taker_bps=5 rebate_delay_ms=50
    RISK imr_bps=500 mmr_bps=350
    ANTI_TOXICITY kill_band_bps=75 jit_penalty=true arg_tax_bps=10
}

ORACLE "pyth:SOLUSD" {
    HEARTBEAT ms=500
    KILL_BAND_SYNC router_ref="ROUTER"
}
'''


def test_seed_000_example_parses_into_three_blocks():
    prog = parse(SEED_000_SECTION_1)
    assert [b.kind for b in prog.blocks] == ["ROUTER", "SLAB", "ORACLE"]
    slab = prog.blocks[1]
    assert slab.name == "perp:SOL-PERP"
    mc = slab.statements[0]
    assert (mc.keyword, mc.positional[0].value, mc.args[0].name, mc.args[0].value.value) == \
        ("MAKER_CLASS", "DLP", "allowance", 5000000)
    assert prog.blocks[0].statements[1].args[0].value == Value(STR, "cross_alpha")
    assert slab.statements[1].args[0].value == Value(BOOL, True)


def test_positions_are_one_based_line_and_column():
    prog = parse(SEED_000_SECTION_1)
    st_ = prog.blocks[1].statements[2]
    assert (st_.pos.line, st_.pos.col) == pos_of(SEED_000_SECTION_1, "FEE maker_bps") == (11, 5)
    assert (st_.args[1].value.pos.line, st_.args[1].value.pos.col) == (11, 31)


def test_integer_digit_groups_and_negative_values():
    prog = parse("SLAB \"s\" {\n    FEE maker_bps=-2 taker_bps=1_000\n}\n")
    args = prog.blocks[0].statements[0].args
    assert [a.value.value for a in args] == [-2, 1000]


def test_comments_and_blank_lines_do_not_change_the_tree():
    a = parse(SEED_000_SECTION_1)
    noisy = "# header comment\n\n" + SEED_000_SECTION_1.replace("CAP_TTL ms=120000", "CAP_TTL   ms=120_000   # two minutes")
    assert parse(noisy) == a


def _one(source, code, needle, nth=1):
    assert errors_of(source) == [(code, *pos_of(source, needle, nth))]


def test_unexpected_character_is_reported_where_it_is():
    _one(edit(BASE, "CAP_TTL ms=60000", "CAP_TTL ms=60000 @"), E.UNEXPECTED_CHAR, "@")


def test_unterminated_string():
    _one(edit(BASE, 'LIST instrument="BTC-PERP"', 'LIST instrument="BTC-PERP'), E.UNTERMINATED_STRING, '"BTC-PERP', 2)


def test_backslash_in_string_points_at_the_backslash():
    _one(edit(BASE, 'LIST instrument="BTC-PERP"', 'LIST instrument="BTC\\PERP"'), E.BAD_STRING_CHAR, "\\")


def test_malformed_integer():
    _one(edit(BASE, "CAP_TTL ms=60000", "CAP_TTL ms=60k"), E.BAD_NUMBER, "60k")


def test_oversized_integer():
    src = edit(BASE, "CAP_TTL ms=60000", "CAP_TTL ms=" + "9" * 40)
    _one(src, E.BAD_NUMBER, "9" * 40)


def test_missing_value_after_equals():
    src = edit(BASE, "CAP_TTL ms=60000", "CAP_TTL ms=")
    line, col = pos_of(src, "CAP_TTL ms=")
    assert errors_of(src) == [(E.UNEXPECTED_TOKEN, line, col + len("CAP_TTL ms="))]


def test_unknown_block_is_skipped_with_its_body():
    src = BASE + 'MARKET "x" {\n    FOO a=1\n}\n'
    _one(src, E.UNKNOWN_BLOCK, "MARKET")


def test_positional_after_named_argument():
    _one(edit(BASE, "MAKER_CLASS DLP allowance=100", "MAKER_CLASS allowance=100 DLP"), E.POSITIONAL_AFTER_NAMED, "DLP")


def test_unclosed_block_points_at_its_header():
    src = BASE.rstrip("\n")
    src = src[: src.rindex("}")]
    _one(src, E.UNCLOSED_BLOCK, 'INSTRUMENT "ETH-PERP"')


def test_header_without_name():
    _one(edit(BASE, 'ORACLE "px" {', "ORACLE {"), E.BAD_HEADER, "{", 3)


def test_nested_block_is_rejected():
    src = edit(BASE, "    REGISTRY e_max_atoms=1000000\n", "    REGISTRY e_max_atoms=1000000\n    ORACLE \"x\" {\n    }\n")
    line, col = pos_of(src, 'ORACLE "x" {')
    assert errors_of(src) == [(E.UNEXPECTED_TOKEN, line, col + len('ORACLE "x" '))]


def test_all_syntax_errors_are_collected():
    src = edit(BASE, "CAP_TTL ms=60000", "CAP_TTL ms=60k")
    src = edit(src, "MAX_MOVE bps=300", "MAX_MOVE bps=300 $")
    src = edit(src, "MAKER_CLASS DLP allowance=100", "MAKER_CLASS allowance=100 DLP")
    codes = [c for c, _, _ in errors_of(src)]
    assert codes == [E.BAD_NUMBER, E.UNEXPECTED_CHAR, E.POSITIONAL_AFTER_NAMED]


def test_error_text_reads_line_col_code_message():
    _, errs = parse_with_errors("ROUTER {\n    CAP_TTL ms=1 ?\n}\n")
    assert str(errs[0]).startswith("2:18: CS100 unexpected character '?'")


# -- canonical printer ----------------------------------------------------------------

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = _UPPER.lower()
_DIGITS = "0123456789"


def _word(first: str, rest: str):
    return st.builds(lambda a, b: a + b, st.sampled_from(first), st.text(st.sampled_from(rest), max_size=8))


_ident = _word(_UPPER + _LOWER + "_", _UPPER + _LOWER + _DIGITS + "_").filter(lambda s: s not in ("true", "false"))
_value = st.one_of(
    st.builds(lambda v: Value(INT, v), st.integers(-(2**128 - 1), 2**128 - 1)),
    st.builds(lambda v: Value(STR, v),
              st.text(st.characters(min_codepoint=32, max_codepoint=126, blacklist_characters='"\\'), max_size=12)),
    st.builds(lambda v: Value(BOOL, v), st.booleans()),
    st.builds(lambda v: Value(IDENT, v), _ident),
)
_statement = st.builds(
    Statement,
    keyword=_word(_UPPER, _UPPER + _DIGITS + "_"),
    positional=st.lists(_value, max_size=2).map(tuple),
    args=st.lists(st.builds(Arg, name=_word(_LOWER + "_", _LOWER + _DIGITS + "_"), value=_value),
                  max_size=4).map(tuple),
)
_name = st.text(st.characters(min_codepoint=32, max_codepoint=126, blacklist_characters='"\\'), max_size=16)


@st.composite
def _block(draw):
    kind = draw(st.sampled_from(BLOCK_KINDS))
    name = None if kind == "ROUTER" else draw(_name)
    slab_kind = draw(st.none() | st.builds(lambda v: Value(IDENT, v), _ident)) if kind == "SLAB" else None
    return Block(kind, name, slab_kind, tuple(draw(st.lists(_statement, max_size=5))))


@settings(max_examples=100, deadline=None)
@given(st.lists(_block(), max_size=5).map(lambda bs: Program(tuple(bs))))
def test_parse_of_print_is_identity(prog):
    text = format_program(prog)
    assert parse(text) == prog
    assert format_program(parse(text)) == text


def test_devnet_example_reformats_to_a_fixed_point():
    prog = parse(DEVNET_CURVE.read_text())
    once = format_program(prog)
    assert format_program(parse(once)) == once
    assert "#" not in once and "_000" not in once


@settings(max_examples=200, deadline=None)
@given(st.text(st.sampled_from('ROUTERSLABORACLEINSTRUMENTKIND{}="#\n -_019azé\\'), max_size=80))
def test_arbitrary_text_yields_errors_with_positions_never_an_exception(text):
    prog, errs = parse_with_errors(text)
    lines = text.split("\n")
    for e in errs:
        assert 1 <= e.line <= len(lines) and 1 <= e.col <= len(lines[e.line - 1]) + 1
        assert e.code in E.TITLES
    if not errs:
        assert parse(format_program(prog)) == prog
