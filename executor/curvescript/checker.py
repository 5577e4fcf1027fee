"""Type checker and compiler: CurveScript tree → canonical :class:`Config` (DESIGN §6).

Three passes, all of them collecting every error rather than stopping at the first:

1. **schema** — each statement against ``schema.py``: known keyword, known and unique
   arguments, types, inclusive integer bounds, names and public keys well formed;
   optional statements and arguments receive their documented defaults;
2. **relations** — uniqueness, cross references (a slab names an existing oracle and
   existing instruments, instrument and slab agree on the oracle, batch windows within
   ±10 ms of the router's — seed 000 §4), and the parameter relations of EXCHANGE §2–§3;
3. **memory** — every slab's arena, sized by ``executor.slab.layout.arena_size``, is at most
   ``MAX_ARENA_BYTES`` (seed 000 §3.1).  If that module cannot be imported the check fails
   closed with ``CS601``.

Every check that passes appends one line to the verification transcript.  Lines name
blocks by their declared names and are sorted, so the transcript depends only on the
compiled configuration and the layout model, never on how the source was laid out.
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from solders.pubkey import Pubkey

from . import errors as E
from . import schema as S
from .config import (AmmConfig, AntiToxicityConfig, CollateralConfig, Config, CorrelationConfig, FeeCapConfig,
                     FeeConfig, InstrumentConfig, LiquidationConfig, MakerClassConfig, MatchingConfig, OracleConfig,
                     PoolsConfig, PortfolioMarginConfig, RegistryConfig, RiskConfig, RouterConfig, SlabConfig,
                     fingerprint)
from .errors import CurveScriptError, CurveScriptErrors
from .parser import parse_with_errors
from .tree import BOOL, IDENT, INT, STR, Block, Pos, Program, Value

KIND_ORDER = {"ROUTER": 0, "INSTRUMENT": 1, "ORACLE": 2, "SLAB": 3}
_NAME_RE = {"INSTRUMENT": S.INSTRUMENT_RE, "ORACLE": S.ID_RE, "SLAB": S.ID_RE}
_ORIGIN = Pos(1, 1)


def decode_pubkey(text: str) -> bytes | None:
    """Raw 32 bytes of a base58 ed25519 public key, or None (wrong size, off-curve, all zero)."""
    try:
        pk = Pubkey.from_string(text)
    except Exception:  # solders raises ValueError for bad length / alphabet
        return None
    raw = bytes(pk)
    if raw == bytes(32) or not pk.is_on_curve() or str(pk) != text:
        return None
    return raw


def encode_pubkey(raw: bytes) -> str:
    return str(Pubkey.from_bytes(raw))


@dataclass
class _Stmt:
    """One statement after the schema pass: typed values with their positions."""

    spec: S.StmtSpec
    pos: Pos
    values: dict[str, Any] = field(default_factory=dict)
    vpos: dict[str, Pos] = field(default_factory=dict)
    synthetic: bool = False

    def at(self, name: str) -> Pos:
        return self.vpos.get(name, self.pos)

    def ident(self) -> str:
        if not self.spec.repeat or not self.spec.key:
            return self.spec.keyword
        parts = []
        for k in self.spec.key.split(","):
            v = self.values.get(k)
            parts.append(encode_pubkey(v) if isinstance(v, bytes) else str(v))
        if len(parts) > 1:
            parts.sort()  # a multi-part key (CORRELATION a,b) names an unordered pair
        return f"{self.spec.keyword}[{','.join(parts)}]"


@dataclass
class _Blk:
    kind: str
    name: str
    pos: Pos
    name_pos: Pos
    slab_kind: str = "book"
    slab_kind_pos: Pos | None = None
    stmts: dict[str, list[_Stmt]] = field(default_factory=dict)
    ok: bool = True

    @property
    def label(self) -> str:
        return self.kind if self.kind == "ROUTER" else f'{self.kind} "{self.name}"'

    def one(self, kw: str) -> _Stmt | None:
        lst = self.stmts.get(kw)
        return lst[0] if lst else None

    def all(self, kw: str) -> list[_Stmt]:
        return self.stmts.get(kw, [])

    def v(self, kw: str, arg: str) -> Any:
        return self.stmts[kw][0].values[arg]


@dataclass(frozen=True)
class Compiled:
    """A checked configuration plus what the checker verified about it."""

    config: Config
    checks: tuple[str, ...]                 # sorted PASS lines of the verification transcript
    layout_name: str
    max_arena_bytes: int
    arena_bytes: tuple[tuple[str, int], ...]  # (slab_id, bytes), sorted

    @property
    def fingerprint(self) -> bytes:
        return fingerprint(self.config)


class _Checker:
    def __init__(self, layout: Any):
        self.layout = layout
        self.errors: list[CurveScriptError] = []
        self.passes: set[str] = set()

    # -- reporting -------------------------------------------------------------------
    def err(self, pos: Pos, code: str, message: str) -> None:
        self.errors.append(CurveScriptError(pos.line, pos.col, code, message))

    def rule(self, cond: bool, code: str, pos: Pos, subject: str, passed: str, failed: str) -> bool:
        if cond:
            self.passes.add(f"PASS {code} {subject}: {passed}")
        else:
            self.err(pos, code, failed)
        return cond

    # -- pass 1: schema --------------------------------------------------------------
    def value(self, blk: _Blk, st: _Stmt, spec: S.ArgSpec, v: Value) -> bool:
        where = f"{st.spec.keyword} {spec.name}"
        t = spec.type
        if t == S.T_INT:
            if v.kind != INT:
                self.err(v.pos, E.WRONG_TYPE, f"{where} must be an integer, got {_kind_name(v)}")
                return False
            if not (spec.lo <= v.value <= spec.hi):  # type: ignore[operator]
                self.err(v.pos, E.OUT_OF_RANGE, f"{where}={v.value} is outside [{spec.lo}, {spec.hi}]")
                return False
            st.values[spec.name] = int(v.value)
        elif t == S.T_BOOL:
            if v.kind != BOOL:
                self.err(v.pos, E.WRONG_TYPE, f"{where} must be true or false, got {_kind_name(v)}")
                return False
            st.values[spec.name] = bool(v.value)
        elif t in (S.T_STR, S.T_REF, S.T_PUBKEY):
            if v.kind != STR:
                self.err(v.pos, E.WRONG_TYPE, f'{where} must be a quoted string, e.g. {spec.name}="…", got {_kind_name(v)}')
                return False
            if t == S.T_PUBKEY:
                raw = decode_pubkey(str(v.value))
                if raw is None:
                    self.err(v.pos, E.BAD_PUBKEY, f"{where}={v.value!r} is not a base58 ed25519 public key "
                                                  "(32 bytes, on the curve, not all zero)")
                    return False
                st.values[spec.name] = raw
            else:
                st.values[spec.name] = str(v.value)
        elif t in (S.T_ENUM, S.T_SYMBOL):
            if v.kind not in (IDENT, STR):
                self.err(v.pos, E.WRONG_TYPE, f"{where} must be a name, got {_kind_name(v)}")
                return False
            text = str(v.value)
            if t == S.T_ENUM and text not in spec.choices:
                self.err(v.pos, E.BAD_ENUM, f"{where}={text} is not one of {', '.join(spec.choices)}")
                return False
            if t == S.T_SYMBOL and not re.fullmatch(S.ASSET_RE, text):
                self.err(v.pos, E.BAD_NAME, f"{where}={text!r} must be 1–16 of A–Z/0–9 starting with a letter")
                return False
            st.values[spec.name] = text
        st.vpos[spec.name] = v.pos
        return True

    def schema_block(self, b: Block) -> _Blk:
        name = b.name if b.name is not None else "ROUTER"
        blk = _Blk(b.kind, name, b.pos, b.name_pos)
        if b.kind in _NAME_RE and not re.fullmatch(_NAME_RE[b.kind], name):
            rule = ("1–32 of A–Z, 0–9, '-'" if b.kind == "INSTRUMENT"
                    else "1–64 of letters, digits, ':', '.', '_', '/', '-', starting with a letter or digit")
            self.err(b.name_pos, E.BAD_NAME, f"{b.kind} name {name!r} is malformed; use {rule}")
            blk.ok = False
        if b.slab_kind is not None:
            if b.slab_kind.value not in S.SLAB_KINDS:
                self.err(b.slab_kind.pos, E.BAD_ENUM, f"KIND {b.slab_kind.value} is not one of book, amm")
                blk.ok = False
            else:
                blk.slab_kind = str(b.slab_kind.value)
                blk.slab_kind_pos = b.slab_kind.pos
        allowed = [s.keyword for s in S.SCHEMA[b.kind]]
        for st in b.statements:
            spec = S.spec_for(b.kind, st.keyword)
            if spec is None:
                self.err(st.pos, E.UNKNOWN_STATEMENT,
                         f"{st.keyword} is not a {b.kind} statement; allowed: {', '.join(allowed)}")
                blk.ok = False
                continue
            seen = blk.stmts.setdefault(spec.keyword, [])
            if seen and not spec.repeat:
                self.err(st.pos, E.DUPLICATE_STATEMENT,
                         f"{spec.keyword} already given at line {seen[0].pos.line}; write it once")
                blk.ok = False
                continue
            cs = _Stmt(spec, st.pos)
            ok = True
            if len(st.positional) != len(spec.positional):
                want = " ".join(f"<{p.name}>" for p in spec.positional) or "no positional values"
                self.err(st.pos, E.BAD_POSITIONAL,
                         f"{spec.keyword} takes {want}; got {len(st.positional)} positional value(s)")
                ok = False
            else:
                for pspec, v in zip(spec.positional, st.positional):
                    ok &= self.value(blk, cs, pspec, v)
            names = [a.name for a in spec.args]
            for k, a in enumerate(st.args):
                aspec = next((x for x in spec.args if x.name == a.name), None)
                if aspec is None:
                    self.err(a.pos, E.UNKNOWN_ARGUMENT,
                             f"{spec.keyword} has no argument {a.name!r}; allowed: {', '.join(names)}")
                    ok = False
                elif any(x.name == a.name for x in st.args[:k]):
                    self.err(a.pos, E.DUPLICATE_ARGUMENT, f"{spec.keyword} {a.name} given twice")
                    ok = False
                else:
                    ok &= self.value(blk, cs, aspec, a.value)
            for aspec in spec.args:
                if aspec.name in cs.values or any(a.name == aspec.name for a in st.args):
                    continue
                if aspec.required:
                    self.err(st.pos, E.MISSING_ARGUMENT, f"{spec.keyword} needs {aspec.name}=…")
                    ok = False
                elif aspec.default is not None:
                    cs.values[aspec.name] = aspec.default
            if not ok:
                blk.ok = False
            seen.append(cs)
        for spec in S.SCHEMA[b.kind]:
            if spec.required and not blk.stmts.get(spec.keyword):
                self.err(b.pos, E.MISSING_STATEMENT, f"{blk.label} needs a {spec.keyword} statement ({spec.doc})")
                blk.ok = False
        for kw, lst in list(blk.stmts.items()):
            if not lst:
                del blk.stmts[kw]
        return blk

    def synth(self, blk: _Blk, kw: str, values: dict[str, Any]) -> _Stmt:
        """Materialise an omitted optional statement with its documented defaults."""
        spec = S.spec_for(blk.kind, kw)
        assert spec is not None
        st = _Stmt(spec, blk.pos, dict(values), {}, synthetic=True)
        blk.stmts[kw] = [st]
        return st

    # -- pass 2: relations -----------------------------------------------------------
    def run(self, prog: Program) -> Compiled | None:
        blocks = [self.schema_block(b) for b in prog.blocks]
        routers = [b for b in blocks if b.kind == "ROUTER"]
        if not routers:
            self.err(_ORIGIN, E.MISSING_ROUTER, "the file has no ROUTER block; add one (CAP_TTL, RESERVATION_BATCH, …)")
        for extra in routers[1:]:
            self.err(extra.pos, E.DUPLICATE_ROUTER,
                     f"second ROUTER block; the first is at line {routers[0].pos.line} — merge them")
        router = routers[0] if routers else None
        by: dict[str, dict[str, _Blk]] = {"INSTRUMENT": {}, "ORACLE": {}, "SLAB": {}}
        for b in blocks:
            if b.kind == "ROUTER":
                continue
            table = by[b.kind]
            if b.name in table:
                self.err(b.name_pos, E.DUPLICATE_NAME,
                         f'{b.kind} "{b.name}" is already declared at line {table[b.name].pos.line}; rename one')
                continue
            table[b.name] = b
        missing = [k for k in ("INSTRUMENT", "ORACLE", "SLAB") if not by[k]]
        if missing:
            self.err(_ORIGIN, E.MISSING_BLOCKS, f"declare at least one of each: missing {', '.join(missing)}")
        insts = dict(sorted(by["INSTRUMENT"].items()))
        oracles = dict(sorted(by["ORACLE"].items()))
        slabs = dict(sorted(by["SLAB"].items()))

        if router is not None and router.ok:
            self.check_router(router, insts)
        for b in insts.values():
            if b.ok:
                self.check_instrument(b, oracles)
        for b in oracles.values():
            if b.ok:
                self.check_oracle(b)
        for b in slabs.values():
            if b.ok:
                self.check_slab(b, router if router is not None and router.ok else None, insts, oracles)
        arena = self.check_arena([b for b in slabs.values() if b.ok])
        self.log_bounds([router] if router else [], insts, oracles, slabs)
        if self.errors or router is None:
            return None
        cfg = Config(
            router=_build_router(router),
            instruments=tuple(_build_instrument(b) for b in insts.values()),
            oracles=tuple(_build_oracle(b) for b in oracles.values()),
            slabs=tuple(_build_slab(b) for b in slabs.values()),
        )
        name, max_bytes, sizes = arena
        return Compiled(cfg, tuple(sorted(self.passes)), name, max_bytes, tuple(sorted(sizes)))

    def check_router(self, r: _Blk, insts: dict[str, _Blk]) -> None:
        if r.one("PORTFOLIO_MARGIN") is None:
            self.synth(r, "PORTFOLIO_MARGIN", {"model": "net_per_instrument", "correl_matrix": ""})
        if r.one("LIQUIDATION") is None:
            self.synth(r, "LIQUIDATION", {a.name: a.default for a in S.spec_for("ROUTER", "LIQUIDATION").args})
        pm = r.one("PORTFOLIO_MARGIN")
        model, matrix = pm.values["model"], pm.values["correl_matrix"]
        corrs = r.all("CORRELATION")
        if model == "cross_alpha":
            self.rule(bool(re.fullmatch(S.MATRIX_RE, matrix)), E.MODEL_MISMATCH, pm.at("correl_matrix"),
                      "ROUTER PORTFOLIO_MARGIN", f"cross_alpha with correl_matrix {matrix}",
                      'model=cross_alpha needs correl_matrix="<label>" (1–128 of letters, digits, :._/-)')
        else:
            for c in corrs:
                self.err(c.pos, E.MODEL_MISMATCH,
                         f"CORRELATION needs PORTFOLIO_MARGIN model=cross_alpha (model is {model}); remove it or change the model")
            if not corrs:
                self.passes.add(f"PASS {E.MODEL_MISMATCH} ROUTER PORTFOLIO_MARGIN: {model} without CORRELATION")
            if matrix:
                self.err(pm.at("correl_matrix"), E.MODEL_MISMATCH,
                         f"correl_matrix is only meaningful with model=cross_alpha (model is {model})")
            return
        pairs: dict[tuple[str, str], _Stmt] = {}
        for c in corrs:
            a, b = c.values["a"], c.values["b"]
            ok = True
            for arg in ("a", "b"):
                sym = c.values[arg]
                ok &= self.rule(sym in insts, E.UNKNOWN_INSTRUMENT, c.at(arg), f"ROUTER {c.ident()}",
                                f"{sym} is declared", f'CORRELATION {arg}="{sym}" names no INSTRUMENT block')
            if a == b:
                self.err(c.at("b"), E.DUPLICATE_NAME, f"CORRELATION names {a} twice; a and b must differ")
                continue
            key = (min(a, b), max(a, b))
            if key in pairs:
                self.err(c.pos, E.DUPLICATE_NAME,
                         f"CORRELATION {key[0]}/{key[1]} already given at line {pairs[key].pos.line}")
                continue
            pairs[key] = c
            if ok:
                self.passes.add(f"PASS {E.DUPLICATE_NAME} ROUTER CORRELATION[{key[0]},{key[1]}]: unique pair")

    def check_instrument(self, b: _Blk, oracles: dict[str, _Blk]) -> None:
        lot = b.one("LOT")
        if "min_size" not in lot.values:
            lot.values["min_size"] = lot.values["size"]
        ref = b.v("ORACLE", "ref")
        self.rule(ref in oracles, E.UNKNOWN_ORACLE, b.one("ORACLE").at("ref"), f"{b.label} ORACLE",
                  f"{ref} is declared", f'ORACLE ref="{ref}" names no ORACLE block; declare ORACLE "{ref}" {{…}}')
        size, mn = lot.values["size"], lot.values["min_size"]
        self.rule(mn % size == 0, E.LOT_ALIGNMENT, lot.at("min_size"), f"{b.label} LOT",
                  f"min_size {mn} is a multiple of size {size}",
                  f"LOT min_size={mn} is not a multiple of size={size}; use {max(size, mn - mn % size)}")

    def check_oracle(self, b: _Blk) -> None:
        hb = b.v("HEARTBEAT", "ms")
        if b.one("QUORUM") is None:
            self.synth(b, "QUORUM", {"min": 1})
        if b.one("STALENESS") is None:
            self.synth(b, "STALENESS", {"max_age_ms": min(3 * hb, 600_000)})
        if b.one("KILL_BAND_SYNC") is None:
            self.synth(b, "KILL_BAND_SYNC", {"router_ref": ""})
        seen: dict[bytes, _Stmt] = {}
        for f in b.all("FEEDER"):
            k = f.values["key"]
            if k in seen:
                self.err(f.at("key"), E.DUPLICATE_NAME,
                         f"FEEDER {encode_pubkey(k)} already listed at line {seen[k].pos.line}")
            else:
                seen[k] = f
        q = b.v("QUORUM", "min")
        self.rule(q <= len(seen), E.QUORUM_EXCEEDS_FEEDERS, b.one("QUORUM").at("min"), f"{b.label} QUORUM",
                  f"min {q} <= {len(seen)} feeders",
                  f"QUORUM min={q} but only {len(seen)} distinct FEEDER key(s); add feeders or lower the quorum")
        age = b.v("STALENESS", "max_age_ms")
        self.rule(age > hb, E.HEARTBEAT_ORDER, b.one("STALENESS").at("max_age_ms"), f"{b.label} STALENESS",
                  f"max_age_ms {age} > heartbeat {hb}",
                  f"STALENESS max_age_ms={age} must exceed HEARTBEAT ms={hb}, else every price is stale on arrival")
        ref = b.v("KILL_BAND_SYNC", "router_ref")
        self.rule(ref in ("", "ROUTER"), E.BAD_ROUTER_REF, b.one("KILL_BAND_SYNC").at("router_ref"),
                  f"{b.label} KILL_BAND_SYNC", f"router_ref {ref or '(none)'}",
                  f'KILL_BAND_SYNC router_ref="{ref}" must be "ROUTER" (the only router block)')

    def check_slab(self, b: _Blk, router: _Blk | None, insts: dict[str, _Blk], oracles: dict[str, _Blk]) -> None:
        lab = b.label
        amm = b.slab_kind == "amm"
        oref = b.v("ORACLE", "ref")
        oracle = oracles.get(oref)
        self.rule(oracle is not None, E.UNKNOWN_ORACLE, b.one("ORACLE").at("ref"), f"{lab} ORACLE",
                  f"{oref} is declared", f'ORACLE ref="{oref}" names no ORACLE block; declare ORACLE "{oref}" {{…}}')
        listed: dict[str, _Stmt] = {}
        for ls in b.all("LIST"):
            sym = ls.values["instrument"]
            if sym in listed:
                self.err(ls.at("instrument"), E.DUPLICATE_NAME, f"LIST {sym} already at line {listed[sym].pos.line}")
                continue
            listed[sym] = ls
            inst = insts.get(sym)
            if not self.rule(inst is not None, E.UNKNOWN_INSTRUMENT, ls.at("instrument"), f"{lab} {ls.ident()}",
                             "instrument is declared", f'LIST instrument="{sym}" names no INSTRUMENT block'):
                continue
            if oracle is not None and inst.ok and inst.v("ORACLE", "ref") in oracles:
                iref = inst.v("ORACLE", "ref")
                self.rule(iref == oref, E.ORACLE_MISMATCH, ls.at("instrument"), f"{lab} {ls.ident()}",
                          f"instrument oracle {iref} is the slab oracle",
                          f'{sym} is priced by ORACLE "{iref}" but this slab uses "{oref}"; kill band and '
                          "margin must read one oracle")
        # defaults that depend on the router
        if b.one("RESERVATION_BATCH") is None and router is not None:
            self.synth(b, "RESERVATION_BATCH", {"ms": router.v("RESERVATION_BATCH", "ms")})
        if b.one("FEE_CAP") is None and router is not None:
            self.synth(b, "FEE_CAP", dict(router.one("FEE_CAP").values))
        pools = b.one("POOLS")
        if "instruments" not in pools.values:
            pools.values["instruments"] = max(1, len(listed))
        if not amm and b.one("MATCHING") is None:
            self.synth(b, "MATCHING", {a.name: a.default for a in S.spec_for("SLAB", "MATCHING").args})
        at = b.one("ANTI_TOXICITY")
        if router is not None:
            rb, sb = router.v("RESERVATION_BATCH", "ms"), b.v("RESERVATION_BATCH", "ms")
            self.rule(abs(rb - sb) <= S.BATCH_TOLERANCE_MS, E.BATCH_MISMATCH, b.one("RESERVATION_BATCH").at("ms"),
                      f"{lab} RESERVATION_BATCH", f"{sb} ms within +/-{S.BATCH_TOLERANCE_MS} ms of router {rb} ms",
                      f"RESERVATION_BATCH ms={sb} differs from the router's {rb} ms by more than "
                      f"{S.BATCH_TOLERANCE_MS} ms; use {rb - S.BATCH_TOLERANCE_MS}..{rb + S.BATCH_TOLERANCE_MS}")
            rc = router.one("FEE_CAP").values
            sc = b.one("FEE_CAP")
            for side in ("maker_bps", "taker_bps"):
                self.rule(sc.values[side] <= rc[side], E.FEE_ABOVE_CAP, sc.at(side), f"{lab} FEE_CAP.{side}",
                          f"{sc.values[side]} <= router {rc[side]}",
                          f"FEE_CAP {side}={sc.values[side]} exceeds the router FEE_CAP {side}={rc[side]}")
            fee = b.one("FEE")
            for side in ("maker_bps", "taker_bps"):
                charged = max(0, fee.values[side])
                self.rule(charged <= sc.values[side], E.FEE_ABOVE_CAP, fee.at(side), f"{lab} FEE.{side}",
                          f"{fee.values[side]} within cap {sc.values[side]}",
                          f"FEE {side}={fee.values[side]} exceeds the fee cap {sc.values[side]} (ADV3)")
            freeze = at.values["freeze_ms"]
            self.rule(freeze <= sb, E.FREEZE_EXCEEDS_BATCH, at.at("freeze_ms"), f"{lab} ANTI_TOXICITY.freeze_ms",
                      f"{freeze} <= batch {sb}",
                      f"ANTI_TOXICITY freeze_ms={freeze} is longer than the batch window {sb} ms")
        fee = b.one("FEE")
        mk, tk = fee.values["maker_bps"], fee.values["taker_bps"]
        self.rule(mk >= 0 or -mk <= tk, E.REBATE_EXCEEDS_TAKER, fee.at("maker_bps"), f"{lab} FEE",
                  f"rebate {max(0, -mk)} <= taker {tk}",
                  f"maker rebate {-mk} bps exceeds taker fee {tk} bps; the exchange would pay out on every trade")
        risk = b.one("RISK")
        imr, mmr = risk.values["imr_bps"], risk.values["mmr_bps"]
        self.rule(mmr < imr, E.MARGIN_ORDER, risk.at("mmr_bps"), f"{lab} RISK",
                  f"mmr {mmr} < imr {imr}", f"RISK mmr_bps={mmr} must be below imr_bps={imr}")
        if oracle is not None and oracle.ok:
            mv = oracle.v("MAX_MOVE", "bps")
            self.rule(mmr >= mv, E.MMR_BELOW_MAX_MOVE, risk.at("mmr_bps"), f"{lab} RISK.mmr_bps",
                      f"{mmr} >= oracle max move {mv}",
                      f'RISK mmr_bps={mmr} is below ORACLE "{oref}" MAX_MOVE bps={mv}; one accepted price update '
                      "could bankrupt an account above maintenance (seed 001: maint ≥ max move)")
        match = b.one("MATCHING")
        if match is not None and not amm:
            self.rule(match.values["fifo"], E.MATCHING_UNSUPPORTED, match.at("fifo"), f"{lab} MATCHING",
                      "fifo", "MATCHING fifo=false is not supported; matching is price-time priority (M1)")
        pv = pools.values
        self.rule(len(listed) <= pv["instruments"], E.INSTRUMENT_CAPACITY, pools.at("instruments"), f"{lab} POOLS",
                  f"{len(listed)} listed <= {pv['instruments']} slots",
                  f"{len(listed)} instruments listed but POOLS instruments={pv['instruments']}")
        self.rule(pv["slices"] >= pv["reservations"], E.POOL_SHAPE, pools.at("slices"), f"{lab} POOLS",
                  f"slices {pv['slices']} >= reservations {pv['reservations']}",
                  f"POOLS slices={pv['slices']} is below reservations={pv['reservations']}; every reservation holds ≥ 1 slice")
        if amm:
            self.rule(len(listed) == 1, E.AMM_SHAPE, b.pos, f"{lab} LIST", "amm trades one instrument",
                      f"an amm slab trades exactly one instrument; {len(listed)} listed")
            for kw in ("MAKER_CLASS", "MATCHING"):
                for st in b.all(kw):
                    if not st.synthetic:
                        self.err(st.pos, E.AMM_SHAPE, f"{kw} is for order-book slabs; remove it from this amm slab")
            if b.one("AMM") is None:
                self.err(b.pos, E.MISSING_STATEMENT, f"{lab} is KIND amm and needs an AMM statement (initial reserves)")
            self.rule(mk == 0, E.AMM_SHAPE, fee.at("maker_bps"), f"{lab} FEE.maker_bps", "0 for amm",
                      "an amm slab has no makers; set FEE maker_bps=0 (taker_bps is the swap fee)")
            for arg in ("freeze_ms", "top_k"):
                self.rule(at.values[arg] == 0, E.AMM_SHAPE, at.at(arg), f"{lab} ANTI_TOXICITY.{arg}", "0 for amm",
                          f"the top-K freeze applies to order books; set {arg}=0 on an amm slab")
        else:
            if not b.all("MAKER_CLASS"):
                self.err(b.pos, E.MISSING_STATEMENT, f"{lab} needs at least one MAKER_CLASS (DLP or REG)")
            classes: dict[str, _Stmt] = {}
            for mc in b.all("MAKER_CLASS"):
                c = mc.values["class"]
                if c in classes:
                    self.err(mc.pos, E.DUPLICATE_NAME, f"MAKER_CLASS {c} already at line {classes[c].pos.line}")
                else:
                    classes[c] = mc
            for st in b.all("AMM"):
                self.err(st.pos, E.AMM_SHAPE, 'AMM is only valid in a slab declared KIND amm')

    # -- pass 3: memory --------------------------------------------------------------
    def check_arena(self, slabs: list[_Blk]) -> tuple[str, int, list[tuple[str, int]]]:
        layout = self.layout
        name = "executor.slab.layout"
        if layout is None:
            try:
                # lazy: the layout belongs to the slab module and may not be built yet
                layout = importlib.import_module("executor.slab.layout")
            except ImportError as exc:
                if slabs:
                    self.err(slabs[0].pos, E.LAYOUT_UNAVAILABLE,
                             f"cannot import executor.slab.layout ({exc}); the 10 MB arena bound cannot be "
                             "verified, so the configuration is refused")
                return name, 0, []
        else:
            name = getattr(layout, "__name__", name)
        max_bytes = int(layout.MAX_ARENA_BYTES)
        sizes = []
        for b in slabs:
            pools = b.one("POOLS")
            kwargs = {k: pools.values[k] for k in ("instruments", "accounts", "orders", "positions",
                                                   "reservations", "slices", "trades")}
            try:
                n = int(layout.arena_size(**kwargs))
            except ValueError as exc:
                self.err(pools.pos, E.ARENA_TOO_LARGE, f"the slab layout rejects these POOLS capacities: {exc}")
                continue
            sizes.append((b.name, n))
            self.rule(n <= max_bytes, E.ARENA_TOO_LARGE, pools.pos, f"{b.label} arena",
                      f"{n} bytes <= MAX_ARENA_BYTES {max_bytes}",
                      f"slab arena is {n} bytes, above MAX_ARENA_BYTES={max_bytes}; shrink POOLS capacities")
        return name, max_bytes, sizes

    def log_bounds(self, routers: list[_Blk], *tables: dict[str, _Blk]) -> None:
        """One transcript line per integer argument: its final value and its documented range."""
        for b in routers + [b for t in tables for b in t.values()]:
            if not b.ok:
                continue
            for lst in b.stmts.values():
                for st in lst:
                    for spec in st.spec.positional + st.spec.args:
                        v = st.values.get(spec.name)
                        if spec.type == S.T_INT and v is not None:
                            if spec.lo <= v <= spec.hi:  # type: ignore[operator]
                                self.passes.add(f"PASS {E.OUT_OF_RANGE} {b.label} {st.ident()}.{spec.name}: "
                                                f"{v} in [{spec.lo}, {spec.hi}]")
                            else:
                                self.err(st.at(spec.name), E.OUT_OF_RANGE,
                                         f"{st.spec.keyword} {spec.name}={v} (derived default) is outside "
                                         f"[{spec.lo}, {spec.hi}]; give it explicitly")


def _kind_name(v: Value) -> str:
    return {INT: "an integer", STR: "a string", BOOL: "a boolean", IDENT: f"identifier {v.value}"}[v.kind]


# -- builders: checked blocks → frozen dataclasses -------------------------------------

def _build_router(r: _Blk) -> RouterConfig:
    col = r.one("COLLATERAL").values
    pm = r.one("PORTFOLIO_MARGIN").values
    corrs = sorted(
        (CorrelationConfig(min(c.values["a"], c.values["b"]), max(c.values["a"], c.values["b"]), c.values["offset_bps"])
         for c in r.all("CORRELATION")), key=lambda c: (c.a, c.b))
    liq = r.one("LIQUIDATION").values
    fc = r.one("FEE_CAP").values
    return RouterConfig(
        collateral=CollateralConfig(col["asset"], col["decimals"], col["vault_cap_atoms"]),
        portfolio_margin=PortfolioMarginConfig(pm["model"], pm["correl_matrix"], tuple(corrs)),
        cap_ttl_ms=r.v("CAP_TTL", "ms"),
        batch_ms=r.v("RESERVATION_BATCH", "ms"),
        liquidation=LiquidationConfig(liq["grace_ms"], liq["band_bps"], liq["penalty_bps"]),
        fee_cap=FeeCapConfig(fc["maker_bps"], fc["taker_bps"]),
    )


def _build_instrument(b: _Blk) -> InstrumentConfig:
    return InstrumentConfig(
        symbol=b.name, oracle=b.v("ORACLE", "ref"), contract_size=b.v("CONTRACT", "size"),
        tick_e6=b.v("TICK", "price_e6"), lot_size=b.v("LOT", "size"), min_size=b.v("LOT", "min_size"),
        price_band_bps=b.v("PRICE_BAND", "bps"), funding_interval_ms=b.v("FUNDING", "interval_ms"),
        funding_cap_bps=b.v("FUNDING", "cap_bps"))


def _build_oracle(b: _Blk) -> OracleConfig:
    return OracleConfig(
        oracle_id=b.name, feeders=tuple(sorted({f.values["key"] for f in b.all("FEEDER")})),
        quorum=b.v("QUORUM", "min"), heartbeat_ms=b.v("HEARTBEAT", "ms"),
        max_age_ms=b.v("STALENESS", "max_age_ms"), max_move_bps=b.v("MAX_MOVE", "bps"),
        kill_band_router_ref=b.v("KILL_BAND_SYNC", "router_ref"))


def _build_slab(b: _Blk) -> SlabConfig:
    amm = b.slab_kind == "amm"
    m = b.one("MATCHING")
    fee, fc, risk, at, pools, reg = (b.one(k).values for k in ("FEE", "FEE_CAP", "RISK", "ANTI_TOXICITY", "POOLS", "REGISTRY"))
    a = b.one("AMM")
    return SlabConfig(
        slab_id=b.name, kind=b.slab_kind, oracle=b.v("ORACLE", "ref"),
        instruments=tuple(sorted({s.values["instrument"] for s in b.all("LIST")})),
        batch_ms=b.v("RESERVATION_BATCH", "ms"),
        maker_classes=tuple(sorted((MakerClassConfig(s.values["class"], s.values["allowance"])
                                    for s in b.all("MAKER_CLASS")), key=lambda c: c.name)),
        matching=None if amm else MatchingConfig(m.values["fifo"], m.values["pending_promotion"], m.values["stp"]),
        fee=FeeConfig(fee["maker_bps"], fee["taker_bps"], fee["rebate_delay_ms"]),
        fee_cap=FeeCapConfig(fc["maker_bps"], fc["taker_bps"]),
        risk=RiskConfig(risk["imr_bps"], risk["mmr_bps"]),
        anti_toxicity=AntiToxicityConfig(at["kill_band_bps"], at["jit_penalty"], at["arg_tax_bps"],
                                         at["freeze_ms"], at["top_k"]),
        pools=PoolsConfig(**{k: pools[k] for k in ("instruments", "accounts", "orders", "positions",
                                                   "reservations", "slices", "trades")}),
        registry=RegistryConfig(reg["latency_sla_ms"], reg["e_max_atoms"], reg["active"]),
        amm=AmmConfig(a.values["base_reserve"], a.values["quote_reserve_atoms"]) if (amm and a is not None) else None,
    )


# -- public entry points -----------------------------------------------------------------

def check_program(prog: Program, *, layout: Any = None) -> tuple[Compiled | None, list[CurveScriptError]]:
    """Check a parsed tree; return the compiled result (None on error) and every error."""
    c = _Checker(layout)
    result = c.run(prog)
    return result, sorted(set(c.errors))


def compile_source(source: str, *, source_name: str = "<curvescript>", layout: Any = None) -> Compiled:
    """Parse, check and compile; raise :class:`CurveScriptErrors` with *all* errors found.

    ``layout`` is an object with ``arena_size(**pools)`` and ``MAX_ARENA_BYTES``; ``None``
    (production) imports ``executor.slab.layout``.
    """
    prog, errs = parse_with_errors(source)
    if errs:
        # Syntax errors only: checking a partly parsed file would report statements the
        # parser skipped as "missing", which misleads more than it helps.
        raise CurveScriptErrors(errs, source_name)
    result, cerrs = check_program(prog, layout=layout)
    if cerrs:
        raise CurveScriptErrors(cerrs, source_name)
    assert result is not None
    return result


def compile_file(path: str | Path, *, layout: Any = None) -> Compiled:
    p = Path(path)
    return compile_source(p.read_text(encoding="utf-8"), source_name=str(p), layout=layout)
