"""A small exchange for router tests (imported as ``router_support``).

The devnet CurveScript (two instruments, three book slabs, one AMM) with small pools so a
fresh world is cheap, plus a driver that applies transactions the way the block executor
does: savepoint, ``apply_tx``, rollback on ``ExecutorError``, ``on_epoch`` on a new epoch.
"""
from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from nacl.signing import SigningKey

from executor.commitment import commitment
from executor.curvescript.checker import compile_file
from executor.curvescript.config import PoolsConfig, fingerprint
from executor.errors import ExecutorError
from executor.genesis import Genesis, GenesisAccount, GenesisOracle, GenesisPrice
from executor.router import Router
from executor.slabs import build_slabs
from executor.state import ExecState
from proto.assetl2.v1 import tx_pb2

ROOT = Path(__file__).resolve().parents[2]
CURVE = ROOT / "executor" / "curvescript" / "examples" / "devnet.curve"

AMM_ETH, BTC_A, BTC_B, ETH_A = 1, 2, 3, 4          # slab numbers (sorted slab ids)
BTC, ETH = 1, 2                                    # instrument ids (sorted symbols)
BUY, SELL = 1, 2                                   # wire sides
BTC_PX = 60_000_000_000
ETH_PX = 3_000_000_000
BATCH_MS = 50
T0 = 1_000_000
FEEDER = SigningKey(hashlib.sha256(b"assetl2-devnet-feeder-0").digest())
FEEDER_KEY = bytes(FEEDER.verify_key)
GOV = b"\x47" * 32
RELAYER = b"\x52" * 32
SALT = b"s" * 16


def user(i: int) -> bytes:
    return bytes([i]) * 32


MAKER_A, MAKER_B, TAKER, TAKER2, LP = user(1), user(2), user(3), user(4), user(5)
RICH = 10_000_000_000_000     # 10 M USDC


class _NoTree:
    """ExecState backing store for tests: an empty tree (records live in the cache)."""

    def latest_version(self):
        return None

    def get(self, key):
        return None


_COMPILED = None


def make_config(*, max_age_ms: int = 10**9, max_move_bps: int | None = None):
    global _COMPILED
    if _COMPILED is None:
        _COMPILED = compile_file(CURVE)
    cfg = _COMPILED.config
    slabs = []
    for s in cfg.slabs:
        if s.kind == "amm":
            pools = PoolsConfig(instruments=1, accounts=16, orders=1, positions=16,
                                reservations=8, slices=8, trades=16)
        else:
            pools = PoolsConfig(instruments=len(s.instruments), accounts=16, orders=64,
                                positions=64, reservations=16, slices=64, trades=64)
        slabs.append(dataclasses.replace(s, pools=pools))
    oracles = tuple(dataclasses.replace(
        o, max_age_ms=max_age_ms,
        max_move_bps=o.max_move_bps if max_move_bps is None else max_move_bps)
        for o in cfg.oracles)
    return dataclasses.replace(cfg, slabs=tuple(slabs), oracles=oracles)


def genesis_for(cfg, accounts: dict[bytes, int]) -> Genesis:
    return Genesis(
        chain_id="test", config=cfg, config_fingerprint=fingerprint(cfg),
        accounts=tuple(GenesisAccount(k, v) for k, v in sorted(accounts.items())),
        oracles=(GenesisOracle("devnet", (FEEDER_KEY,)),),
        prices=(GenesisPrice("BTC-PERP", BTC_PX), GenesisPrice("ETH-PERP", ETH_PX)),
        dev_faucet_enabled=True)


class Rejected(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


class World:
    """Router + slabs + state, driven like the block executor drives them."""

    def __init__(self, *, accounts=None, faucet=True, cfg=None, manifests=None, **cfg_kw):
        self.cfg = cfg or make_config(**cfg_kw)
        self.slabs = build_slabs(self.cfg)
        self.state = ExecState(_NoTree())
        self.router = Router(self.state, self.cfg, self.slabs, governance=frozenset({GOV}),
                             bridge_relayers=frozenset({RELAYER}), faucet_enabled=faucet,
                             running_manifests=manifests)
        self.now = T0
        self.epoch = T0 // BATCH_MS
        accounts = {MAKER_A: RICH, MAKER_B: RICH, TAKER: RICH, TAKER2: RICH, LP: RICH} \
            if accounts is None else accounts
        self.router.apply_genesis(genesis_for(self.cfg, accounts), now_ms=self.now)
        self.state.release(0)

    # ------------------------------------------------------------------ time
    def advance(self, ms: int) -> None:
        self.now += ms
        epoch = self.now // BATCH_MS
        if epoch != self.epoch:
            self.epoch = epoch
            sp = self.state.savepoint()
            self.router.on_epoch(now_ms=self.now, epoch=epoch)
            self.state.release(sp)

    def next_epoch(self) -> None:
        self.advance(BATCH_MS - self.now % BATCH_MS)

    # ------------------------------------------------------------------ transactions
    def apply(self, signer: bytes, **body):
        """Apply one transaction; returns its events or raises ``Rejected(code)`` after the
        rollback (records restored by the journal, as the block executor does)."""
        (name, msg), = body.items()
        payload = tx_pb2.Payload(chain_id="test", valid_until_ms=self.now + 60_000)
        getattr(payload, name).CopyFrom(msg)
        sp = self.state.savepoint()
        try:
            events = self.router.apply_tx(signer, payload, now_ms=self.now, epoch=self.epoch)
        except ExecutorError as exc:
            self.state.rollback(sp)
            self.state.release(sp)
            raise Rejected(exc.code) from None
        self.state.release(sp)
        return events

    def try_apply(self, signer: bytes, **body):
        try:
            return 0, self.apply(signer, **body)
        except Rejected as r:
            return int(r.code), []

    def place(self, signer, slab, instr, side, qty, px, *, tif=1, maker_class=2, reduce_only=False):
        return self.apply(signer, place_order=tx_pb2.PlaceOrder(
            slab_id=slab, instrument_id=instr, side=side, qty_lots=qty, price_e6=px,
            time_in_force=tif, maker_class=maker_class, reduce_only=reduce_only))

    def reserve(self, signer, route_id, instr, side, qty, limit, *, ttl=10_000, slabs=(),
                salt=SALT):
        c = commitment(route_id, instr, side, qty, limit, salt)
        return self.apply(signer, reserve=tx_pb2.Reserve(
            route_id=route_id, instrument_id=instr, side=side, qty_lots=qty,
            limit_price_e6=limit, ttl_ms=ttl, commitment=c, slab_ids=list(slabs)))

    def commit(self, signer, route_id, instr, side, qty, limit, *, salt=SALT):
        return self.apply(signer, commit=tx_pb2.Commit(route_id=route_id, reveal=tx_pb2.Reveal(
            salt=salt, instrument_id=instr, side=side, qty_lots=qty, limit_price_e6=limit)))

    def cancel_hold(self, signer, route_id):
        return self.apply(signer, cancel_hold=tx_pb2.CancelHold(route_id=route_id))

    def oracle(self, instr, px, *, signer=FEEDER_KEY, publish=None):
        return self.apply(signer, oracle_update=tx_pb2.OracleUpdate(
            oracle_id=1, instrument_id=instr, price_e6=px,
            publish_time_ms=self.now if publish is None else publish))

    def deposit(self, who, amount, *, signer=None, source=2, ref=b""):
        return self.apply(signer or who, deposit=tx_pb2.Deposit(
            user=who, asset_id=0, amount_atoms=amount, source=source, l1_ref=ref))

    def withdraw(self, who, amount):
        return self.apply(who, withdraw=tx_pb2.Withdraw(asset_id=0, amount_atoms=amount,
                                                        l1_recipient=b"\x01" * 32))

    # ------------------------------------------------------------------ observation
    def records(self) -> dict:
        return {k: v for k, v in self.state._cache.items() if v is not None}

    def arenas(self) -> dict:
        return {sid: bytes(s.arena_bytes()) for sid, s in self.slabs.items()}

    def snapshot(self):
        return self.records(), self.arenas()

    def conserved(self) -> bool:
        total, expected = self.router.conservation()
        return total == expected


def book_px(usdc: int, tenths: int = 0) -> int:
    """BTC price_e6 for ``usdc``.``tenths`` USDC (tick 0.1 USDC)."""
    return usdc * 1_000_000 + tenths * 100_000
