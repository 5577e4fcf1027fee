"""The slab program (EXCHANGE §3): instruments, accounts, positions, fees, maker classes, risk,
funding and anti-toxicity on top of the Cython matching core — all state in one arena.

Shape of every transition (STYLE: "the state transition reads like a specification"):

    validate inputs -> preview in the core (read-only) -> price the fills (fees, PnL, ARG)
    -> risk and capacity checks -> apply in the core -> write slab records -> typed result

Reserve and commit run the same steps in C (``ledger.pyx``) for latency; the Python methods
here remain the specification that the C kernel is tested against byte for byte.

Everything that can reject runs before the first write, so a rejected operation leaves the
arena byte-identical (tests prove it by comparing ``arena_bytes()`` before and after).  The
slab never moves router funds: results carry cash deltas for the router to apply.

Persistence (DESIGN §5): ``arena_bytes()`` is the state; ``dirty_pages()`` lists the
``PAGE_SIZE`` pages written since ``clear_dirty()``; ``Slab.from_arena(config, data)``
rebuilds the identical slab (same book, same ids, same next ids).  The only Python-side state
is derived lookup dicts (user -> account slot, (user, instrument) -> position slot), rebuilt
from the arena by scanning slots in order.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from executor.errors import ErrorCode as E
from executor.slab.accounts import CollateralView
from executor.errors import ExecutorError
from executor.matching.core import MatchingCore
from executor.positions import ArgLedger, apply_fill, arg_tax, funding_owed
from executor.slab.config import CAP_TTL_MS_MAX, SlabConfig
from executor.slab.ledger import Ledger
from executor.slab.layout import (
    ACCOUNT_WORDS,
    INSTRUMENT_WORDS,
    PAGE_SIZE,
    POSITION_WORDS,
    SLAB_HEADER_WORDS,
    WORD,
    Layout,
)
from executor.slab.results import (
    BatchOpenResult,
    CancelResult,
    CashDelta,
    CommitResult,
    Fill,
    FundingResult,
    PlaceResult,
    ReleaseResult,
    ReserveResult,
    SlabResult,
    TradePrint,
)
from executor.units import (
    CONTRACT_SCALE,
    I64_MAX,
    bps_of,
    check_i64,
    notional,
)

__all__ = ["Slab", "BUY", "SELL", "GTC", "IOC", "FOK", "POST_ONLY", "DLP", "REG", "PAGE_SIZE"]

BUY, SELL = 0, 1
GTC, IOC, FOK, POST_ONLY = 0, 1, 2, 3
MAX_PRICE_E6 = 1 << 56   # same bound as the matching core's prices
REG, DLP = 0, 1           # maker classes (plan S4/S7): REG orders wait for batch_open
SLAB_MAGIC = 0x534C41424844522E
SLAB_VERSION = 1

# slab header words
_SH_MAGIC, _SH_VERSION, _SH_FPRINT, _SH_N_ACCOUNTS, _SH_N_POSITIONS = 0, 1, 2, 3, 4
_SH_LAST_NOW, _SH_FEE_POOL, _SH_EPOCH = 5, 6, 7
# instrument words
(_I_TICK, _I_LOT, _I_MIN, _I_CS, _I_BAND, _I_HEARTBEAT, _I_FUND_INTERVAL, _I_ORACLE_PX,
 _I_ORACLE_MS, _I_FUND_INDEX, _I_LAST_FUND_MS) = range(11)
# account words
_A_USER, _A_IN_USE, _A_COLLATERAL, _A_CASH, _A_CLASS, _A_FEES_PAID, _A_REBATES = range(7)
# position words
(_P_IN_USE, _P_ACCOUNT, _P_INSTR, _P_QTY, _P_ENTRY, _P_FUND_SNAP, _P_REALISED, _P_ARG_EPOCH,
 _P_ARG_BUY, _P_ARG_SELL, _P_ARG_TAXED, _P_USER) = range(12)

_SLAB_HDR = struct.Struct(f"<{SLAB_HEADER_WORDS}q")
_INSTR = struct.Struct(f"<{INSTRUMENT_WORDS}q")
_ACCOUNT = struct.Struct(f"<{ACCOUNT_WORDS}q")
_POSITION = struct.Struct(f"<{POSITION_WORDS}q")
_WORD = struct.Struct("<q")
_ORACLE = struct.Struct("<2q")   # instrument words _I_ORACLE_PX, _I_ORACLE_MS


class _Reject(Exception):
    """Internal control flow: the operation is rejected with ``code`` before any write."""

    def __init__(self, code: E) -> None:
        self.code = code


@dataclass(slots=True)
class _Priced:
    """Effects of a set of fills, computed before anything is written."""

    positions: dict          # (user, instr) -> new position record (list of words)
    cash: dict               # user -> cash delta
    fees: dict               # user -> fees paid (negative = rebate received)
    fills: list
    fee_pool: int
    arg_tax: int


def _check_hold_request(static: tuple, side: int, qty_lots: int, limit_px_e6: int, ttl_ms: int) -> None:
    """Shape checks shared by ``reserve`` and its side-effect-free ``quote`` (plan S3, EXCHANGE §2):
    side, positive tick/lot-aligned size and limit, minimum size, TTL within CAP_TTL."""
    tick, lot, min_size, _cs, _heartbeat = static
    if side not in (BUY, SELL):
        raise _Reject(E.BAD_SIDE)
    if qty_lots <= 0:
        raise _Reject(E.QTY_NOT_POSITIVE)
    if limit_px_e6 <= 0:
        raise _Reject(E.PRICE_NOT_POSITIVE)
    if limit_px_e6 % tick:
        raise _Reject(E.PRICE_NOT_TICK_ALIGNED)
    if qty_lots % lot:
        raise _Reject(E.QTY_NOT_LOT_ALIGNED)
    if qty_lots < min_size:
        raise _Reject(E.BELOW_MIN_SIZE)
    if not 0 < ttl_ms <= CAP_TTL_MS_MAX:
        raise _Reject(E.BAD_ARGUMENT)


class Slab(CollateralView):
    """One slab: a fixed arena plus the program that interprets it (see module docstring)."""

    ACCOUNT_RECORD, COLLATERAL_WORD, CASH_WORD = _ACCOUNT, _A_COLLATERAL, _A_CASH   # CollateralView

    PAGE_SIZE = PAGE_SIZE
    # reserve and commit run the C kernel (ledger.pyx); False = the Python rules in this file
    fast_commit = True
    fast_reserve = True
    # the router's per-transaction reads and the escrow mirror (margin and the placement margin
    # check, collateral_cash, set_collateral of an existing account — so sync_collateral too)
    # in the same kernel; False = the Python rules
    fast_reads = True

    def __init__(self, config: SlabConfig, *, buffer: bytearray | None = None,
                 _load: bool = False) -> None:
        """A new, formatted slab.  ``buffer`` (a ``bytearray`` of exactly the arena size, e.g.
        ``statetree.pages.PageRegion.buffer``) makes the slab live in that memory; by default
        it gets its own."""
        layout = config.validate()
        self.config = config
        self.layout: Layout = layout
        if buffer is None:
            buffer = bytearray(layout.size)
        if not isinstance(buffer, bytearray) or len(buffer) != layout.size:
            raise ExecutorError(E.ARENA_MISMATCH,
                                f"need a bytearray of {layout.size} bytes for this configuration")
        if not _load:
            buffer[:] = bytes(layout.size)      # same length: never resizes the buffer
        self._arena = buffer
        self._mv = memoryview(self._arena)
        self.core = MatchingCore(self._arena, layout)
        self._fprint = int.from_bytes(config.fingerprint()[:8], "little", signed=True)
        # immutable per-instrument parameters (also in the arena, checked by the fingerprint)
        self._static = tuple((i.tick_e6, i.lot, i.min_size, i.contract_size, i.oracle_heartbeat_ms)
                             for i in config.instruments)
        self.ledger = Ledger(self._arena, layout, config.maker_fee_bps, config.taker_fee_bps,
                             config.imr_bps, config.arg_tax_bps, config.jit_penalty,
                             config.reservation_batch_ms)
        self.ledger.bind(self.core, list(self._static), config.kill_band_bps, layout.positions)
        self.ledger.bind_results(Fill, TradePrint, CashDelta)
        self._accounts: dict[int, int] = {}
        self._collateral_override: tuple | None = None   # preview_place / place_funded only
        self._dry_run = False                              # preview_place only
        self._positions: dict[tuple[int, int], int] = {}
        self._user_positions: dict[int, list[tuple[int, int]]] = {}
        if _load:
            self._load()
        else:
            self._format()

    # ------------------------------------------------------------------ construction / state
    @classmethod
    def from_arena(cls, config: SlabConfig, data) -> "Slab":
        """Rebuild a slab bit-for-bit from persisted arena bytes (a copy; DESIGN §5)."""
        layout = config.validate()
        if len(data) != layout.size:
            raise ExecutorError(E.ARENA_MISMATCH, f"{len(data)} != {layout.size} bytes")
        slab = cls(config, buffer=bytearray(data), _load=True)
        slab.clear_dirty()
        return slab

    @classmethod
    def attach(cls, config: SlabConfig, buffer: bytearray) -> "Slab":
        """Rebuild a slab over persisted arena bytes *in place* (no copy), e.g. over
        ``PageRegion.load(tree, slab_id).buffer``; writes then go straight into ``buffer``."""
        slab = cls(config, buffer=buffer, _load=True)
        slab.clear_dirty()
        return slab

    def _format(self) -> None:
        cfg = self.config
        self.core.format(cfg.freeze_ms, cfg.freeze_top_k)
        hdr = [0] * SLAB_HEADER_WORDS
        hdr[_SH_MAGIC], hdr[_SH_VERSION], hdr[_SH_FPRINT] = SLAB_MAGIC, SLAB_VERSION, self._fprint
        self._put(_SLAB_HDR, self.layout.slab_header, hdr)
        for i, ins in enumerate(cfg.instruments):
            rec = [0] * INSTRUMENT_WORDS
            rec[_I_TICK], rec[_I_LOT], rec[_I_MIN], rec[_I_CS] = (ins.tick_e6, ins.lot,
                                                                   ins.min_size, ins.contract_size)
            rec[_I_BAND], rec[_I_HEARTBEAT] = ins.band_bps, ins.oracle_heartbeat_ms
            rec[_I_FUND_INTERVAL] = ins.funding_interval_ms
            self._put(_INSTR, self._ioff(i), rec)
        self.core.mark_dirty(0, self.layout.size)

    def _load(self) -> None:
        hdr = self._hdr()
        if (not self.core.check_header() or hdr[_SH_MAGIC] != SLAB_MAGIC
                or hdr[_SH_VERSION] != SLAB_VERSION or hdr[_SH_FPRINT] != self._fprint):
            raise ExecutorError(E.ARENA_MISMATCH, "header or config fingerprint differs")
        for slot in range(hdr[_SH_N_ACCOUNTS]):
            self._accounts[self._get(_ACCOUNT, self._aoff(slot))[_A_USER]] = slot
        for slot in range(hdr[_SH_N_POSITIONS]):
            rec = self._get(_POSITION, self._poff(slot))
            self._index_position(rec[_P_USER], rec[_P_INSTR], slot)

    def arena_bytes(self) -> memoryview:
        """The persisted state: a read-only view of the whole arena."""
        return self._mv.toreadonly()

    def dirty_pages(self) -> list[int]:
        """Indices of ``PAGE_SIZE`` pages written since the last ``clear_dirty()``, ascending."""
        pages = set(self.core.dirty_pages())
        pages.update(self.ledger.dirty_pages())
        return sorted(pages)

    def page(self, index: int) -> bytes:
        return bytes(self._mv[index * PAGE_SIZE:(index + 1) * PAGE_SIZE])

    def clear_dirty(self) -> None:
        self.core.clear_dirty()
        self.ledger.clear_dirty()

    # ------------------------------------------------------------------ record access
    def _get(self, st: struct.Struct, off: int) -> list:
        return list(st.unpack_from(self._arena, off))

    def _put(self, st: struct.Struct, off: int, rec: list) -> None:
        st.pack_into(self._arena, off, *rec)
        self.core.mark_dirty(off, st.size)

    def _hdr(self) -> list:
        return self._get(_SLAB_HDR, self.layout.slab_header)

    def _hget(self, word: int) -> int:
        return _WORD.unpack_from(self._arena, self.layout.slab_header + word * WORD)[0]

    def _hset(self, word: int, value: int) -> None:
        off = self.layout.slab_header + word * WORD
        _WORD.pack_into(self._arena, off, value)
        self.core.mark_dirty(off, WORD)

    def _ioff(self, i: int) -> int:
        return self.layout.instrument_records + i * INSTRUMENT_WORDS * WORD

    def _aoff(self, slot: int) -> int:
        return self.layout.account_records + slot * ACCOUNT_WORDS * WORD

    def _poff(self, slot: int) -> int:
        return self.layout.position_records + slot * POSITION_WORDS * WORD

    def _index_position(self, user: int, instr: int, slot: int) -> None:
        self._positions[(user, instr)] = slot
        self._user_positions.setdefault(user, []).append((instr, slot))

    def _instrument(self, instr: int) -> list:
        if not isinstance(instr, int) or not 0 <= instr < len(self.config.instruments):
            raise _Reject(E.UNKNOWN_INSTRUMENT)
        return self._get(_INSTR, self._ioff(instr))

    def _account(self, user: int) -> list:
        ov = self._collateral_override
        if ov is not None and ov[0] == user:
            slot = self._accounts.get(user)
            if slot is None:      # preview of a first touch: a fresh account (REG by default)
                acct = [0] * ACCOUNT_WORDS
                acct[_A_USER], acct[_A_IN_USE], acct[_A_CLASS] = user, 1, ov[2]
            else:
                acct = self._get(_ACCOUNT, self._aoff(slot))
                if ov[2] is not None:
                    acct[_A_CLASS] = ov[2]
            acct[_A_COLLATERAL] = ov[1]
            return acct
        slot = self._accounts.get(user)
        if slot is None:
            raise _Reject(E.UNKNOWN_ACCOUNT)
        return self._get(_ACCOUNT, self._aoff(slot))

    def _position(self, user: int, instr: int) -> list:
        slot = self._positions.get((user, instr))
        if slot is None:
            rec = [0] * POSITION_WORDS
            rec[_P_INSTR], rec[_P_USER] = instr, user
            rec[_P_ACCOUNT] = self._accounts.get(user, -1)
            return rec
        return self._get(_POSITION, self._poff(slot))

    def _check_time(self, now_ms: int) -> None:
        if not 0 <= now_ms <= I64_MAX:          # the clock word is an i64
            raise _Reject(E.BAD_ARGUMENT)
        if now_ms < self._hget(_SH_LAST_NOW):
            raise _Reject(E.TIME_WENT_BACKWARDS)

    def _touch_time(self, now_ms: int) -> None:
        if self._hget(_SH_LAST_NOW) != now_ms:
            self._hset(_SH_LAST_NOW, now_ms)

    def _fresh_oracle(self, ins: list, now_ms: int) -> int:
        """The oracle price, failing closed when missing or stale (seed 001 T1)."""
        if ins[_I_ORACLE_MS] == 0 or ins[_I_ORACLE_PX] <= 0:
            raise _Reject(E.ORACLE_MISSING)
        if now_ms - ins[_I_ORACLE_MS] > ins[_I_HEARTBEAT]:
            raise _Reject(E.ORACLE_STALE)
        return ins[_I_ORACLE_PX]

    def _oracle_now(self, instr: int, heartbeat_ms: int, now_ms: int) -> int:
        """``_fresh_oracle`` reading only the two oracle words (reserve/commit hot path)."""
        px, ts = _ORACLE.unpack_from(self._arena, self._ioff(instr) + _I_ORACLE_PX * WORD)
        if ts == 0 or px <= 0:
            raise _Reject(E.ORACLE_MISSING)
        if now_ms - ts > heartbeat_ms:
            raise _Reject(E.ORACLE_STALE)
        return px

    def _check_order_shape(self, ins: list, price_e6: int, qty_lots: int) -> None:
        """Tick/lot/min-size checks (plan S3)."""
        if qty_lots <= 0:
            raise _Reject(E.QTY_NOT_POSITIVE)
        if price_e6 <= 0:
            raise _Reject(E.PRICE_NOT_POSITIVE)
        if price_e6 % ins[_I_TICK]:
            raise _Reject(E.PRICE_NOT_TICK_ALIGNED)
        if qty_lots % ins[_I_LOT]:
            raise _Reject(E.QTY_NOT_LOT_ALIGNED)
        if qty_lots < ins[_I_MIN]:
            raise _Reject(E.BELOW_MIN_SIZE)

    @staticmethod
    def _check_band(ins: list, oracle_px: int, price_e6: int) -> None:
        if abs(price_e6 - oracle_px) * 10_000 > ins[_I_BAND] * oracle_px:
            raise _Reject(E.PRICE_OUT_OF_BAND)

    # ------------------------------------------------------------------ accounting
    def _epoch(self, now_ms: int) -> int:
        return now_ms // self.config.reservation_batch_ms

    @staticmethod
    def _apply_position(pos: list, dq: int, px: int, cs: int) -> int:
        """Apply a signed fill to a position record; returns the realised PnL (plan S10,
        ``executor.positions.apply_fill``)."""
        ch = apply_fill(pos[_P_QTY], pos[_P_ENTRY], dq, px, cs)
        pos[_P_QTY], pos[_P_ENTRY] = ch.qty_lots, ch.entry_px_e6
        pos[_P_REALISED] = check_i64(pos[_P_REALISED] + ch.realised_atoms)
        return ch.realised_atoms

    @staticmethod
    def _settle_funding(pos: list, index: int, cs: int) -> int:
        """Lazy funding through the cumulative index (RM6): the cash delta, and the snapshot
        moves so each interval applies once (``executor.positions.funding_owed``)."""
        owed = funding_owed(pos[_P_QTY], index, pos[_P_FUND_SNAP], cs)
        pos[_P_FUND_SNAP] = index
        return -owed

    def _arg_tax(self, pos: list, side: int, q: int, px: int, cs: int, epoch: int) -> int:
        """Aggressor round-trip guard on the record's ledger words (``executor.positions.arg_tax``)."""
        ledger, tax = arg_tax(ArgLedger(*pos[_P_ARG_EPOCH:_P_ARG_TAXED + 1]), epoch, side == BUY, q,
                              px, cs, self.config.arg_tax_bps)
        pos[_P_ARG_EPOCH:_P_ARG_TAXED + 1] = list(ledger)
        return tax

    def _price_fills(self, instr: int, ins: list, taker: int, side: int, raw_fills: list,
                     now_ms: int) -> _Priced:
        """Fees, rebates (JIT rule), ARG tax, funding settlement and PnL of ``raw_fills``."""
        cfg = self.config
        cs, index = ins[_I_CS], ins[_I_FUND_INDEX]
        epoch = self._epoch(now_ms)
        batch_open_ms = self.core.batch_open_ms
        positions: dict = {}
        cash: dict = {}
        fees: dict = {}
        fills = []
        fee_pool = arg_total = 0

        def pos_of(user: int) -> list:
            key = (user, instr)
            if key not in positions:
                p = self._position(user, instr)
                cash[user] = cash.get(user, 0) + self._settle_funding(p, index, cs)
                positions[key] = p
            return positions[key]

        tdq = 1 if side == BUY else -1
        for maker_id, maker_user, px, q, maker_created_ms in raw_fills:
            n_up = notional(q, px, cs, round_up=True)
            taker_fee = bps_of(n_up, cfg.taker_fee_bps, round_up=True)
            if cfg.maker_fee_bps >= 0:
                maker_fee = bps_of(n_up, cfg.maker_fee_bps, round_up=True)
            else:
                rebate = bps_of(notional(q, px, cs), -cfg.maker_fee_bps, round_up=False)
                if cfg.jit_penalty and maker_created_ms >= batch_open_ms:
                    rebate = 0      # JIT: created at/after the batch opened earns no rebate
                maker_fee = -rebate
            tp = pos_of(taker)
            mp = pos_of(maker_user)
            t_real = self._apply_position(tp, tdq * q, px, cs)
            m_real = self._apply_position(mp, -tdq * q, px, cs)
            tax = self._arg_tax(tp, side, q, px, cs, epoch)
            cash[taker] = cash.get(taker, 0) + t_real - taker_fee - tax
            cash[maker_user] = cash.get(maker_user, 0) + m_real - maker_fee
            fees[taker] = fees.get(taker, 0) + taker_fee
            fees[maker_user] = fees.get(maker_user, 0) + maker_fee
            fee_pool += taker_fee + maker_fee + tax
            arg_total += tax
            fills.append(Fill(maker_id, maker_user, taker, px, q, maker_fee, taker_fee))
        return _Priced(positions, cash, fees, fills, fee_pool, arg_total)

    def _margin(self, user: int, overlay: dict | None = None, cash_delta: int = 0,
                extra: tuple[int, int] | None = None) -> tuple[int, int]:
        """(equity, IM) of ``user`` on this slab: equity = collateral + cash + uPnL - unsettled
        funding; IM = sum over instruments of notional(|qty|, oracle) * imr_bps, each
        instrument on its own (never netted across instruments, EXCHANGE §6).  ``overlay``
        replaces position records; ``extra`` = (instr, signed qty) adds a hypothetical fill of
        a resting order at the oracle price."""
        acct = self._account(user)
        if self.fast_reads and not overlay and not cash_delta \
                and (extra is None or -I64_MAX <= extra[1] <= I64_MAX):
            ex_i, ex_q = (-1, 0) if extra is None else extra
            fast = self.ledger.margin(acct[_A_COLLATERAL], acct[_A_CASH],
                                      self._user_positions.get(user, []), ex_i, ex_q, self.config.mmr_bps)
            if fast is not None:
                return fast[0], fast[1]
        equity = acct[_A_COLLATERAL] + acct[_A_CASH] + cash_delta
        im = 0
        instrs = {i: self._get(_POSITION, self._poff(s))
                  for i, s in self._user_positions.get(user, [])}
        if overlay:
            for (u, i), rec in overlay.items():
                if u == user:
                    instrs[i] = rec
        if extra is not None and extra[0] not in instrs:
            instrs[extra[0]] = self._position(user, extra[0])
        for i in sorted(instrs):
            rec = instrs[i]
            ins = self._get(_INSTR, self._ioff(i))
            mark, cs = ins[_I_ORACLE_PX], ins[_I_CS]
            qty = rec[_P_QTY] + (extra[1] if extra is not None and extra[0] == i else 0)
            equity += notional(rec[_P_QTY], mark - rec[_P_ENTRY], cs) if rec[_P_QTY] else 0
            equity -= notional(rec[_P_QTY], ins[_I_FUND_INDEX] - rec[_P_FUND_SNAP], cs,
                               round_up=True)
            im += bps_of(notional(abs(qty), mark, cs, round_up=True), self.config.imr_bps,
                         round_up=True)
        return equity, im

    def _check_taker_margin(self, user: int, priced: _Priced) -> None:
        """RM1-RM3: recompute before and after; reject a fill that leaves the account below IM
        unless it reduces the requirement (closing trades stay possible)."""
        eq1, im1 = self._margin(user, priced.positions, priced.cash.get(user, 0))
        if eq1 < im1 and im1 > self._margin(user)[1]:
            raise _Reject(E.MARGIN_INSUFFICIENT)

    def _check_allowance(self, user: int, maker_class: int, more_lots: int) -> None:
        """MAKER_CLASS allowance (seed 000 §1): a maker account's open order quantity on this
        slab, reserved parts included, stays within its class's allowance after ``more_lots``
        rest.  Counted from the books (O(orders in the pool)), only when an order would rest."""
        for cls, allowance in self.config.maker_allowances:
            if cls == maker_class:
                if self.core.account_open_qty(user) + more_lots > allowance:
                    raise _Reject(E.MAKER_ALLOWANCE_EXCEEDED)
                return

    def _need_position_slots(self, keys) -> None:
        missing = sum(1 for k in set(keys) if k not in self._positions)
        if missing and self._hget(_SH_N_POSITIONS) + missing > self.layout.positions:
            raise _Reject(E.POOL_FULL_POSITIONS)

    def _write_effects(self, priced: _Priced, extra_keys=()) -> None:
        """Write positions, cash and fee totals (only after every check passed).

        New balances are computed and bounds-checked before the first write, so an OVERFLOW
        rejection leaves the arena untouched."""
        accounts = []
        for user in sorted(priced.cash):
            aslot = self._accounts[user]
            acct = self._get(_ACCOUNT, self._aoff(aslot))
            acct[_A_CASH] = check_i64(acct[_A_CASH] + priced.cash[user])
            fee = priced.fees.get(user, 0)
            if fee >= 0:
                acct[_A_FEES_PAID] = check_i64(acct[_A_FEES_PAID] + fee)
            else:
                acct[_A_REBATES] = check_i64(acct[_A_REBATES] - fee)
            accounts.append((aslot, acct))
        fee_pool = check_i64(self._hget(_SH_FEE_POOL) + priced.fee_pool)
        keys = set(priced.positions)
        keys.update(extra_keys)
        for key in sorted(keys):
            rec = priced.positions.get(key)
            slot = self._positions.get(key)
            if slot is None:
                slot = self._hget(_SH_N_POSITIONS)
                self._hset(_SH_N_POSITIONS, slot + 1)
                rec = rec or self._position(*key)
                rec[_P_IN_USE] = 1
                rec[_P_ACCOUNT] = self._accounts[key[0]]
                self._index_position(key[0], key[1], slot)
            elif rec is None:
                continue                      # already exists and unchanged
            self._put(_POSITION, self._poff(slot), rec)
        for aslot, acct in accounts:
            self._put(_ACCOUNT, self._aoff(aslot), acct)
        if priced.fee_pool:
            self._hset(_SH_FEE_POOL, fee_pool)

    def _trades_since(self, seq: int) -> tuple[TradePrint, ...]:
        return tuple(TradePrint(*t) for t in self.core.trades_since(seq))

    # ------------------------------------------------------------------ router-facing operations
    def collateral_cash(self, user: int) -> tuple[int, int] | None:
        """``CollateralView.collateral_cash`` read by the kernel (two words, no record copy)."""
        if not self.fast_reads:
            return super().collateral_cash(user)
        slot = self._accounts.get(user)
        return None if slot is None else self.ledger.collateral_cash(slot)

    def set_collateral(self, user: int, amount_atoms: int, *, maker_class: int | None = None,
                       now_ms: int = 0, reset_cash: bool = False) -> SlabResult:
        """Record the router's escrow balance for ``user`` (read-only to the slab, P4) and
        optionally its maker class; creates the account on first use.  ``reset_cash``: the
        router has settled the account's cash into its escrow (executor/router README), so the
        slab's cash restarts at 0 and ``amount_atoms`` is the whole balance."""
        try:
            self._check_time(now_ms)
            if not 0 < user <= I64_MAX or not 0 <= amount_atoms <= I64_MAX:
                raise _Reject(E.BAD_ARGUMENT)
            if maker_class not in (None, REG, DLP):
                raise _Reject(E.BAD_ARGUMENT)
            slot = self._accounts.get(user)
            if slot is not None and self.fast_reads:      # the common case, in the kernel
                return SlabResult(E(self.ledger.set_account(
                    slot, amount_atoms, -1 if maker_class is None else maker_class, reset_cash, now_ms)))
            hdr = self._hdr()
            if slot is None:
                if hdr[_SH_N_ACCOUNTS] >= self.layout.accounts:
                    raise _Reject(E.POOL_FULL_ACCOUNTS)
                slot = hdr[_SH_N_ACCOUNTS]
                hdr[_SH_N_ACCOUNTS] += 1
                self._put(_SLAB_HDR, self.layout.slab_header, hdr)
                self._accounts[user] = slot
                acct = [0] * ACCOUNT_WORDS
                acct[_A_USER], acct[_A_IN_USE] = user, 1
            else:
                acct = self._get(_ACCOUNT, self._aoff(slot))
            acct[_A_COLLATERAL] = amount_atoms
            if reset_cash:
                acct[_A_CASH] = 0
            if maker_class is not None:
                acct[_A_CLASS] = maker_class
            self._put(_ACCOUNT, self._aoff(slot), acct)
            self._touch_time(now_ms)
            return SlabResult()
        except _Reject as r:
            return SlabResult(r.code)
        except ExecutorError as exc:  # 64/128-bit bound, raised before any write
            if exc.code != E.OVERFLOW:
                raise
            return SlabResult(exc.code)

    def update_oracle(self, instrument: int, price_e6: int, *, now_ms: int) -> FundingResult:
        """Oracle price from an authorised feeder (authorisation is the router's job)."""
        try:
            self._check_time(now_ms)
            ins = self._instrument(instrument)
            if price_e6 <= 0:
                raise _Reject(E.PRICE_NOT_POSITIVE)
            if price_e6 > MAX_PRICE_E6:
                raise _Reject(E.OVERFLOW)
            ins[_I_ORACLE_PX], ins[_I_ORACLE_MS] = price_e6, max(now_ms, 1)
            self._put(_INSTR, self._ioff(instrument), ins)
            self._touch_time(now_ms)
            return FundingResult(instrument=instrument, funding_index_e6=ins[_I_FUND_INDEX])
        except _Reject as r:
            return FundingResult(r.code, instrument=instrument)
        except ExecutorError as exc:  # 64/128-bit bound, raised before any write
            if exc.code != E.OVERFLOW:
                raise
            return FundingResult(exc.code, instrument=instrument)

    def place_order(self, user: int, instrument: int, side: int, price_e6: int, qty_lots: int,
                    *, tif: int = GTC, now_ms: int, reduce_only: bool = False,
                    fee_cap_taker_bps: int | None = None) -> PlaceResult:
        """Limit order (GTC / IOC / FOK / POST_ONLY).  DLP accounts rest LIVE at once, REG
        accounts rest PENDING until the next ``batch_open`` (plan S4/S7/M2); the crossing part
        of any order trades at once as a taker."""
        try:
            self._check_time(now_ms)
            ins = self._instrument(instrument)
            acct = self._account(user)
            if side not in (BUY, SELL):
                raise _Reject(E.BAD_SIDE)
            if tif not in (GTC, IOC, FOK, POST_ONLY):
                raise _Reject(E.BAD_TIME_IN_FORCE)
            self._check_order_shape(ins, price_e6, qty_lots)
            oracle = self._fresh_oracle(ins, now_ms)
            self._check_band(ins, oracle, price_e6)
            cap = self.config.fee_cap_taker_bps if fee_cap_taker_bps is None else fee_cap_taker_bps
            if tif != POST_ONLY and self.config.taker_fee_bps > cap:
                raise _Reject(E.FEE_CAP_EXCEEDED)
            if reduce_only:
                q = self._position(user, instrument)[_P_QTY]
                if q == 0 or (q > 0) == (side == BUY) or qty_lots > abs(q):
                    raise _Reject(E.REDUCE_ONLY_WOULD_INCREASE)
            if qty_lots > I64_MAX or price_e6 > I64_MAX:
                raise _Reject(E.OVERFLOW)
            rc = self.core.preview_place(instrument, user, side, price_e6, qty_lots, tif, now_ms)
            if rc < 0:
                raise _Reject(E(-rc))
            filled = self.core.last_filled
            priced = self._price_fills(instrument, ins, user, side, self.core.fills(), now_ms)
            if filled:
                self._check_taker_margin(user, priced)
            rests = tif in (GTC, POST_ONLY) and filled < qty_lots
            if rests:
                # maker-side check at placement: IM if the resting rest filled at the oracle
                sq = (qty_lots - filled) * (1 if side == BUY else -1)
                eq, im = self._margin(user, priced.positions, priced.cash.get(user, 0),
                                      (instrument, sq))
                if eq < im:
                    raise _Reject(E.MARGIN_INSUFFICIENT)
            if rests:
                self._check_allowance(user, acct[_A_CLASS], qty_lots - filled)
            # a resting order's owner gets its position record now, so fills never allocate
            extra = [(user, instrument)] if rests else []
            self._need_position_slots(list(priced.positions) + extra)
            if self._dry_run:
                return PlaceResult(filled_qty=filled)
            if self._collateral_override is not None:
                self._fund_account(now_ms)
            seq0 = self.core.trade_seq
            pending = acct[_A_CLASS] == REG
            rc = self.core.place(instrument, user, side, price_e6, qty_lots, tif, pending, now_ms)
            if rc <= 0:  # preview and apply are the same code path; this cannot differ
                raise ExecutorError(E.INTERNAL, f"place diverged from preview: {rc}")
            self._write_effects(priced, extra)
            self._touch_time(now_ms)
            rested = self.core.last_rested
            return PlaceResult(
                order_id=rc, filled_qty=filled, rested_qty=rested,
                pending=bool(rested) and pending, fills=tuple(priced.fills),
                trades=self._trades_since(seq0),
                cash_deltas=tuple(CashDelta(u, d) for u, d in sorted(priced.cash.items())),
                fee_pool_delta_atoms=priced.fee_pool, arg_tax_atoms=priced.arg_tax)
        except _Reject as r:
            return PlaceResult(r.code)
        except ExecutorError as exc:  # 64/128-bit bound, raised before any write
            if exc.code != E.OVERFLOW:
                raise
            return PlaceResult(exc.code)

    def cancel_order(self, user: int, order_id: int, *, now_ms: int) -> CancelResult:
        """Cancel; idempotent for closed orders.  A partly reserved order keeps only its held
        part until the holds resolve (EXCHANGE §3)."""
        return self._close(now_ms, lambda: self.core.cancel(order_id, user), CancelResult, order_id=order_id)

    def modify_order(self, user: int, order_id: int, price_e6: int, qty_lots: int, *,
                     now_ms: int) -> CancelResult:
        """Size down at the same price keeps priority; a price change (or size up) re-queues
        the order at the tail and must not cross."""
        try:
            self._check_time(now_ms)
            o = self.core.order(order_id)
            if o is None:
                raise _Reject(E.UNKNOWN_ORDER)
            ins = self._instrument(o[2])
            self._check_order_shape(ins, price_e6, qty_lots)
            if price_e6 != o[4]:
                self._check_band(ins, self._fresh_oracle(ins, now_ms), price_e6)
            if qty_lots > o[5] and user in self._accounts:
                self._check_allowance(user, self._account(user)[_A_CLASS], qty_lots - o[5])
                # a bigger order is a bigger maker commitment: same check as at placement
                eq, im = self._margin(user, extra=(o[2], qty_lots if o[3] == BUY else -qty_lots))
                if eq < im:
                    raise _Reject(E.MARGIN_INSUFFICIENT)
            if qty_lots > I64_MAX or price_e6 > I64_MAX:
                raise _Reject(E.OVERFLOW)
            rc = self.core.modify(order_id, user, price_e6, qty_lots, now_ms)
            if rc < 0:
                raise _Reject(E(-rc))
            self._touch_time(now_ms)
            return CancelResult(order_id=order_id)
        except _Reject as r:
            return CancelResult(r.code, order_id=order_id)
        except ExecutorError as exc:  # 64/128-bit bound, raised before any write
            if exc.code != E.OVERFLOW:
                raise
            return CancelResult(exc.code, order_id=order_id)

    def reserve(self, user: int, instrument: int, side: int, qty_lots: int, limit_px_e6: int,
                *, now_ms: int, ttl_ms: int) -> ReserveResult:
        """Hold contra LIVE liquidity up to the limit, capturing maker prices (plan S8/M4/M5).

        Returns what was held (possibly less than asked: the router picks across slabs),
        the VWAP and worst price, and ``max_charge`` = taker fees + ARG tax bound + initial
        margin on the held notional at the captured prices."""
        if self.fast_reserve:
            try:
                r = self.ledger.reserve(instrument, user,
                                        0 if user in self._accounts else E.UNKNOWN_ACCOUNT,
                                        side, qty_lots, limit_px_e6, now_ms, ttl_ms)
            except (OverflowError, TypeError):
                pass                      # odd argument types: the Python path decides
            else:
                if r[0]:
                    return ReserveResult(E(r[0]))
                return ReserveResult(hold_id=r[1], held_qty=r[2], vwap_px_e6=r[3],
                                     worst_px_e6=r[4], max_charge_atoms=r[5], expiry_ms=r[6],
                                     slices=r[7])
        try:
            self._check_time(now_ms)
            if not isinstance(instrument, int) or not 0 <= instrument < len(self._static):
                raise _Reject(E.UNKNOWN_INSTRUMENT)
            tick, lot, min_size, cs, heartbeat_ms = self._static[instrument]
            if user not in self._accounts:
                raise _Reject(E.UNKNOWN_ACCOUNT)
            _check_hold_request(self._static[instrument], side, qty_lots, limit_px_e6, ttl_ms)
            oracle = self._oracle_now(instrument, heartbeat_ms, now_ms)
            if qty_lots > I64_MAX or limit_px_e6 > I64_MAX:
                raise _Reject(E.OVERFLOW)
            # the core plans before it writes: a rejection here leaves the arena untouched
            rc = self.core.reserve(instrument, user, side, qty_lots, limit_px_e6, now_ms,
                                   now_ms + ttl_ms, oracle, now_ms // self.config.reservation_batch_ms)
            if rc < 0:
                raise _Reject(E(-rc))
            self._touch_time(now_ms)
            hold = self.core.reservation(rc)
            slices = tuple(hold[12])
            held = hold[6]
            pq = n_up = 0
            for _o, q, p in slices:
                pq += q * p
                n_up -= (-(q * cs * p)) // CONTRACT_SCALE   # notional(q, p, cs, round_up=True)
            # no bound check needed: qty < 2**38, contract_size <= 2**32, price < 2**56
            vwap = -(-pq // held) if side == BUY else pq // held
            cfg = self.config
            max_charge = (bps_of(n_up, cfg.taker_fee_bps, round_up=True)
                          + bps_of(n_up, cfg.arg_tax_bps, round_up=True)
                          + bps_of(n_up, cfg.imr_bps, round_up=True))
            return ReserveResult(hold_id=rc, held_qty=held, vwap_px_e6=vwap,
                                 worst_px_e6=hold[10], max_charge_atoms=max_charge,
                                 expiry_ms=hold[7], slices=slices)
        except _Reject as r:
            return ReserveResult(r.code)
        except ExecutorError as exc:  # 64/128-bit bound, raised before any write
            if exc.code != E.OVERFLOW:
                raise
            return ReserveResult(exc.code)

    def commit(self, hold_id: int, *, now_ms: int, fee_cap_maker_bps: int | None = None,
               fee_cap_taker_bps: int | None = None) -> CommitResult:
        """Fill the held slices at their captured prices (S9), at most once (F3).

        Rejects (no state change) on: unknown/closed hold, expiry, stale oracle, kill band
        (oracle now vs oracle at reserve, EXCHANGE §6), fee caps (ADV3), taker margin."""
        return self._commit(hold_id, now_ms, fee_cap_maker_bps, fee_cap_taker_bps, apply=True)

    def _commit(self, hold_id: int, now_ms: int, fee_cap_maker_bps: int | None,
                fee_cap_taker_bps: int | None, *, apply: bool) -> CommitResult:
        """``commit`` (``apply``) or ``check_commit``: the same checks and result, and only
        with ``apply`` the writes and trade prints."""
        cfg = self.config
        mcap = cfg.fee_cap_maker_bps if fee_cap_maker_bps is None else fee_cap_maker_bps
        tcap = cfg.fee_cap_taker_bps if fee_cap_taker_bps is None else fee_cap_taker_bps
        if self.fast_commit:
            fast = self._ledger_commit(hold_id, now_ms, mcap, tcap, apply=apply)
            if fast is not None:
                return fast
        try:
            self._check_time(now_ms)
            hold = self.core.reservation(hold_id)
            if hold is None:
                rc = self.core.commit(hold_id, now_ms)  # no hold: returns a code, writes nothing
                raise _Reject(E(-rc) if rc < 0 else E.INTERNAL)
            _id, user, instr, side = hold[0], hold[1], hold[2], hold[3]
            expiry_ms, oracle_at_reserve = hold[7], hold[8]
            if now_ms > expiry_ms:
                raise _Reject(E.RESERVATION_EXPIRED)
            oracle = self._oracle_now(instr, self._static[instr][4], now_ms)
            if abs(oracle - oracle_at_reserve) * 10_000 > self.config.kill_band_bps * oracle_at_reserve:
                raise _Reject(E.KILL_BAND)
            if cfg.maker_fee_bps > mcap or cfg.taker_fee_bps > tcap:
                raise _Reject(E.FEE_CAP_EXCEEDED)
            self._need_position_slots([(user, instr)])   # makers' positions always exist
            ins = self._instrument(instr)
            raw = []
            for maker_id, q, px in hold[12]:
                o = self.core.order(maker_id)
                raw.append((maker_id, o[1], px, q, o[8]))
            priced = self._price_fills(instr, ins, user, side, raw, now_ms)
            self._check_taker_margin(user, priced)
            if not apply:
                return CommitResult(
                    hold_id=hold_id, filled_qty=hold[6], fills=tuple(priced.fills),
                    cash_deltas=tuple(CashDelta(u, d) for u, d in sorted(priced.cash.items())),
                    fee_pool_delta_atoms=priced.fee_pool, arg_tax_atoms=priced.arg_tax)
            seq0 = self.core.trade_seq
            rc = self.core.commit(hold_id, now_ms)
            if rc != 0:
                raise ExecutorError(E.INTERNAL, f"commit failed after checks: {rc}")
            self._write_effects(priced)
            self._touch_time(now_ms)
            return CommitResult(
                hold_id=hold_id, filled_qty=hold[6], fills=tuple(priced.fills),
                trades=self._trades_since(seq0),
                cash_deltas=tuple(CashDelta(u, d) for u, d in sorted(priced.cash.items())),
                fee_pool_delta_atoms=priced.fee_pool, arg_tax_atoms=priced.arg_tax)
        except _Reject as r:
            return CommitResult(r.code, hold_id=hold_id)
        except ExecutorError as exc:  # 64/128-bit bound, raised before any write
            if exc.code != E.OVERFLOW:
                raise
            return CommitResult(exc.code, hold_id=hold_id)

    def _ledger_commit(self, hold_id, now_ms: int, mcap: int, tcap: int, *, apply: bool) -> CommitResult | None:
        """Commit (or, without ``apply``, its check) in the compiled ledger; None when the
        arguments have types only the Python rules handle."""
        try:
            r = self.ledger.commit(hold_id, now_ms, mcap, tcap, self._accounts,
                                   self._positions, self._user_positions, apply)
        except (OverflowError, TypeError):
            return None
        if r[0]:
            return CommitResult(E(r[0]), hold_id=hold_id)
        _c, rid, held, fills, trades, cash, fee_pool, arg_tax, new_pos, user, instr = r
        if new_pos >= 0:
            self._index_position(user, instr, new_pos)
        return CommitResult(hold_id=rid, filled_qty=held, fills=fills, trades=trades,
                            cash_deltas=cash, fee_pool_delta_atoms=fee_pool, arg_tax_atoms=arg_tax)

    def _close(self, now_ms: int, call, result, **ident):
        """The idempotent close shared by cancel and release (R8, F2): the core answers < 0 to
        reject (nothing written), 0 when it closed now, 1 when it was already closed (no-op)."""
        try:
            self._check_time(now_ms)
            rc = call()
            if rc < 0:
                raise _Reject(E(-rc))
            if rc == 0:
                self._touch_time(now_ms)
            return result(noop=rc == 1, **ident)
        except _Reject as r:
            return result(r.code, **ident)
        except ExecutorError as exc:  # 64/128-bit bound, raised before any write
            if exc.code != E.OVERFLOW:
                raise
            return result(exc.code, **ident)

    def release(self, hold_id: int, *, now_ms: int) -> ReleaseResult:
        """Give held quantity back; idempotent (R8, F2): releasing a closed hold is a no-op."""
        return self._close(now_ms, lambda: self.core.release(hold_id), ReleaseResult, hold_id=hold_id)

    def batch_open(self, *, now_ms: int) -> BatchOpenResult:
        """Epoch boundary (DESIGN §3): release holds past their TTL in hold-id order (F1),
        promote PENDING orders in FIFO order (S7), open the freeze window, move the epoch
        (which resets the aggressor ledger lazily)."""
        try:
            self._check_time(now_ms)
        except _Reject as r:
            return BatchOpenResult(r.code)
        except ExecutorError as exc:  # 64/128-bit bound, raised before any write
            if exc.code != E.OVERFLOW:
                raise
            return BatchOpenResult(exc.code)
        expired = tuple(self.core.expired_reservations(now_ms))
        for hold_id in expired:
            self.core.release(hold_id)
        promoted = self.core.batch_open(now_ms)
        cancelled = tuple(self.core.cancelled_ids())
        hdr = self._hdr()
        hdr[_SH_EPOCH] = self._epoch(now_ms)
        hdr[_SH_LAST_NOW] = now_ms
        self._put(_SLAB_HDR, self.layout.slab_header, hdr)
        return BatchOpenResult(promoted=promoted, cancelled_order_ids=cancelled,
                               expired_hold_ids=expired)

    def apply_funding(self, instrument: int, rate_ppm: int, *, now_ms: int) -> FundingResult:
        """Advance the instrument's cumulative funding index by ``oracle * rate_ppm / 1e6``
        (price_e6 units per base unit; conventional sign: positive rate = longs pay shorts).
        At most once per ``funding_interval_ms`` (RM6); positions settle lazily on touch."""
        try:
            self._check_time(now_ms)
            ins = self._instrument(instrument)
            oracle = self._fresh_oracle(ins, now_ms)
            if ins[_I_LAST_FUND_MS] and now_ms < ins[_I_LAST_FUND_MS] + ins[_I_FUND_INTERVAL]:
                raise _Reject(E.FUNDING_NOT_DUE)
            if abs(rate_ppm) > 1_000_000:
                raise _Reject(E.BAD_ARGUMENT)
            delta = (oracle * rate_ppm) // 1_000_000
            ins[_I_FUND_INDEX] = check_i64(ins[_I_FUND_INDEX] + delta)
            ins[_I_LAST_FUND_MS] = now_ms
            self._put(_INSTR, self._ioff(instrument), ins)
            self._touch_time(now_ms)
            return FundingResult(instrument=instrument, funding_index_e6=ins[_I_FUND_INDEX],
                                 delta_e6=delta)
        except _Reject as r:
            return FundingResult(r.code, instrument=instrument)
        except ExecutorError as exc:  # 64/128-bit bound, raised before any write
            if exc.code != E.OVERFLOW:
                raise
            return FundingResult(exc.code, instrument=instrument)

    # ------------------------------------------------------------------ router previews
    # Side-effect-free twins of place/reserve/commit, so the router can check a whole
    # multi-slab transaction before it mutates any slab (EXCHANGE §2 flow 2 "atomic across
    # slabs"; slabs are not journaled, the router's records are).

    def accounts_free(self) -> int:
        """Account slots left (a first ``set_collateral`` for a new user needs one)."""
        return self.layout.accounts - self._hget(_SH_N_ACCOUNTS)

    def preview_place(self, user: int, instrument: int, side: int, price_e6: int,
                      qty_lots: int, *, tif: int = GTC, now_ms: int, reduce_only: bool = False,
                      fee_cap_taker_bps: int | None = None, collateral_atoms: int,
                      maker_class: int | None = None) -> PlaceResult:
        """``place_order`` as if ``set_collateral(user, collateral_atoms, maker_class)`` had
        run first (the account may not exist yet); checks only, the arena is not written.
        ``ok`` means that pair of calls will succeed."""
        return self._place_with_collateral(user, instrument, side, price_e6, qty_lots, tif=tif,
                                           now_ms=now_ms, reduce_only=reduce_only,
                                           fee_cap_taker_bps=fee_cap_taker_bps,
                                           collateral_atoms=collateral_atoms,
                                           maker_class=maker_class, dry_run=True)

    def place_funded(self, user: int, instrument: int, side: int, price_e6: int,
                     qty_lots: int, *, tif: int = GTC, now_ms: int, reduce_only: bool = False,
                     fee_cap_taker_bps: int | None = None, collateral_atoms: int,
                     maker_class: int | None = None) -> PlaceResult:
        """``set_collateral(user, collateral_atoms, maker_class)`` then ``place_order``, as one
        all-or-nothing step: every check runs against the new collateral first and the account
        is written only once the order is known to succeed, so a rejection changes nothing and
        the router needs no separate preview (one matching pass per order, not two)."""
        return self._place_with_collateral(user, instrument, side, price_e6, qty_lots, tif=tif,
                                           now_ms=now_ms, reduce_only=reduce_only,
                                           fee_cap_taker_bps=fee_cap_taker_bps,
                                           collateral_atoms=collateral_atoms,
                                           maker_class=maker_class, dry_run=False)

    def _place_with_collateral(self, user: int, instrument: int, side: int, price_e6: int,
                               qty_lots: int, *, tif: int, now_ms: int, reduce_only: bool,
                               fee_cap_taker_bps: int | None, collateral_atoms: int,
                               maker_class: int | None, dry_run: bool) -> PlaceResult:
        if user not in self._accounts and self.accounts_free() <= 0:
            return PlaceResult(E.POOL_FULL_ACCOUNTS)
        if not 0 < user <= I64_MAX or not 0 <= collateral_atoms <= I64_MAX:
            return PlaceResult(E.BAD_ARGUMENT)
        if maker_class not in (None, REG, DLP):
            return PlaceResult(E.BAD_ARGUMENT)
        self._collateral_override = (user, collateral_atoms,
                                     REG if maker_class is None and user not in self._accounts
                                     else maker_class)
        self._dry_run = dry_run
        try:
            return self.place_order(user, instrument, side, price_e6, qty_lots, tif=tif,
                                    now_ms=now_ms, reduce_only=reduce_only,
                                    fee_cap_taker_bps=fee_cap_taker_bps)
        finally:
            self._collateral_override = None
            self._dry_run = False

    def _fund_account(self, now_ms: int) -> None:
        """``place_funded``: every check passed against the overriding collateral; write it
        (creating the account on first use) before the order's own effects."""
        user, amount, maker_class = self._collateral_override
        self._collateral_override = None
        r = self.set_collateral(user, amount, maker_class=maker_class, now_ms=now_ms)
        if not r.ok:       # bounds and the free slot were checked before the order was priced
            raise ExecutorError(E.INTERNAL, f"set_collateral after checks: {r.code}")

    def quote(self, user: int, instrument: int, side: int, qty_lots: int, limit_px_e6: int,
              *, now_ms: int, ttl_ms: int) -> ReserveResult:
        """What ``reserve`` would hold now (``hold_id == 0``), with no state change: the
        router's smart order routing asks every slab before reserving on any (EXCHANGE §2).
        Same checks as ``reserve`` except that the account may not exist yet."""
        if self.fast_reserve:
            free = user in self._accounts or self.accounts_free() > 0
            try:
                r = self.ledger.reserve(instrument, user, 0 if free else E.POOL_FULL_ACCOUNTS,
                                        side, qty_lots, limit_px_e6, now_ms, ttl_ms, False)
            except (OverflowError, TypeError):
                pass                      # odd argument types: the Python path decides
            else:
                if r[0]:
                    return ReserveResult(E(r[0]))
                return ReserveResult(held_qty=r[2], vwap_px_e6=r[3], worst_px_e6=r[4],
                                     max_charge_atoms=r[5], expiry_ms=r[6], slices=r[7])
        try:
            self._check_time(now_ms)
            if not isinstance(instrument, int) or not 0 <= instrument < len(self._static):
                raise _Reject(E.UNKNOWN_INSTRUMENT)
            tick, lot, min_size, cs, heartbeat_ms = self._static[instrument]
            if user not in self._accounts and self.accounts_free() <= 0:
                raise _Reject(E.POOL_FULL_ACCOUNTS)
            _check_hold_request(self._static[instrument], side, qty_lots, limit_px_e6, ttl_ms)
            self._oracle_now(instrument, heartbeat_ms, now_ms)
            if qty_lots > I64_MAX or limit_px_e6 > I64_MAX:
                raise _Reject(E.OVERFLOW)
            rc = self.core.preview_reserve(instrument, user, side, qty_lots, limit_px_e6)
            if rc < 0:
                raise _Reject(E(-rc))
            slices = tuple((m, q, p) for m, _acct, p, q, _c in self.core.fills())
            held = sum(q for _m, q, _p in slices)
            pq = sum(q * p for _m, q, p in slices)
            n_up = sum(notional(q, p, cs, round_up=True) for _m, q, p in slices)
            vwap = -(-pq // held) if side == BUY else pq // held
            cfg = self.config
            max_charge = (bps_of(n_up, cfg.taker_fee_bps, round_up=True)
                          + bps_of(n_up, cfg.arg_tax_bps, round_up=True)
                          + bps_of(n_up, cfg.imr_bps, round_up=True))
            return ReserveResult(held_qty=held, vwap_px_e6=vwap,
                                 worst_px_e6=max(p for _m, _q, p in slices) if side == BUY
                                 else min(p for _m, _q, p in slices),
                                 max_charge_atoms=max_charge, expiry_ms=now_ms + ttl_ms,
                                 slices=slices)
        except _Reject as r:
            return ReserveResult(r.code)
        except ExecutorError as exc:
            if exc.code != E.OVERFLOW:
                raise
            return ReserveResult(exc.code)

    def check_commit(self, hold_id: int, *, now_ms: int, fee_cap_maker_bps: int | None = None,
                     fee_cap_taker_bps: int | None = None) -> CommitResult:
        """Every check of ``commit`` without writing: ``ok`` means the commit will succeed at
        ``now_ms``; ``cash_deltas``/``fills``/``fee_pool_delta_atoms`` are what it will report,
        so the router can check its caps first (P6/P7)."""
        return self._commit(hold_id, now_ms, fee_cap_maker_bps, fee_cap_taker_bps, apply=False)

    # ------------------------------------------------------------------ reads
    def best_bid(self, instrument: int):
        return self.core.best_bid(instrument)

    def best_ask(self, instrument: int):
        return self.core.best_ask(instrument)

    def depth(self, instrument: int, side: int, levels: int = 10):
        """L2 depth of resting ``side`` excluding reserved quantity (S8)."""
        return self.core.depth(instrument, side, levels)

    def order(self, order_id: int):
        return self.core.order(order_id)

    def hold(self, hold_id: int):
        return self.core.reservation(hold_id)

    def open_orders(self, user: int) -> list[int]:
        """Ids of ``user``'s live and pending orders, ascending (what liquidation cancels)."""
        return self.core.account_orders(user)

    def position(self, user: int, instrument: int) -> dict:
        rec = self._position(user, instrument)
        return {"qty_lots": rec[_P_QTY], "entry_px_e6": rec[_P_ENTRY],
                "realised_pnl_atoms": rec[_P_REALISED], "funding_snapshot_e6": rec[_P_FUND_SNAP],
                "arg_epoch": rec[_P_ARG_EPOCH], "arg_buy_lots": rec[_P_ARG_BUY],
                "arg_sell_lots": rec[_P_ARG_SELL], "arg_taxed_lots": rec[_P_ARG_TAXED]}

    def account(self, user: int) -> dict:
        try:
            acct = self._account(user)
        except _Reject:
            return {}
        return {"collateral_atoms": acct[_A_COLLATERAL], "cash_atoms": acct[_A_CASH],
                "maker_class": acct[_A_CLASS], "fees_paid_atoms": acct[_A_FEES_PAID],
                "rebates_atoms": acct[_A_REBATES]}

    def margin(self, user: int) -> tuple[int, int, int]:
        """(equity_atoms, im_atoms, mm_atoms) of ``user`` on this slab (RM1-RM3)."""
        slot = self._accounts.get(user)
        if self.fast_reads and slot is not None and self._collateral_override is None:
            coll, cash = self.ledger.collateral_cash(slot)
            fast = self.ledger.margin(coll, cash, self._user_positions.get(user, []), -1, 0,
                                      self.config.mmr_bps)
            if fast is not None:
                return fast
        equity, im = self._margin(user)
        mm = 0
        for i, slot in self._user_positions.get(user, []):
            rec = self._get(_POSITION, self._poff(slot))
            ins = self._get(_INSTR, self._ioff(i))
            mm += bps_of(notional(abs(rec[_P_QTY]), ins[_I_ORACLE_PX], ins[_I_CS], round_up=True),
                         self.config.mmr_bps, round_up=True)
        return equity, im, mm

    def margin_with_orders(self, user: int) -> tuple[int, int]:
        """(equity, IM as if every resting or pending order of ``user`` filled on the worse
        side of each instrument at the oracle): the collateral the account's orders were
        accepted against (the placement check, RM1–RM3), which the router keeps pledged."""
        equity = self.margin(user)[0]
        sides = {i: (b, s) for i, b, s in self.core.account_open_by_side(user)}
        instrs = set(sides) | {i for i, _slot in self._user_positions.get(user, [])}
        im = 0
        for i in sorted(instrs):
            q = self._position(user, i)[_P_QTY]
            b, s = sides.get(i, (0, 0))
            ins = self._get(_INSTR, self._ioff(i))
            im += bps_of(notional(max(abs(q + b), abs(q - s)), ins[_I_ORACLE_PX], ins[_I_CS],
                                  round_up=True), self.config.imr_bps, round_up=True)
        return equity, im

    @property
    def fee_pool_atoms(self) -> int:
        return self._hget(_SH_FEE_POOL)
