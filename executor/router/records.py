"""Router records (EXCHANGE §2): frozen values with a canonical fixed-width encoding.

Every record lives in the state tree at ``derive_key(namespace, *parts)`` (DESIGN §5,
``statetree/keys.py``) and is read and written through ``ExecState`` tables, so a rejected
transaction is undone by the executor's journal.  Encoding: fields in declaration order,
big-endian, fixed width per kind (``u64``/``i64`` 8 bytes, ``i128`` 16, ``u8``/``bool`` 1, ``b32``
32 bytes); a tuple of nested records is a ``u32`` count followed by the entries.  No field is
optional and nothing depends on dict order, so equal values always encode to equal bytes.
"""
from __future__ import annotations

import operator
import struct
from dataclasses import dataclass, fields

from executor.state import Table

__all__ = [
    "ASSET", "Vault", "Escrow", "Cap", "Leg", "RouteHold", "Exposure", "Portfolio", "UserNo",
    "UserKey", "RegistryEntry", "Fund", "InstrumentState", "SlabCash", "Counters", "ExpiryEntry",
    "ExpiryIndex", "OpenRoutes", "DepositRef", "LiquidationState", "HOLD_RESERVED", "HOLD_COMMITTED",
    "HOLD_CANCELLED", "HOLD_EXPIRED", "T_VAULT", "T_ESCROW", "T_CAP", "T_HOLD", "T_PORTFOLIO",
    "T_USER_NO", "T_USER_KEY", "T_REGISTRY", "T_INSURANCE", "T_FEE_POOL", "T_INSTRUMENT",
    "T_SLAB_CASH", "T_COUNTERS", "T_EXPIRY", "T_OPEN_ROUTES", "T_DEPOSIT_REF", "T_LIQUIDATION",
]

ASSET = 0     # the one collateral asset of ROUTER COLLATERAL (EXCHANGE §1)
# hold status: the proto HoldStatus numbers
HOLD_RESERVED, HOLD_COMMITTED, HOLD_CANCELLED, HOLD_EXPIRED = 1, 2, 3, 4

_KINDS = {"u64": struct.Struct(">Q"), "i64": struct.Struct(">q"), "u8": struct.Struct(">B"),
          "bool": struct.Struct(">?"), "u32": struct.Struct(">I")}
_I128 = 16
_U32 = _KINDS["u32"]


_LAYOUTS: dict[type, tuple] = {}


def _layout(cls) -> tuple:
    """``(field name, kind)`` in declaration order, computed once per record class."""
    lay = _LAYOUTS.get(cls)
    if lay is None:
        lay = _LAYOUTS[cls] = tuple((f.name, cls.SCHEMA[f.name]) for f in fields(cls))
    return lay


_FLAT_CODES = {"u64": "Q", "i64": "q", "u8": "B", "bool": "?", "u32": "I", "b32": "32s", "i128": "qQ"}
_FLAT: dict[type, tuple | None] = {}
_U64_MASK = (1 << 64) - 1


def _flat(cls) -> tuple | None:
    """``(struct, field getter, b32 positions, i128 positions)`` for a record whose fields are
    all fixed-width, else None: such a record encodes with one ``struct.pack`` instead of a
    field-by-field walk (every block encodes each changed record once).  An ``i128`` packs as
    its high signed and low unsigned 64-bit halves, which is its 16-byte big-endian form."""
    if cls in _FLAT:
        return _FLAT[cls]
    lay = _layout(cls)
    plan = None
    if all(isinstance(kind, str) and kind in _FLAT_CODES for _n, kind in lay):
        plan = (struct.Struct(">" + "".join(_FLAT_CODES[kind] for _n, kind in lay)),
                operator.attrgetter(*(n for n, _k in lay)) if len(lay) > 1
                else (lambda obj, _n=lay[0][0]: (getattr(obj, _n),)),
                tuple(i for i, (_n, kind) in enumerate(lay) if kind == "b32"),
                tuple(i for i, (_n, kind) in enumerate(lay) if kind == "i128"))
    _FLAT[cls] = plan
    return plan


class _Codec:
    """Mixin: ``encode``/``decode`` driven by the class attribute ``SCHEMA`` (field -> kind)."""

    SCHEMA: dict = {}

    def encode(self) -> bytes:
        plan = _flat(type(self))
        if plan is not None:
            st, get, b32, i128 = plan
            vals = get(self)
            for i in b32:
                if len(vals[i]) != 32:
                    raise ValueError(f"{type(self).__name__}.{_layout(type(self))[i][0]} must be 32 bytes")
            if i128:
                vals = list(vals)
                for i in reversed(i128):
                    v = vals[i]
                    if not -(1 << 127) <= v < (1 << 127):
                        raise OverflowError(f"{type(self).__name__}: i128 out of range")
                    vals[i:i + 1] = (v >> 64, v & _U64_MASK)
            return st.pack(*vals)
        out = bytearray()
        self._enc(out)
        return bytes(out)

    def evolve(self, **changes):
        """A copy with ``changes`` (``dataclasses.replace`` for these plain frozen records,
        without its per-call field introspection: the router makes one per counter bump)."""
        if not changes.keys() <= self.__dict__.keys():
            raise TypeError(f"{type(self).__name__} has no field {sorted(changes.keys() - self.__dict__.keys())}")
        new = object.__new__(type(self))
        d = new.__dict__
        d.update(self.__dict__)
        d.update(changes)
        return new

    def _enc(self, out: bytearray) -> None:
        for name, kind in _layout(type(self)):
            v = getattr(self, name)
            if isinstance(kind, type):
                out += _U32.pack(len(v))
                for item in v:
                    item._enc(out)
            elif kind == "u64s":
                out += _U32.pack(len(v))
                out += struct.pack(f">{len(v)}Q", *v)
            elif kind == "b32":
                if len(v) != 32:
                    raise ValueError(f"{type(self).__name__}.{name} must be 32 bytes")
                out += v
            elif kind == "i128":
                out += v.to_bytes(_I128, "big", signed=True)
            else:
                out += _KINDS[kind].pack(v)

    @classmethod
    def decode(cls, raw: bytes):
        obj, off = cls._dec(memoryview(raw), 0)
        if off != len(raw):
            raise ValueError(f"{cls.__name__}: {len(raw) - off} trailing bytes")
        return obj

    @classmethod
    def _dec(cls, buf, off: int):
        vals = []
        for _name, kind in _layout(cls):
            if isinstance(kind, type):
                (n,) = _U32.unpack_from(buf, off)
                off += 4
                items = []
                for _ in range(n):
                    item, off = kind._dec(buf, off)
                    items.append(item)
                vals.append(tuple(items))
            elif kind == "u64s":
                (n,) = _U32.unpack_from(buf, off)
                off += 4
                vals.append(struct.unpack_from(f">{n}Q", buf, off))
                off += 8 * n
            elif kind == "b32":
                if len(buf) - off < 32:
                    raise ValueError(f"{cls.__name__}: truncated")
                vals.append(bytes(buf[off:off + 32]))
                off += 32
            elif kind == "i128":
                if len(buf) - off < _I128:
                    raise ValueError(f"{cls.__name__}: truncated")
                vals.append(int.from_bytes(buf[off:off + _I128], "big", signed=True))
                off += _I128
            else:
                st = _KINDS[kind]
                (v,) = st.unpack_from(buf, off)
                vals.append(v)
                off += st.size
        return cls(*vals), off


@dataclass(frozen=True)
class Vault(_Codec):
    """Free collateral of ``(user, asset)``: deposits credit it, withdrawals debit it."""

    balance_atoms: int = 0
    SCHEMA = {"balance_atoms": "u64"}


@dataclass(frozen=True)
class Escrow(_Codec):
    """Collateral the router pledged to one slab for one user (P4: only the router writes it;
    the slab sees it through ``set_collateral``).  Every change bumps ``nonce``."""

    balance_atoms: int = 0
    nonce: int = 0
    SCHEMA = {"balance_atoms": "u64", "nonce": "u64"}


@dataclass(frozen=True)
class Cap(_Codec):
    """A short-lived debit capability (EXCHANGE §2, P6/P7/R6/ADV1): scope ``(user, slab,
    asset)``, ``remaining ≤ amount_max``, dead after ``expiry_ms`` or once ``burned``."""

    user: bytes
    slab: int
    asset: int
    amount_max: int
    remaining: int
    expiry_ms: int
    nonce: int
    burned: bool
    SCHEMA = {"user": "b32", "slab": "u64", "asset": "u64", "amount_max": "u64",
              "remaining": "u64", "expiry_ms": "u64", "nonce": "u64", "burned": "bool"}


@dataclass(frozen=True)
class Leg(_Codec):
    """One slab's part of a route: the slab's hold id and what it captured at reserve."""

    slab: int
    slab_hold_id: int
    qty_lots: int
    vwap_px_e6: int
    worst_px_e6: int
    max_charge_atoms: int
    pledged_atoms: int          # moved vault -> escrow at reserve, returned at close
    SCHEMA = {"slab": "u64", "slab_hold_id": "u64", "qty_lots": "u64", "vwap_px_e6": "u64",
              "worst_px_e6": "u64", "max_charge_atoms": "u64", "pledged_atoms": "u64"}


@dataclass(frozen=True)
class RouteHold(_Codec):
    """A multi-slab reservation (EXCHANGE §2 flow 1), keyed ``(user, route_id)``."""

    hold_id: int                # router-wide sequence: cap keys, expiry order (F1)
    user: bytes
    route_id: int
    instrument_id: int
    side: int                   # wire value: 1 buy, 2 sell (the commitment's encoding)
    qty_lots: int
    limit_px_e6: int
    commitment: bytes
    reserve_epoch: int
    expiry_ms: int
    status: int
    legs: tuple
    SCHEMA = {"hold_id": "u64", "user": "b32", "route_id": "u64", "instrument_id": "u64",
              "side": "u8", "qty_lots": "u64", "limit_px_e6": "u64", "commitment": "b32",
              "reserve_epoch": "u64", "expiry_ms": "u64", "status": "u8", "legs": Leg}


@dataclass(frozen=True)
class Exposure(_Codec):
    slab: int
    instrument_id: int
    qty_lots: int
    SCHEMA = {"slab": "u64", "instrument_id": "u64", "qty_lots": "i64"}


@dataclass(frozen=True)
class Portfolio(_Codec):
    """Per-user exposure per (slab, instrument), sorted; net exposure per instrument is the
    sum over slabs (EXCHANGE §2 Portfolio).  Cash and PnL live in escrows and slabs."""

    exposures: tuple = ()
    SCHEMA = {"exposures": Exposure}

    def slabs(self) -> tuple[int, ...]:
        return tuple(sorted({e.slab for e in self.exposures}))

    def net(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for e in self.exposures:
            out[e.instrument_id] = out.get(e.instrument_id, 0) + e.qty_lots
        return out


@dataclass(frozen=True)
class UserNo(_Codec):
    """Public key -> the integer user slabs know (assigned on first touch, from 1)."""

    user_no: int
    SCHEMA = {"user_no": "u64"}


@dataclass(frozen=True)
class UserKey(_Codec):
    pubkey: bytes
    SCHEMA = {"pubkey": "b32"}


@dataclass(frozen=True)
class RegistryEntry(_Codec):
    """Slab registry (EXCHANGE §2, P10/P11): changed by governance only."""

    slab: int
    kind: int                   # 0 book, 1 amm
    owner: bytes
    code_hash: bytes
    config_hash: bytes
    proof_hash: bytes
    oracle_id: int
    imr_bps: int
    mmr_bps: int
    maker_fee_cap_bps: int
    taker_fee_cap_bps: int
    latency_sla_ms: int
    e_max_atoms: int
    active: bool
    SCHEMA = {"slab": "u64", "kind": "u8", "owner": "b32", "code_hash": "b32",
              "config_hash": "b32", "proof_hash": "b32", "oracle_id": "u64", "imr_bps": "u64",
              "mmr_bps": "u64", "maker_fee_cap_bps": "i64", "taker_fee_cap_bps": "i64",
              "latency_sla_ms": "u64", "e_max_atoms": "u64", "active": "bool"}


@dataclass(frozen=True)
class Fund(_Codec):
    """Insurance fund or fee pool balance."""

    balance_atoms: int = 0
    SCHEMA = {"balance_atoms": "i64"}


@dataclass(frozen=True)
class InstrumentState(_Codec):
    """The router's oracle and funding state of one instrument (seed 001 T1, RM6)."""

    price_e6: int = 0
    publish_ms: int = 0
    updated_ms: int = 0
    last_funding_ms: int = 0
    last_rate_ppm: int = 0
    cumulative_rate_ppm: int = 0
    SCHEMA = {"price_e6": "u64", "publish_ms": "u64", "updated_ms": "u64",
              "last_funding_ms": "u64", "last_rate_ppm": "i64", "cumulative_rate_ppm": "i64"}


@dataclass(frozen=True)
class SlabCash(_Codec):
    """The router's ledger of one slab (see ``executor/router/README.md``, collateral model).

    ``clearing_atoms``: the balancing entry of every settlement — minus the realised PnL and
    funding the slab paid into escrows, net (it is the counterpart of open positions'
    unrealised PnL).  ``pool_atoms``: the AMM pool account's cash (LP deposits, swap fees, PnL).
    ``deficit_atoms``: losses neither the account nor the insurance fund covered, repaid by
    haircuts of later positive PnL on this slab (never principal)."""

    clearing_atoms: int = 0
    pool_atoms: int = 0
    deficit_atoms: int = 0
    haircut_atoms: int = 0
    SCHEMA = {"clearing_atoms": "i128", "pool_atoms": "i128", "deficit_atoms": "u64",
              "haircut_atoms": "u64"}


@dataclass(frozen=True)
class Counters(_Codec):
    """Router-wide counters and the conservation totals (EXCHANGE §4)."""

    next_user_no: int = 1
    next_hold_id: int = 1
    next_cap_nonce: int = 1
    deposits_atoms: int = 0
    withdrawals_atoms: int = 0
    genesis_done: bool = False
    expiry_next_epoch: int = 0      # lowest expiry bucket that may still hold open routes
    expiry_last_epoch: int = 0      # highest expiry bucket ever written
    SCHEMA = {"next_user_no": "u64", "next_hold_id": "u64", "next_cap_nonce": "u64",
              "deposits_atoms": "i128", "withdrawals_atoms": "i128", "genesis_done": "bool",
              "expiry_next_epoch": "u64", "expiry_last_epoch": "u64"}


@dataclass(frozen=True)
class ExpiryEntry(_Codec):
    expiry_ms: int
    hold_id: int
    user: bytes
    route_id: int
    SCHEMA = {"expiry_ms": "u64", "hold_id": "u64", "user": "b32", "route_id": "u64"}


@dataclass(frozen=True)
class ExpiryIndex(_Codec):
    """The routes whose hold expires in one epoch, in reservation order: the persisted expiry
    index a restarted node reads to expire exactly the same holds (F1, DESIGN §3).

    One record per expiry epoch (``expiry_ms // batch_ms``) keeps each record small and the
    work at an epoch boundary proportional to what is due.  Entries are not removed when a
    route closes early; ``on_epoch`` skips routes no longer reserved and drops the record."""

    entries: tuple = ()
    SCHEMA = {"entries": ExpiryEntry}


@dataclass(frozen=True)
class OpenRoutes(_Codec):
    """One user's open (reserved) routes as ``(hold_id, route_id)`` pairs flattened in
    reservation order: what ``_pledged_open`` sums and liquidation releases, so neither
    looks beyond this user's routes."""

    pairs: tuple = ()
    SCHEMA = {"pairs": "u64s"}

    @property
    def hold_ids(self) -> tuple:
        return self.pairs[0::2]

    def routes(self) -> list[tuple[int, int]]:
        return list(zip(self.pairs[0::2], self.pairs[1::2]))

    def with_route(self, hold_id: int, route_id: int) -> "OpenRoutes":
        return OpenRoutes(self.pairs + (hold_id, route_id))

    def without(self, hold_id: int) -> "OpenRoutes":
        return OpenRoutes(tuple(x for h, r in self.routes() if h != hold_id for x in (h, r)))


@dataclass(frozen=True)
class DepositRef(_Codec):
    amount_atoms: int
    SCHEMA = {"amount_atoms": "u64"}


@dataclass(frozen=True)
class LiquidationState(_Codec):
    """Start of the grace window (L1) of an account found below maintenance margin."""

    grace_start_ms: int
    SCHEMA = {"grace_start_ms": "u64"}


T_VAULT = Table("vault", Vault)                      # (user, asset)
T_ESCROW = Table("escrow", Escrow)                   # (user, slab, asset)
T_CAP = Table("cap", Cap)                            # (hold_id, slab)
T_HOLD = Table("route-hold", RouteHold)              # (user, route_id)
T_PORTFOLIO = Table("portfolio", Portfolio)          # (user,)
T_USER_NO = Table("account", UserNo)                 # (user,)
T_USER_KEY = Table("user-no", UserKey)               # (user_no,)
T_REGISTRY = Table("registry", RegistryEntry)        # (slab,)
T_INSURANCE = Table("insurance", Fund)               # (asset,)
T_FEE_POOL = Table("fee-pool", Fund)                 # (asset,)
T_INSTRUMENT = Table("instrument", InstrumentState)  # (instrument_id,)
T_SLAB_CASH = Table("slab-cash", SlabCash)           # (slab,)
T_COUNTERS = Table("meta", Counters)                 # ("router",)
T_EXPIRY = Table("meta", ExpiryIndex)                # ("hold-expiry/<epoch>",)
T_OPEN_ROUTES = Table("open-routes", OpenRoutes)     # (user,)
T_DEPOSIT_REF = Table("deposit-ref", DepositRef)     # (l1_ref,)
T_LIQUIDATION = Table("liquidation", LiquidationState)  # (user,)
