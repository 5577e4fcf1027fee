"""Genesis of a local chain: a CurveScript file plus a small TOML (issue 5 part 5).

The CurveScript file fixes the exchange (instruments, slabs, oracles and their authorised
feeders, DESIGN §6); the TOML fixes the chain's starting point: its ``chain_id``, funded
demo accounts, which authorised feeders this devnet runs, the initial oracle price of every
instrument and whether the dev faucet is on.  ``load_genesis`` validates both and returns
a typed, frozen :class:`Genesis`; applying it to state is the router's job.

TOML schema (``examples/devnet-genesis.toml`` is annotated)::

    chain_id = "assetl2-devnet-1"     # required: 1-64 of A-Z, a-z, 0-9, '-', '_', '.'  (= node config)
    dev_faucet_enabled = true         # optional, default false
    governance = ["<base58>", ...]    # optional: keys that may register/upgrade slabs (P10)
    bridge_relayers = ["<base58>"]    # optional: keys that may credit bridge deposits
    [[accounts]]                      # zero or more
    pubkey = "<base58 ed25519>"       # unique
    amount_atoms = 1_000_000_000      # 1 .. 2^64-1; the sum must not exceed vault_cap_atoms
    [oracles.<oracle id>]             # optional, per ORACLE block
    feeders = ["<base58>", ...]       # each must be a FEEDER of that ORACLE block
    [prices]                          # required: every INSTRUMENT exactly once
    BTC-PERP = 60_000_000_000         # price_e6, > 0, a multiple of the instrument's tick,
                                      # within PRICE_BAND of any amm slab's reserve price

Every problem is reported at once as ``(key, problem)`` pairs in :class:`GenesisError`.
The **genesis hash** is SHA-256 of the canonical JSON encoding (sorted keys, no whitespace,
bytes as hex) of the genesis with the configuration represented by its fingerprint.
"""
from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from executor.curvescript.checker import Compiled, compile_file, decode_pubkey, encode_pubkey
from executor.curvescript.config import Config, canonical_json
from executor.curvescript.schema import U64_MAX

GENESIS_FORMAT = "assetl2/genesis/v1"
#: the same alphabet as ``node.config.check_chain_id`` (ASCII only): the ids must interoperate
CHAIN_ID_RE = r"^[A-Za-z0-9._-]{1,64}$"
_TOP_KEYS = ("chain_id", "dev_faucet_enabled", "governance", "bridge_relayers", "accounts", "oracles", "prices")


@dataclass(frozen=True)
class GenesisIssue:
    key: str
    problem: str

    def __str__(self) -> str:
        return f"{self.key}: {self.problem}"


class GenesisError(Exception):
    """Every problem found in a genesis TOML, each naming its key."""

    def __init__(self, issues: list[GenesisIssue], source_name: str = "<genesis>"):
        self.issues = tuple(issues)
        self.source_name = source_name
        super().__init__("\n".join(f"{source_name}: {i}" for i in self.issues))

    @property
    def keys(self) -> list[str]:
        return [i.key for i in self.issues]


@dataclass(frozen=True)
class GenesisAccount:
    pubkey: bytes           # 32-byte ed25519 public key
    amount_atoms: int


@dataclass(frozen=True)
class GenesisOracle:
    oracle_id: str
    feeders: tuple[bytes, ...]   # sorted; a subset of the ORACLE block's authorised FEEDERs


@dataclass(frozen=True)
class GenesisPrice:
    instrument: str
    price_e6: int


@dataclass(frozen=True)
class Genesis:
    chain_id: str
    config: Config
    config_fingerprint: bytes
    accounts: tuple[GenesisAccount, ...]      # sorted by pubkey
    oracles: tuple[GenesisOracle, ...]        # sorted by oracle_id
    prices: tuple[GenesisPrice, ...]          # sorted by instrument, one per instrument
    dev_faucet_enabled: bool
    governance: tuple[bytes, ...] = ()        # sorted keys allowed to register/upgrade slabs (P10)
    bridge_relayers: tuple[bytes, ...] = ()   # sorted keys allowed to credit bridge deposits

    def canonical_bytes(self) -> bytes:
        return canonical_json({
            "format": GENESIS_FORMAT,
            "chain_id": self.chain_id,
            "config_fingerprint": self.config_fingerprint.hex(),
            "accounts": [{"pubkey": a.pubkey.hex(), "amount_atoms": a.amount_atoms} for a in self.accounts],
            "oracles": [{"oracle_id": o.oracle_id, "feeders": [f.hex() for f in o.feeders]} for o in self.oracles],
            "prices": [{"instrument": p.instrument, "price_e6": p.price_e6} for p in self.prices],
            "dev_faucet_enabled": self.dev_faucet_enabled,
            "governance": [k.hex() for k in self.governance],
            "bridge_relayers": [k.hex() for k in self.bridge_relayers],
        })

    @property
    def genesis_hash(self) -> bytes:
        return hashlib.sha256(self.canonical_bytes()).digest()


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def validate_genesis(doc: dict[str, Any], compiled: Compiled, source_name: str = "<genesis>") -> Genesis:
    """Check a parsed TOML document against a compiled configuration."""
    cfg = compiled.config
    issues: list[GenesisIssue] = []

    def bad(key: str, problem: str) -> None:
        issues.append(GenesisIssue(key, problem))

    for k in doc:
        if k not in _TOP_KEYS:
            bad(k, f"unknown key; allowed: {', '.join(_TOP_KEYS)}")

    chain_id = doc.get("chain_id")
    if chain_id is None:
        bad("chain_id", "missing; e.g. chain_id = \"assetl2-devnet-1\"")
    elif not isinstance(chain_id, str) or not re.fullmatch(CHAIN_ID_RE, chain_id):
        bad("chain_id", f"{chain_id!r} must be 1-64 of letters, digits, '-', '_' or '.' (as in the node config)")

    faucet = doc.get("dev_faucet_enabled", False)
    if not isinstance(faucet, bool):
        bad("dev_faucet_enabled", f"must be true or false, got {faucet!r}")

    def key_list(name: str) -> tuple[bytes, ...]:
        raw = doc.get(name, [])
        if not isinstance(raw, list):
            bad(name, "must be an array of base58 public keys")
            return ()
        out: list[bytes] = []
        for j, text in enumerate(raw):
            k = decode_pubkey(text) if isinstance(text, str) else None
            if k is None:
                bad(f"{name}[{j}]", f"{text!r} is not a base58 ed25519 public key")
            elif k in out:
                bad(f"{name}[{j}]", f"{text} listed twice")
            else:
                out.append(k)
        return tuple(sorted(out))

    governance = key_list("governance")
    bridge_relayers = key_list("bridge_relayers")

    accounts: dict[bytes, GenesisAccount] = {}
    raw_accounts = doc.get("accounts", [])
    if not isinstance(raw_accounts, list):
        bad("accounts", "must be an array of tables ([[accounts]])")
        raw_accounts = []
    total = 0
    for i, acc in enumerate(raw_accounts):
        key = f"accounts[{i}]"
        if not isinstance(acc, dict):
            bad(key, "must be a table with pubkey and amount_atoms")
            continue
        for k in acc:
            if k not in ("pubkey", "amount_atoms"):
                bad(f"{key}.{k}", "unknown key; allowed: pubkey, amount_atoms")
        pk_text, amount = acc.get("pubkey"), acc.get("amount_atoms")
        pk = decode_pubkey(pk_text) if isinstance(pk_text, str) else None
        if pk is None:
            bad(f"{key}.pubkey", f"{pk_text!r} is not a base58 ed25519 public key")
        if not _is_int(amount) or not (1 <= amount <= U64_MAX):
            bad(f"{key}.amount_atoms", f"{amount!r} must be an integer in [1, {U64_MAX}]")
            amount = None
        if pk is not None and pk in accounts:
            bad(f"{key}.pubkey", f"{pk_text} is funded twice; merge the entries")
            continue
        if pk is not None and amount is not None:
            accounts[pk] = GenesisAccount(pk, amount)
            total += amount
    cap = cfg.router.collateral.vault_cap_atoms
    if total > cap:
        bad("accounts", f"total funding {total} atoms exceeds ROUTER COLLATERAL vault_cap_atoms={cap}")

    oracles: list[GenesisOracle] = []
    raw_oracles = doc.get("oracles", {})
    if not isinstance(raw_oracles, dict):
        bad("oracles", "must be a table of [oracles.<id>] tables")
        raw_oracles = {}
    declared = {o.oracle_id: o for o in cfg.oracles}
    for oid in sorted(raw_oracles):
        key = f"oracles.{oid}"
        entry = raw_oracles[oid]
        if oid not in declared:
            bad(key, f"no ORACLE \"{oid}\" block in the CurveScript; declared: {', '.join(sorted(declared))}")
            continue
        if not isinstance(entry, dict) or set(entry) != {"feeders"} or not isinstance(entry["feeders"], list):
            bad(key, "must be a table holding exactly feeders = [\"<base58>\", ...]")
            continue
        keys: list[bytes] = []
        for j, text in enumerate(entry["feeders"]):
            fk = decode_pubkey(text) if isinstance(text, str) else None
            if fk is None:
                bad(f"{key}.feeders[{j}]", f"{text!r} is not a base58 ed25519 public key")
            elif fk not in declared[oid].feeders:
                bad(f"{key}.feeders[{j}]", f"{text} is not an authorised FEEDER of ORACLE \"{oid}\"")
            elif fk in keys:
                bad(f"{key}.feeders[{j}]", f"{text} listed twice")
            else:
                keys.append(fk)
        oracles.append(GenesisOracle(oid, tuple(sorted(keys))))

    prices: list[GenesisPrice] = []
    raw_prices = doc.get("prices")
    if not isinstance(raw_prices, dict):
        bad("prices", "missing; add a [prices] table with the price_e6 of every instrument")
        raw_prices = {}
    symbols = {i.symbol: i for i in cfg.instruments}
    for sym in sorted(raw_prices):
        if sym not in symbols:
            bad(f"prices.{sym}", f"no INSTRUMENT \"{sym}\" in the CurveScript; declared: {', '.join(sorted(symbols))}")
    for sym, inst in sorted(symbols.items()):
        key = f"prices.{sym}"
        if sym not in raw_prices:
            if isinstance(doc.get("prices"), dict):
                bad(key, "missing; every instrument needs an initial oracle price")
            continue
        p = raw_prices[sym]
        if not _is_int(p) or not (1 <= p <= U64_MAX):
            bad(key, f"{p!r} must be an integer price_e6 in [1, {U64_MAX}]")
        elif p % inst.tick_e6:
            bad(key, f"{p} is not a multiple of the tick {inst.tick_e6}; use {p - p % inst.tick_e6 or inst.tick_e6}")
        else:
            prices.append(GenesisPrice(sym, p))
            for slab in cfg.slabs:
                if slab.amm is None or slab.instruments != (sym,):
                    continue
                # The pool's implied price_e6 is quote_atoms * 1e6 / (base_lots * contract_size);
                # compared cross-multiplied so no division rounds (EXCHANGE §1).
                pool_value = slab.amm.quote_reserve_atoms * 1_000_000
                oracle_value = p * slab.amm.base_reserve * inst.contract_size
                if abs(pool_value - oracle_value) * 10_000 > inst.price_band_bps * oracle_value:
                    implied = pool_value // (slab.amm.base_reserve * inst.contract_size)
                    bad(key, f"{p} is more than PRICE_BAND {inst.price_band_bps} bps away from the price "
                             f"{implied} implied by the reserves of amm slab \"{slab.slab_id}\"; align the two")

    if issues:
        raise GenesisError(issues, source_name)
    return Genesis(
        chain_id=chain_id, config=cfg, config_fingerprint=compiled.fingerprint,
        accounts=tuple(sorted(accounts.values(), key=lambda a: a.pubkey)),
        oracles=tuple(oracles), prices=tuple(prices), dev_faucet_enabled=faucet,
        governance=governance, bridge_relayers=bridge_relayers,
    )


def load_genesis(curve_path: str | Path, toml_path: str | Path, *, layout: Any = None) -> Genesis:
    """Compile ``curve_path`` and validate ``toml_path`` against it.

    Raises ``CurveScriptErrors`` for the CurveScript file and :class:`GenesisError` for the
    TOML (including TOML syntax errors, reported under the key ``<toml>``).
    """
    compiled = compile_file(curve_path, layout=layout)
    tp = Path(toml_path)
    try:
        doc = tomllib.loads(tp.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise GenesisError([GenesisIssue("<toml>", str(exc))], str(tp)) from None
    return validate_genesis(doc, compiled, str(tp))


__all__ = ["GENESIS_FORMAT", "Genesis", "GenesisAccount", "GenesisError", "GenesisIssue", "GenesisOracle",
           "GenesisPrice", "encode_pubkey", "load_genesis", "validate_genesis"]
