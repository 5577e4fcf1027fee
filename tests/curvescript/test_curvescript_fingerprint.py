"""Canonical configuration: render/compile round trip and fingerprint stability (DESIGN §6)."""
from __future__ import annotations

import dataclasses
import hashlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from executor.curvescript import (CONFIG_FORMAT, AmmConfig, AntiToxicityConfig, CollateralConfig, Config,
                                  CorrelationConfig, FeeCapConfig, FeeConfig, InstrumentConfig, LiquidationConfig,
                                  MakerClassConfig, MatchingConfig, OracleConfig, PoolsConfig, PortfolioMarginConfig,
                                  RegistryConfig, RiskConfig, RouterConfig, SlabConfig, canonical_bytes,
                                  config_from_canonical,
                                  decode_pubkey, fingerprint, render_config)
from executor.curvescript.schema import U64_MAX
from executor.manifest import transcript_text

from cs_helpers import KEYS, compile_stub

RAW_KEYS = sorted(decode_pubkey(k) for k in KEYS)
SYMBOLS = ["BTC-PERP", "ETH-PERP", "SOL-PERP"]


@st.composite
def configs(draw) -> Config:
    """Random *valid* canonical configurations (every relation of the checker holds)."""
    u64 = st.integers(1, U64_MAX)
    bps = st.integers(0, 10_000)
    oracle_ids = draw(st.lists(st.sampled_from(["px", "pyth:BTCUSD", "feed/2"]), min_size=1, max_size=3, unique=True))
    max_move = {o: draw(st.integers(1, 300)) for o in oracle_ids}
    oracles = []
    for o in sorted(oracle_ids):
        feeders = tuple(sorted(draw(st.lists(st.sampled_from(RAW_KEYS), min_size=1, max_size=4, unique=True))))
        hb = draw(st.integers(1, 60_000))
        oracles.append(OracleConfig(o, feeders, draw(st.integers(1, len(feeders))), hb,
                                    draw(st.integers(hb + 1, 600_000)) if hb < 600_000 else 600_000,
                                    max_move[o], draw(st.sampled_from(["", "ROUTER"]))))
    syms = sorted(draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=3, unique=True)))
    instruments = []
    for s in syms:
        lot = draw(st.integers(1, 1000))
        instruments.append(InstrumentConfig(
            s, draw(st.sampled_from(sorted(oracle_ids))), draw(u64), draw(u64), lot, lot * draw(st.integers(1, 100)),
            draw(st.integers(1, 10_000)), draw(st.integers(1_000, 86_400_000)), draw(bps)))
    cross = draw(st.booleans()) and len(syms) >= 2
    pairs = [(a, b) for i, a in enumerate(syms) for b in syms[i + 1:]]
    corrs = tuple(CorrelationConfig(a, b, draw(bps))
                  for a, b in sorted(draw(st.lists(st.sampled_from(pairs), unique=True)))) if cross else ()
    batch = draw(st.integers(11, 10_000))
    cap = FeeCapConfig(draw(st.integers(0, 1_000)), draw(st.integers(0, 1_000)))
    router = RouterConfig(
        CollateralConfig(draw(st.sampled_from(["USDC", "USDT", "U1"])), draw(st.integers(0, 18)), draw(u64)),
        PortfolioMarginConfig("cross_alpha", "router::correlations::v1", corrs) if cross
        else PortfolioMarginConfig("net_per_instrument", "", ()),
        draw(st.integers(1, 120_000)), batch,
        LiquidationConfig(draw(st.integers(0, 600_000)), draw(st.integers(1, 10_000)), draw(bps)), cap)
    slabs = []
    for slab_id in sorted(draw(st.lists(st.sampled_from(["book:A", "book:B", "amm:A", "x.y/z"]),
                                        min_size=1, max_size=4, unique=True))):
        first = draw(st.sampled_from(instruments))
        same = [i.symbol for i in instruments if i.oracle == first.oracle]
        amm = slab_id.startswith("amm")
        listed = (first.symbol,) if amm else tuple(sorted(draw(st.lists(st.sampled_from(same), min_size=1, unique=True))))
        sb = draw(st.integers(batch - 10, batch + 10).filter(lambda v: 1 <= v <= 10_000))
        scap = FeeCapConfig(draw(st.integers(0, cap.maker_bps)), draw(st.integers(0, cap.taker_bps)))
        taker = draw(st.integers(0, scap.taker_bps))
        maker = 0 if amm else draw(st.integers(-min(taker, 1_000), scap.maker_bps))
        imr = draw(st.integers(301, 10_000))
        reservations = draw(st.integers(1, 1 << 10))
        slabs.append(SlabConfig(
            slab_id, "amm" if amm else "book", first.oracle, listed, sb,
            () if amm else tuple(MakerClassConfig(c, draw(st.integers(0, U64_MAX)))
                                 for c in sorted(draw(st.lists(st.sampled_from(["DLP", "REG"]), min_size=1, unique=True)))),
            None if amm else MatchingConfig(True, draw(st.booleans()),
                                            draw(st.sampled_from(["cancel_taker", "cancel_maker", "cancel_both"]))),
            FeeConfig(maker, taker, draw(st.integers(0, 60_000))), scap,
            RiskConfig(imr, draw(st.integers(300, imr - 1))),
            AntiToxicityConfig(draw(st.integers(1, 10_000)), draw(st.booleans()), draw(bps),
                               0 if amm else draw(st.integers(0, sb)), 0 if amm else draw(st.integers(0, 64))),
            PoolsConfig(draw(st.integers(len(listed), 32)), draw(st.integers(1, 1 << 10)), draw(st.integers(1, 1 << 10)),
                        draw(st.integers(1, 1 << 10)), reservations, draw(st.integers(reservations, 1 << 11)),
                        draw(st.integers(1, 1 << 10))),
            RegistryConfig(draw(st.integers(1, 60_000)), draw(st.integers(0, U64_MAX)), draw(st.booleans())),
            AmmConfig(draw(u64), draw(u64)) if amm else None))
    return Config(router, tuple(instruments), tuple(oracles), tuple(slabs))


@settings(max_examples=50, deadline=None)
@given(configs())
def test_compile_of_render_is_identity(cfg):
    compiled = compile_stub(render_config(cfg))
    assert compiled.config == cfg
    assert compiled.fingerprint == fingerprint(cfg)
    assert transcript_text(compiled).isascii()   # every passed check is a printable transcript line
    assert config_from_canonical(canonical_bytes(cfg)) == cfg


def _leaf_paths(obj, path=()):
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            yield from _leaf_paths(getattr(obj, f.name), path + (f.name,))
    elif isinstance(obj, tuple):
        for i, x in enumerate(obj):
            yield from _leaf_paths(x, path + (i,))
    elif obj is not None:
        yield path


def _replace(obj, path, fn):
    if not path:
        return fn(obj)
    head, rest = path[0], path[1:]
    if isinstance(obj, tuple):
        return obj[:head] + (_replace(obj[head], rest, fn),) + obj[head + 1:]
    return dataclasses.replace(obj, **{head: _replace(getattr(obj, head), rest, fn)})


def _bump(v):
    if isinstance(v, bool):
        return not v
    if isinstance(v, int):
        return v + 1
    if isinstance(v, bytes):
        return bytes([v[0] ^ 1]) + v[1:]
    return v + "x"


def test_every_semantic_change_changes_the_fingerprint(devnet_compiled):
    cfg = devnet_compiled.config
    seen = {fingerprint(cfg)}
    paths = list(_leaf_paths(cfg))
    assert len(paths) > 150
    for p in paths:
        seen.add(fingerprint(_replace(cfg, p, _bump)))
    assert len(seen) == len(paths) + 1


def test_canonical_bytes_are_sorted_key_json_with_integers_only(devnet_compiled):
    raw = canonical_bytes(devnet_compiled.config)
    doc = json.loads(raw)
    assert doc["format"] == CONFIG_FORMAT
    assert raw == json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    assert b"." not in raw.replace(b"router::correlations::v1", b"")  # no float literal anywhere
    assert devnet_compiled.fingerprint == hashlib.sha256(raw).digest()
    assert doc["config"]["oracles"][0]["feeders"] == [k.hex() for k in devnet_compiled.config.oracles[0].feeders]


def test_layout_changes_do_not_change_the_fingerprint(devnet_source):
    respaced = "\n\n".join("  # moved\n" + line.replace(" ", "    ") if line.strip().startswith(("ROUTER", "SLAB"))
                           else line.replace("=", "=").replace("  ", " ") for line in devnet_source.splitlines())
    assert compile_stub(respaced).fingerprint == compile_stub(devnet_source).fingerprint


def _blocks(text):
    """Split a source into top-level blocks (text from a block keyword to its closing brace)."""
    out, cur = [], []
    for line in text.splitlines():
        if line.startswith(("ROUTER", "INSTRUMENT", "ORACLE", "SLAB")):
            cur = [line]
        elif cur:
            cur.append(line)
            if line.startswith("}"):
                out.append("\n".join(cur))
                cur = []
    return out


def test_order_of_blocks_and_of_repeated_statements_does_not_matter(devnet_source):
    base = compile_stub(devnet_source)
    blocks = _blocks(devnet_source)
    reordered = "\n".join(reversed(blocks)) + "\n"
    reordered = reordered.replace('    MAKER_CLASS DLP allowance=5_000_000\n    MAKER_CLASS REG allowance=1_000_000\n',
                                  '    MAKER_CLASS REG allowance=1_000_000\n    MAKER_CLASS DLP allowance=5_000_000\n')
    reordered = reordered.replace('    LIST instrument="BTC-PERP"\n    LIST instrument="ETH-PERP"\n',
                                  '    LIST instrument="ETH-PERP"\n    LIST instrument="BTC-PERP"\n')
    reordered = reordered.replace('a="BTC-PERP" b="ETH-PERP"', 'a="ETH-PERP" b="BTC-PERP"')
    other = compile_stub(reordered)
    assert other.config == base.config
    assert other.fingerprint == base.fingerprint
    assert other.checks == base.checks  # the verification transcript does not see layout either


def test_written_defaults_equal_omitted_defaults(devnet_compiled):
    explicit = render_config(devnet_compiled.config)   # every default written out
    assert "jit_penalty=true" in explicit and "stp=cancel_taker" in explicit
    assert compile_stub(explicit).fingerprint == devnet_compiled.fingerprint


def test_quoted_and_bare_enum_values_mean_the_same(devnet_source):
    a = compile_stub(devnet_source)
    b = compile_stub(devnet_source.replace('model="cross_alpha"', "model=cross_alpha").replace("asset=USDC", 'asset="USDC"'))
    assert a.fingerprint == b.fingerprint


def test_a_one_token_edit_changes_the_fingerprint(devnet_source):
    a = compile_stub(devnet_source).fingerprint
    for old, new in [("kill_band_bps=75 jit", "kill_band_bps=76 jit"), ("CAP_TTL ms=120_000", "CAP_TTL ms=119_999"),
                     ("jit_penalty=false", "jit_penalty=true"), ('SLAB "book:ETH-A"', 'SLAB "book:ETH-B"')]:
        assert devnet_source.count(old) >= 1
        assert compile_stub(devnet_source.replace(old, new, 1)).fingerprint != a, old


def test_decoding_refuses_non_canonical_or_malformed_input(devnet_compiled):
    raw = canonical_bytes(devnet_compiled.config)
    assert config_from_canonical(raw) == devnet_compiled.config
    doc = json.loads(raw)
    for bad in (json.dumps(doc, sort_keys=True).encode(),                       # spacing
                raw.replace(b'"cap_ttl_ms":120000', b'"cap_ttl_ms":true'),     # bool for int
                raw.replace(b'"cap_ttl_ms":120000,', b''),                     # missing field
                raw.replace(CONFIG_FORMAT.encode(), b"other/v9")):
        assert bad != raw
        try:
            config_from_canonical(bad)
        except ValueError:
            continue
        raise AssertionError(bad[:80])
