"""The AMM slab program (EXCHANGE §3 "AMM slab", seed 002): a constant-product pool that quotes,
reserves and commits like a book slab, so the router routes one order across books and pools.

Interface: the router-facing methods of ``executor.slab.program.Slab`` with the same names,
arguments and result types — ``reserve``, ``commit``, ``release``, ``batch_open``,
``update_oracle``, ``apply_funding``, ``set_collateral``, ``position``, ``account``,
``margin``, ``arena_bytes``/``dirty_pages``/``page``/``clear_dirty``/``from_arena`` — plus
``quote`` (a reserve without state change) and ``add_liquidity``/``remove_liquidity``.
There is no order book, so no ``place_order``/``cancel_order``/``modify_order``.

Economics (a vAMM; see ``curve.py`` for the integer math and the reservation rule):

* The reserves ``(x lots, y atoms)`` only set prices.  The **pool is the counterparty**: its
  own account (``POOL_USER = 0``, account and position slot 0) takes the opposite side of
  every fill, with a VWAP entry, realised PnL and lazily settled funding like any trader, so
  positions and funding net to zero across traders and pool (RM7).
* The swap fee (CurveScript ``FEE taker_bps``) is paid by the taker to the pool — reported as
  the maker side of the ``Fill`` (``maker_fee_atoms = −fee``, a rebate to the pool), so it
  accrues to the LPs and never enters the reserves: ``k`` changes only by the rounding of
  ``curve.move``, which never decreases it.  The fee-pool delta is the ARG tax only.
* A commit fills the whole hold at the price captured at reserve (S9) and then moves the
  reserves by the hold's quantity along the curve from their *current* state.
* LP shares: genesis mints ``quote_reserve_atoms`` shares to the pool account (the protocol's
  virtual capital ``G``, never redeemable).  A share is an equal claim on the pool's depth and
  on its net asset value ``NAV = G + balance + unrealised PnL − unsettled funding`` (at the
  oracle).  ``add_liquidity`` mints ``⌊amount·S / NAV⌋`` shares and deepens the curve by
  ``dx = ⌊x·shares / S⌋`` whole lots and ``dy = ⌊y·dx / x⌋`` atoms (so the price stays put:
  a deposit worth less than a lot of depth adds none, it cannot nudge the price);
  ``remove_liquidity`` pays ``⌊NAV·shares / S⌋`` (only from the pool's real cash balance) and
  shrinks the curve the same way.  Share amounts round in the pool's favour.

Shape of every transition, as in the book slab: validate → price (read-only) → check → apply →
typed result.  Everything that can reject runs before the first write, so a rejected operation
leaves ``arena_bytes()`` byte-identical.  The slab never moves router funds.

Persistence (DESIGN §5): all state is the arena (fixed layout, ``config.compute_amm_layout``,
little-endian i64 words); ``dirty_pages`` lists written ``PAGE_SIZE`` pages;
``AmmSlab.from_arena(config, data)`` rebuilds the identical slab.  The only Python-side state
is two lookup dicts rebuilt by scanning slots in order.
"""
from __future__ import annotations

import struct

from executor.amm import curve
from executor.amm.config import (ACCOUNT_WORDS, HEADER_WORDS, HOLD_WORDS, INSTRUMENT_WORDS,
                                 POSITION_WORDS, TRADE_WORDS, AmmLayout, AmmSlabConfig)
from executor.positions import ArgLedger, apply_fill, arg_tax, funding_owed
from executor.amm.results import LiquidityResult, PoolState, QuoteResult
from executor.errors import ErrorCode as E
from executor.slab.accounts import CollateralView
from executor.errors import ExecutorError
from executor.slab.config import CAP_TTL_MS_MAX
from executor.slab.layout import PAGE_SIZE, WORD
from executor.slab.results import (BatchOpenResult, CashDelta, CommitResult, Fill,
                                   FundingResult, ReleaseResult, ReserveResult, SlabResult,
                                   TradePrint)
from executor.units import I64_MAX, bps_of, ceil_div, check_i64, notional

__all__ = ["AmmSlab", "BUY", "SELL", "POOL_USER", "PAGE_SIZE"]

BUY, SELL = curve.BUY, curve.SELL
POOL_USER = 0             # the pool's own account; traders and LPs are users > 0
AMM_MAGIC = 0x414D4D534C414221
AMM_VERSION = 1
_SLOT_BITS = 24
_SLOT_MASK = (1 << _SLOT_BITS) - 1

# header words
(_H_MAGIC, _H_VERSION, _H_FPRINT, _H_N_ACCOUNTS, _H_N_POSITIONS, _H_LAST_NOW, _H_FEE_POOL,
 _H_EPOCH, _H_X, _H_Y, _H_SHARES, _H_PEND_BUY, _H_PEND_SELL, _H_HOLD_FREE, _H_HOLD_USED,
 _H_NEXT_SERIAL, _H_TRADE_SEQ, _H_OPEN_HOLDS) = range(18)
# instrument words (the book slab's order)
(_I_TICK, _I_LOT, _I_MIN, _I_CS, _I_BAND, _I_HEARTBEAT, _I_FUND_INTERVAL, _I_ORACLE_PX,
 _I_ORACLE_MS, _I_FUND_INDEX, _I_LAST_FUND_MS) = range(11)
# account words
_A_USER, _A_IN_USE, _A_COLLATERAL, _A_CASH, _A_SHARES, _A_FEES_PAID, _A_FEES_EARNED = range(7)
# position words (the book slab's order)
(_P_IN_USE, _P_ACCOUNT, _P_INSTR, _P_QTY, _P_ENTRY, _P_FUND_SNAP, _P_REALISED, _P_ARG_EPOCH,
 _P_ARG_BUY, _P_ARG_SELL, _P_ARG_TAXED, _P_USER) = range(12)
# hold words
(_R_ID, _R_IN_USE, _R_USER, _R_SIDE, _R_QTY, _R_PX, _R_CREATED, _R_EXPIRY, _R_ORACLE, _R_EPOCH,
 _R_NEXT_FREE, _R_AMOUNT) = range(12)

_HDR = struct.Struct(f"<{HEADER_WORDS}q")
_INSTR = struct.Struct(f"<{INSTRUMENT_WORDS}q")
_ACCOUNT = struct.Struct(f"<{ACCOUNT_WORDS}q")
_POSITION = struct.Struct(f"<{POSITION_WORDS}q")
_HOLD = struct.Struct(f"<{HOLD_WORDS}q")
_TRADE = struct.Struct(f"<{TRADE_WORDS}q")
_WORD = struct.Struct("<q")


class _Reject(Exception):
    """Internal control flow: the operation is rejected with ``code`` before any write."""

    def __init__(self, code: E) -> None:
        self.code = code


class AmmSlab(CollateralView):
    """One AMM slab: a fixed arena plus the program that interprets it (module docstring)."""

    ACCOUNT_RECORD, COLLATERAL_WORD, CASH_WORD = _ACCOUNT, _A_COLLATERAL, _A_CASH   # CollateralView

    PAGE_SIZE = PAGE_SIZE

    def __init__(self, config: AmmSlabConfig, *, _data: bytes | None = None) -> None:
        layout = config.validate()
        self.config = config
        self.layout: AmmLayout = layout
        if _data is None:
            self._arena = bytearray(layout.size)
        else:
            if len(_data) != layout.size:
                raise ExecutorError(E.ARENA_MISMATCH, f"{len(_data)} != {layout.size} bytes")
            self._arena = bytearray(_data)
        self._mv = memoryview(self._arena)
        self._dirty: set[int] = set()
        self._fprint = int.from_bytes(config.fingerprint()[:8], "little", signed=True)
        self._accounts: dict[int, int] = {}     # user -> account slot
        self._positions: dict[int, int] = {}    # user -> position slot (one instrument)
        if _data is None:
            self._format()
        else:
            self._load()

    # ------------------------------------------------------------------ construction / state
    @classmethod
    def from_arena(cls, config: AmmSlabConfig, data) -> "AmmSlab":
        """Rebuild an AMM slab bit-for-bit from persisted arena bytes (DESIGN §5)."""
        slab = cls(config, _data=bytes(data))
        slab.clear_dirty()
        return slab

    def _format(self) -> None:
        cfg, ins = self.config, self.config.instrument
        hdr = [0] * HEADER_WORDS
        hdr[_H_MAGIC], hdr[_H_VERSION], hdr[_H_FPRINT] = AMM_MAGIC, AMM_VERSION, self._fprint
        hdr[_H_N_ACCOUNTS] = hdr[_H_N_POSITIONS] = 1
        hdr[_H_X], hdr[_H_Y] = cfg.base_reserve_lots, cfg.quote_reserve_atoms
        hdr[_H_SHARES] = cfg.quote_reserve_atoms
        hdr[_H_HOLD_FREE] = -1
        hdr[_H_NEXT_SERIAL] = 1
        self._put(_HDR, self.layout.header, hdr)
        rec = [0] * INSTRUMENT_WORDS
        rec[_I_TICK], rec[_I_LOT], rec[_I_MIN], rec[_I_CS] = (ins.tick_e6, ins.lot, ins.min_size,
                                                               ins.contract_size)
        rec[_I_BAND], rec[_I_HEARTBEAT] = ins.band_bps, ins.oracle_heartbeat_ms
        rec[_I_FUND_INTERVAL] = ins.funding_interval_ms
        self._put(_INSTR, self.layout.instrument, rec)
        acct = [0] * ACCOUNT_WORDS
        acct[_A_USER], acct[_A_IN_USE], acct[_A_SHARES] = POOL_USER, 1, cfg.quote_reserve_atoms
        self._put(_ACCOUNT, self._aoff(0), acct)
        pos = [0] * POSITION_WORDS
        pos[_P_IN_USE], pos[_P_ACCOUNT], pos[_P_USER] = 1, 0, POOL_USER
        self._put(_POSITION, self._poff(0), pos)
        self._accounts[POOL_USER] = 0
        self._positions[POOL_USER] = 0
        self._mark(0, self.layout.size)

    def _load(self) -> None:
        hdr = self._get(_HDR, self.layout.header)
        if (hdr[_H_MAGIC] != AMM_MAGIC or hdr[_H_VERSION] != AMM_VERSION
                or hdr[_H_FPRINT] != self._fprint):
            raise ExecutorError(E.ARENA_MISMATCH, "header or config fingerprint differs")
        for slot in range(hdr[_H_N_ACCOUNTS]):
            self._accounts[self._get(_ACCOUNT, self._aoff(slot))[_A_USER]] = slot
        for slot in range(hdr[_H_N_POSITIONS]):
            self._positions[self._get(_POSITION, self._poff(slot))[_P_USER]] = slot

    def arena_bytes(self) -> memoryview:
        """The persisted state: a read-only view of the whole arena."""
        return self._mv.toreadonly()

    def dirty_pages(self) -> list[int]:
        """Indices of ``PAGE_SIZE`` pages written since the last ``clear_dirty()``, ascending."""
        return sorted(self._dirty)

    def page(self, index: int) -> bytes:
        return bytes(self._mv[index * PAGE_SIZE:(index + 1) * PAGE_SIZE])

    def clear_dirty(self) -> None:
        self._dirty.clear()

    # ------------------------------------------------------------------ record access
    def _mark(self, off: int, size: int) -> None:
        self._dirty.update(range(off // PAGE_SIZE, (off + size - 1) // PAGE_SIZE + 1))

    def _get(self, st: struct.Struct, off: int) -> list:
        return list(st.unpack_from(self._arena, off))

    def _put(self, st: struct.Struct, off: int, rec: list) -> None:
        st.pack_into(self._arena, off, *rec)
        self._mark(off, st.size)

    def _h(self, word: int) -> int:
        return _WORD.unpack_from(self._arena, self.layout.header + word * WORD)[0]

    def _hset(self, word: int, value: int) -> None:
        off = self.layout.header + word * WORD
        _WORD.pack_into(self._arena, off, value)
        self._mark(off, WORD)

    def _aoff(self, slot: int) -> int:
        return self.layout.account_records + slot * ACCOUNT_WORDS * WORD

    def _poff(self, slot: int) -> int:
        return self.layout.position_records + slot * POSITION_WORDS * WORD

    def _roff(self, slot: int) -> int:
        return self.layout.hold_records + slot * HOLD_WORDS * WORD

    def _toff(self, slot: int) -> int:
        return self.layout.trade_records + slot * TRADE_WORDS * WORD

    def _instrument(self, instr: int) -> list:
        if not isinstance(instr, int) or instr != 0:
            raise _Reject(E.UNKNOWN_INSTRUMENT)
        return self._get(_INSTR, self.layout.instrument)

    def _account(self, user: int) -> list:
        slot = self._accounts.get(user)
        if slot is None:
            raise _Reject(E.UNKNOWN_ACCOUNT)
        return self._get(_ACCOUNT, self._aoff(slot))

    def _position(self, user: int) -> list:
        slot = self._positions.get(user)
        if slot is None:
            rec = [0] * POSITION_WORDS
            rec[_P_USER], rec[_P_ACCOUNT] = user, self._accounts.get(user, -1)
            return rec
        return self._get(_POSITION, self._poff(slot))

    def _check_time(self, now_ms: int) -> None:
        if isinstance(now_ms, int) and not 0 <= now_ms <= I64_MAX:   # the clock word is an i64
            raise _Reject(E.BAD_ARGUMENT)
        if not isinstance(now_ms, int) or now_ms < self._h(_H_LAST_NOW):
            raise _Reject(E.TIME_WENT_BACKWARDS)

    def _touch_time(self, now_ms: int) -> None:
        if self._h(_H_LAST_NOW) != now_ms:
            self._hset(_H_LAST_NOW, now_ms)

    def _epoch(self, now_ms: int) -> int:
        return now_ms // self.config.reservation_batch_ms

    @staticmethod
    def _fresh_oracle(ins: list, now_ms: int) -> int:
        """The oracle price, failing closed when missing or stale (seed 001 T1)."""
        if ins[_I_ORACLE_MS] == 0 or ins[_I_ORACLE_PX] <= 0:
            raise _Reject(E.ORACLE_MISSING)
        if now_ms - ins[_I_ORACLE_MS] > ins[_I_HEARTBEAT]:
            raise _Reject(E.ORACLE_STALE)
        return ins[_I_ORACLE_PX]

    @staticmethod
    def _check_shape(ins: list, side: int, limit_px_e6: int, qty_lots: int) -> None:
        """Side, tick/lot/min-size checks of the request (plan S3)."""
        if side not in (BUY, SELL):
            raise _Reject(E.BAD_SIDE)
        if not isinstance(qty_lots, int) or qty_lots <= 0:
            raise _Reject(E.QTY_NOT_POSITIVE)
        if not isinstance(limit_px_e6, int) or limit_px_e6 <= 0:
            raise _Reject(E.PRICE_NOT_POSITIVE)
        if limit_px_e6 % ins[_I_TICK]:
            raise _Reject(E.PRICE_NOT_TICK_ALIGNED)
        if qty_lots % ins[_I_LOT]:
            raise _Reject(E.QTY_NOT_LOT_ALIGNED)
        if qty_lots < ins[_I_MIN]:
            raise _Reject(E.BELOW_MIN_SIZE)
        if qty_lots > I64_MAX or limit_px_e6 > I64_MAX:
            raise _Reject(E.OVERFLOW)

    # ------------------------------------------------------------------ pricing (read-only)
    @staticmethod
    def _band_limit(ins: list, side: int, limit_px_e6: int, oracle: int) -> int:
        """The limit clamped to the instrument's price band around the oracle (tick-aligned,
        towards the oracle), so the pool never fills off-band when its curve has drifted."""
        tick, band = ins[_I_TICK], ins[_I_BAND]
        if side == BUY:
            return min(limit_px_e6, oracle * (10_000 + band) // 10_000 // tick * tick)
        lo = ceil_div(ceil_div(oracle * max(10_000 - band, 0), 10_000), tick) * tick
        return max(limit_px_e6, lo, tick)

    def _plan(self, ins: list, side: int, qty_lots: int, limit_px_e6: int, oracle: int
              ) -> tuple[int, int, int, int]:
        """(held_lots, fill_px_e6, curve_amount_atoms, marginal_px_e6) of a new hold, priced
        after the open holds of the same side (curve.py "Reservation rule")."""
        cs = ins[_I_CS]
        pending = self._h(_H_PEND_BUY if side == BUY else _H_PEND_SELL)
        x, y = curve.side_state(self._h(_H_X), self._h(_H_Y), side, pending)
        limit = self._band_limit(ins, side, limit_px_e6, oracle)
        q = curve.best_fill(side, x, y, qty_lots, ins[_I_LOT], limit, cs)
        if q <= 0 or q < ins[_I_MIN]:
            raise _Reject(E.NO_LIQUIDITY)
        amount = (curve.buy_cost_atoms(x, y, q) if side == BUY
                  else curve.sell_proceeds_atoms(x, y, q))
        px = curve.fill_price_e6(side, amount, q, cs, ins[_I_TICK])
        if px <= 0 or px > I64_MAX:
            raise _Reject(E.NO_LIQUIDITY)
        nx, ny = curve.move(x, y, side, q)
        return q, px, amount, curve.marginal_price_e6(nx, ny, cs)

    def _max_charge(self, ins: list, q: int, px: int) -> int:
        """Upper bound of a commit's debits besides PnL: swap fee + ARG bound + IM (as the
        book slab's ``max_charge``)."""
        cfg = self.config
        n_up = notional(q, px, ins[_I_CS], round_up=True)
        return (bps_of(n_up, cfg.swap_fee_bps, round_up=True)
                + bps_of(n_up, cfg.arg_tax_bps, round_up=True)
                + bps_of(n_up, cfg.imr_bps, round_up=True))

    def _margin(self, user: int, pos: list | None = None, cash_delta: int = 0
                ) -> tuple[int, int]:
        """(equity, IM) of ``user``: equity = collateral + cash + uPnL − unsettled funding,
        IM = notional(|qty|, oracle) · imr_bps, both rounded against the user (RM1-RM3)."""
        acct = self._account(user)
        rec = self._position(user) if pos is None else pos
        ins = self._get(_INSTR, self.layout.instrument)
        mark, cs, q = ins[_I_ORACLE_PX], ins[_I_CS], rec[_P_QTY]
        equity = acct[_A_COLLATERAL] + acct[_A_CASH] + cash_delta
        if q:
            equity += notional(q, mark - rec[_P_ENTRY], cs)
            equity -= funding_owed(q, ins[_I_FUND_INDEX], rec[_P_FUND_SNAP], cs)
        im = bps_of(notional(abs(q), mark, cs, round_up=True), self.config.imr_bps, round_up=True)
        return equity, im

    def _solvent_nav(self, now_ms: int) -> int:
        """The pool's NAV at a fresh oracle, for pricing LP shares; rejects a stale oracle or an
        insolvent pool (adding and removing liquidity both price at it)."""
        ins = self._instrument(0)
        self._fresh_oracle(ins, now_ms)
        nav = self._nav(ins)
        if nav <= 0:
            raise _Reject(E.AMM_POOL_INSOLVENT)
        return nav

    def _nav(self, ins: list) -> int:
        """Net asset value behind the LP shares: genesis capital + pool balance + the pool
        position's unrealised PnL at the oracle − its unsettled funding."""
        equity, _im = self._margin(POOL_USER)
        return self.config.quote_reserve_atoms + equity

    # ------------------------------------------------------------------ holds
    def _hold_slot(self, hold_id: int) -> tuple[int, list | None]:
        """(slot, open hold record or None if it was closed).  Rejects ids never issued."""
        if not isinstance(hold_id, int) or hold_id <= 0:
            raise _Reject(E.UNKNOWN_RESERVATION)
        slot, serial = hold_id & _SLOT_MASK, hold_id >> _SLOT_BITS
        if slot >= self._h(_H_HOLD_USED) or not 0 < serial < self._h(_H_NEXT_SERIAL):
            raise _Reject(E.UNKNOWN_RESERVATION)
        rec = self._get(_HOLD, self._roff(slot))
        return slot, (rec if rec[_R_IN_USE] and rec[_R_ID] == hold_id else None)

    def _free_hold(self, slot: int, rec: list) -> None:
        """Close a hold: give its quantity back to the curve and push its slot on the free
        list (EXCHANGE §6 "reservation slots are freed after commit")."""
        pend = _H_PEND_BUY if rec[_R_SIDE] == BUY else _H_PEND_SELL
        self._hset(pend, self._h(pend) - rec[_R_QTY])
        self._hset(_H_OPEN_HOLDS, self._h(_H_OPEN_HOLDS) - 1)
        rec[_R_IN_USE], rec[_R_NEXT_FREE] = 0, self._h(_H_HOLD_FREE)
        self._put(_HOLD, self._roff(slot), rec)
        self._hset(_H_HOLD_FREE, slot)

    # ------------------------------------------------------------------ router-facing operations
    def set_collateral(self, user: int, amount_atoms: int, *, maker_class: int | None = None,
                       now_ms: int = 0, reset_cash: bool = False) -> SlabResult:
        """Record the router's escrow balance for ``user`` (read-only to the slab, P4); creates
        the account on first use.  An AMM has no maker classes: ``maker_class`` must be None.
        ``reset_cash``: the router settled the account's cash into its escrow, so it restarts
        at 0 (never the pool's: user 0 is refused here)."""
        try:
            self._check_time(now_ms)
            if (not isinstance(user, int) or not 0 < user <= I64_MAX
                    or not isinstance(amount_atoms, int) or not 0 <= amount_atoms <= I64_MAX
                    or maker_class is not None):
                raise _Reject(E.BAD_ARGUMENT)
            slot = self._ensure_account_slot(user)
            acct = self._get(_ACCOUNT, self._aoff(slot))
            acct[_A_COLLATERAL] = amount_atoms
            if reset_cash:
                acct[_A_CASH] = 0
            self._put(_ACCOUNT, self._aoff(slot), acct)
            self._touch_time(now_ms)
            return SlabResult()
        except _Reject as r:
            return SlabResult(r.code)

    def _ensure_account_slot(self, user: int, *, check_only: bool = False) -> int:
        slot = self._accounts.get(user)
        if slot is not None:
            return slot
        n = self._h(_H_N_ACCOUNTS)
        if n >= self.layout.accounts:
            raise _Reject(E.POOL_FULL_ACCOUNTS)
        if check_only:
            return -1
        self._hset(_H_N_ACCOUNTS, n + 1)
        acct = [0] * ACCOUNT_WORDS
        acct[_A_USER], acct[_A_IN_USE] = user, 1
        self._put(_ACCOUNT, self._aoff(n), acct)
        self._accounts[user] = n
        return n

    def update_oracle(self, instrument: int, price_e6: int, *, now_ms: int) -> FundingResult:
        """Oracle price from an authorised feeder (authorisation is the router's job)."""
        try:
            self._check_time(now_ms)
            ins = self._instrument(instrument)
            if not isinstance(price_e6, int) or not 0 < price_e6 <= I64_MAX:
                raise _Reject(E.PRICE_NOT_POSITIVE)
            ins[_I_ORACLE_PX], ins[_I_ORACLE_MS] = price_e6, max(now_ms, 1)
            self._put(_INSTR, self.layout.instrument, ins)
            self._touch_time(now_ms)
            return FundingResult(instrument=instrument, funding_index_e6=ins[_I_FUND_INDEX])
        except _Reject as r:
            return FundingResult(r.code, instrument=instrument)

    def apply_funding(self, instrument: int, rate_ppm: int, *, now_ms: int) -> FundingResult:
        """Advance the cumulative funding index by ``oracle · rate_ppm / 1e6`` (conventional
        sign: positive = longs pay shorts), at most once per interval (RM6); positions —
        the pool's included — settle lazily on touch, so funding nets to zero (RM7)."""
        try:
            self._check_time(now_ms)
            ins = self._instrument(instrument)
            oracle = self._fresh_oracle(ins, now_ms)
            if ins[_I_LAST_FUND_MS] and now_ms < ins[_I_LAST_FUND_MS] + ins[_I_FUND_INTERVAL]:
                raise _Reject(E.FUNDING_NOT_DUE)
            if not isinstance(rate_ppm, int) or abs(rate_ppm) > 1_000_000:
                raise _Reject(E.BAD_ARGUMENT)
            delta = (oracle * rate_ppm) // 1_000_000
            ins[_I_FUND_INDEX] = check_i64(ins[_I_FUND_INDEX] + delta)
            ins[_I_LAST_FUND_MS] = now_ms
            self._put(_INSTR, self.layout.instrument, ins)
            self._touch_time(now_ms)
            return FundingResult(instrument=instrument, funding_index_e6=ins[_I_FUND_INDEX],
                                 delta_e6=delta)
        except _Reject as r:
            return FundingResult(r.code, instrument=instrument)

    def quote(self, instrument: int, side: int, qty_lots: int, limit_px_e6: int, *,
              now_ms: int) -> QuoteResult:
        """What ``reserve`` would hold right now, without any state change (the router's
        smart order routing compares it with book slabs' depth)."""
        try:
            self._check_time(now_ms)
            ins = self._instrument(instrument)
            self._check_shape(ins, side, limit_px_e6, qty_lots)
            oracle = self._fresh_oracle(ins, now_ms)
            q, px, amount, marginal = self._plan(ins, side, qty_lots, limit_px_e6, oracle)
            return QuoteResult(qty_lots=q, vwap_px_e6=px, worst_px_e6=px,
                               max_charge_atoms=self._max_charge(ins, q, px),
                               marginal_px_e6=marginal, curve_amount_atoms=amount)
        except _Reject as r:
            return QuoteResult(r.code)

    def reserve(self, user: int, instrument: int, side: int, qty_lots: int, limit_px_e6: int,
                *, now_ms: int, ttl_ms: int) -> ReserveResult:
        """Hold up to ``qty_lots`` at one price captured now from the curve after the open
        holds of the same side (no double-selling), within the limit and the oracle band.

        Like a book reserve it may hold less than asked (the router picks across slabs); the
        hold is one slice ``(0, held, px)`` — the pool has no order ids — so
        ``vwap_px_e6 == worst_px_e6 == px``.  ``max_charge`` = swap fee + ARG bound + IM on
        the held notional."""
        try:
            self._check_time(now_ms)
            ins = self._instrument(instrument)
            if user == POOL_USER:
                raise _Reject(E.BAD_ARGUMENT)
            self._account(user)
            self._check_shape(ins, side, limit_px_e6, qty_lots)
            if not isinstance(ttl_ms, int) or not 0 < ttl_ms <= CAP_TTL_MS_MAX:
                raise _Reject(E.BAD_ARGUMENT)
            oracle = self._fresh_oracle(ins, now_ms)
            q, px, amount, _marginal = self._plan(ins, side, qty_lots, limit_px_e6, oracle)
            free, used = self._h(_H_HOLD_FREE), self._h(_H_HOLD_USED)
            if free < 0 and used >= self.layout.reservations:
                raise _Reject(E.POOL_FULL_RESERVATIONS)
            serial = self._h(_H_NEXT_SERIAL)
            if serial >= 1 << (63 - _SLOT_BITS):
                raise _Reject(E.OVERFLOW)
            max_charge = self._max_charge(ins, q, px)
            # ---- apply
            if free >= 0:
                slot = free
                self._hset(_H_HOLD_FREE, self._get(_HOLD, self._roff(slot))[_R_NEXT_FREE])
            else:
                slot = used
                self._hset(_H_HOLD_USED, used + 1)
            hold_id = (serial << _SLOT_BITS) | slot
            self._hset(_H_NEXT_SERIAL, serial + 1)
            rec = [0] * HOLD_WORDS
            rec[_R_ID], rec[_R_IN_USE], rec[_R_USER], rec[_R_SIDE] = hold_id, 1, user, side
            rec[_R_QTY], rec[_R_PX], rec[_R_CREATED] = q, px, now_ms
            rec[_R_EXPIRY], rec[_R_ORACLE], rec[_R_EPOCH] = now_ms + ttl_ms, oracle, self._epoch(now_ms)
            rec[_R_NEXT_FREE], rec[_R_AMOUNT] = -1, amount
            self._put(_HOLD, self._roff(slot), rec)
            pend = _H_PEND_BUY if side == BUY else _H_PEND_SELL
            self._hset(pend, self._h(pend) + q)
            self._hset(_H_OPEN_HOLDS, self._h(_H_OPEN_HOLDS) + 1)
            self._touch_time(now_ms)
            return ReserveResult(hold_id=hold_id, held_qty=q, vwap_px_e6=px, worst_px_e6=px,
                                 max_charge_atoms=max_charge,
                                 expiry_ms=now_ms + ttl_ms, slices=((0, q, px),))
        except _Reject as r:
            return ReserveResult(r.code)

    def accounts_free(self) -> int:
        """Account slots left (a first ``set_collateral`` for a new user needs one)."""
        return self.layout.accounts - self._h(_H_N_ACCOUNTS)

    def check_commit(self, hold_id: int, *, now_ms: int, fee_cap_maker_bps: int | None = None,
                     fee_cap_taker_bps: int | None = None) -> CommitResult:
        """Every check of ``commit`` without writing: ``ok`` means the commit will succeed at
        ``now_ms``, and the result carries the cash deltas it will report, so the router can
        check a whole multi-slab commit before mutating any slab (EXCHANGE §2 flow 2)."""
        return self.commit(hold_id, now_ms=now_ms, fee_cap_maker_bps=fee_cap_maker_bps,
                           fee_cap_taker_bps=fee_cap_taker_bps, _dry_run=True)

    def commit(self, hold_id: int, *, now_ms: int, fee_cap_maker_bps: int | None = None,
               fee_cap_taker_bps: int | None = None, _dry_run: bool = False) -> CommitResult:
        """Fill the hold at its captured price (S9), at most once (F3), then move the reserves
        by its quantity along the curve from their current state.

        Rejects (no state change) on: unknown/closed hold, expiry, stale oracle, kill band
        (oracle now vs oracle at reserve, EXCHANGE §6), fee cap (ADV3: the swap fee is a taker
        fee), taker margin (RM1-RM3), full position pool."""
        try:
            self._check_time(now_ms)
            slot, hold = self._hold_slot(hold_id)
            if hold is None:
                raise _Reject(E.RESERVATION_CLOSED)
            user, side, q, px = hold[_R_USER], hold[_R_SIDE], hold[_R_QTY], hold[_R_PX]
            if now_ms > hold[_R_EXPIRY]:
                raise _Reject(E.RESERVATION_EXPIRED)
            ins = self._instrument(0)
            oracle = self._fresh_oracle(ins, now_ms)
            o0 = hold[_R_ORACLE]
            if abs(oracle - o0) * 10_000 > self.config.kill_band_bps * o0:
                raise _Reject(E.KILL_BAND)
            cfg = self.config
            tcap = cfg.fee_cap_taker_bps if fee_cap_taker_bps is None else fee_cap_taker_bps
            if cfg.swap_fee_bps > tcap:
                raise _Reject(E.FEE_CAP_EXCEEDED)
            # ---- price: both sides' positions, funding, fee, ARG, reserves
            cs, index = ins[_I_CS], ins[_I_FUND_INDEX]
            dq = q if side == BUY else -q
            fee = bps_of(notional(q, px, cs, round_up=True), cfg.swap_fee_bps, round_up=True)
            tpos, pool = self._position(user), self._position(POOL_USER)
            t_cash = -funding_owed(tpos[_P_QTY], index, tpos[_P_FUND_SNAP], cs)
            p_cash = -funding_owed(pool[_P_QTY], index, pool[_P_FUND_SNAP], cs)
            tpos[_P_FUND_SNAP] = pool[_P_FUND_SNAP] = index
            for rec, d in ((tpos, dq), (pool, -dq)):
                ch = apply_fill(rec[_P_QTY], rec[_P_ENTRY], d, px, cs)
                rec[_P_QTY], rec[_P_ENTRY] = ch.qty_lots, ch.entry_px_e6
                rec[_P_REALISED] = check_i64(rec[_P_REALISED] + ch.realised_atoms)
                if rec is tpos:
                    t_cash += ch.realised_atoms
                else:
                    p_cash += ch.realised_atoms
            ledger = ArgLedger(*tpos[_P_ARG_EPOCH:_P_ARG_TAXED + 1])
            ledger, tax = arg_tax(ledger, self._epoch(now_ms), side == BUY, q, px, cs,
                                  cfg.arg_tax_bps)
            tpos[_P_ARG_EPOCH:_P_ARG_TAXED + 1] = list(ledger)
            t_cash = check_i64(t_cash - fee - tax)
            p_cash = check_i64(p_cash + fee)
            eq1, im1 = self._margin(user, tpos, t_cash)
            if eq1 < im1 and im1 > self._margin(user)[1]:
                raise _Reject(E.MARGIN_INSUFFICIENT)
            new_slot = user not in self._positions
            if new_slot and self._h(_H_N_POSITIONS) >= self.layout.positions:
                raise _Reject(E.POOL_FULL_POSITIONS)
            nx, ny = curve.move(self._h(_H_X), self._h(_H_Y), side, q)
            check_i64(ny)
            t_acct, p_acct = self._account(user), self._account(POOL_USER)
            t_acct[_A_CASH] = check_i64(t_acct[_A_CASH] + t_cash)
            t_acct[_A_FEES_PAID] = check_i64(t_acct[_A_FEES_PAID] + fee)
            p_acct[_A_CASH] = check_i64(p_acct[_A_CASH] + p_cash)
            p_acct[_A_FEES_EARNED] = check_i64(p_acct[_A_FEES_EARNED] + fee)
            fee_pool = check_i64(self._h(_H_FEE_POOL) + tax)
            seq = self._h(_H_TRADE_SEQ) + 1
            if _dry_run:
                return CommitResult(
                    hold_id=hold_id, filled_qty=q,
                    fills=(Fill(maker_order_id=0, maker_user=POOL_USER, taker_user=user,
                                price_e6=px, qty_lots=q, maker_fee_atoms=-fee,
                                taker_fee_atoms=fee),),
                    cash_deltas=(CashDelta(POOL_USER, p_cash), CashDelta(user, t_cash)),
                    fee_pool_delta_atoms=tax, arg_tax_atoms=tax)
            # ---- apply (nothing below rejects)
            self._free_hold(slot, hold)
            self._hset(_H_X, nx)
            self._hset(_H_Y, ny)
            if new_slot:
                pslot = self._h(_H_N_POSITIONS)
                self._hset(_H_N_POSITIONS, pslot + 1)
                tpos[_P_IN_USE], tpos[_P_ACCOUNT] = 1, self._accounts[user]
                self._positions[user] = pslot
            self._put(_POSITION, self._poff(self._positions[user]), tpos)
            self._put(_POSITION, self._poff(0), pool)
            self._put(_ACCOUNT, self._aoff(self._accounts[user]), t_acct)
            self._put(_ACCOUNT, self._aoff(0), p_acct)
            if tax:
                self._hset(_H_FEE_POOL, fee_pool)
            trade = TradePrint(seq=seq, instrument=0, taker_side=side, price_e6=px, qty_lots=q,
                               maker_order_id=0, taker_ref=hold_id, maker_user=POOL_USER,
                               taker_user=user, ts_ms=now_ms)
            self._put(_TRADE, self._toff((seq - 1) % self.layout.trades),
                      [seq, 0, side, px, q, 0, hold_id, POOL_USER, user, now_ms])
            self._hset(_H_TRADE_SEQ, seq)
            self._touch_time(now_ms)
            return CommitResult(
                hold_id=hold_id, filled_qty=q,
                fills=(Fill(maker_order_id=0, maker_user=POOL_USER, taker_user=user,
                            price_e6=px, qty_lots=q, maker_fee_atoms=-fee,
                            taker_fee_atoms=fee),),
                trades=(trade,),
                cash_deltas=(CashDelta(POOL_USER, p_cash), CashDelta(user, t_cash)),
                fee_pool_delta_atoms=tax, arg_tax_atoms=tax)
        except _Reject as r:
            return CommitResult(r.code, hold_id=hold_id)

    def release(self, hold_id: int, *, now_ms: int) -> ReleaseResult:
        """Give held quantity back to the curve; idempotent (R8, F2): releasing a committed,
        released or expired-and-swept hold succeeds with no effect."""
        try:
            self._check_time(now_ms)
            slot, hold = self._hold_slot(hold_id)
            if hold is None:
                return ReleaseResult(hold_id=hold_id, noop=True)
            self._free_hold(slot, hold)
            self._touch_time(now_ms)
            return ReleaseResult(hold_id=hold_id)
        except _Reject as r:
            return ReleaseResult(r.code, hold_id=hold_id)

    def batch_open(self, *, now_ms: int) -> BatchOpenResult:
        """Epoch boundary (DESIGN §3): release every hold past its TTL in hold-id order (F1)
        and move the epoch (which resets the aggressor ledgers lazily).  Nothing to promote."""
        try:
            self._check_time(now_ms)
        except _Reject as r:
            return BatchOpenResult(r.code)
        expired = []
        for slot in range(self._h(_H_HOLD_USED)):
            rec = self._get(_HOLD, self._roff(slot))
            if rec[_R_IN_USE] and now_ms > rec[_R_EXPIRY]:
                expired.append((rec[_R_ID], slot, rec))
        expired.sort()
        for _id, slot, rec in expired:
            self._free_hold(slot, rec)
        if self._h(_H_EPOCH) != self._epoch(now_ms):
            self._hset(_H_EPOCH, self._epoch(now_ms))
        self._touch_time(now_ms)
        return BatchOpenResult(expired_hold_ids=tuple(h for h, _s, _r in expired))

    # ------------------------------------------------------------------ liquidity
    def add_liquidity(self, user: int, amount_atoms: int, *, min_shares: int = 0,
                      now_ms: int) -> LiquidityResult:
        """AmmAddLiquidity: mint ``⌊amount·S / NAV⌋`` shares (rounded down: the pool's
        favour) and deepen the curve by the same fraction in whole lots, quote in proportion,
        so the price is unchanged up to one atom of rounding.  Rejects below ``min_shares`` (slippage guard),
        on a pool whose NAV is not positive, and on zero shares."""
        try:
            self._check_time(now_ms)
            if (not isinstance(user, int) or not 0 < user <= I64_MAX
                    or not isinstance(amount_atoms, int) or not 0 < amount_atoms <= I64_MAX
                    or not isinstance(min_shares, int) or min_shares < 0):
                raise _Reject(E.BAD_ARGUMENT)
            nav = self._solvent_nav(now_ms)
            total = self._h(_H_SHARES)
            shares = amount_atoms * total // nav
            if shares <= 0:
                raise _Reject(E.AMM_ZERO_SHARES)
            if shares < min_shares:
                raise _Reject(E.AMM_MIN_OUT)
            x, y = self._h(_H_X), self._h(_H_Y)
            dx = x * shares // total
            dy = y * dx // x
            nx, ny, ns = check_i64(x + dx), check_i64(y + dy), check_i64(total + shares)
            p_acct = self._account(POOL_USER)
            p_acct[_A_CASH] = check_i64(p_acct[_A_CASH] + amount_atoms)
            slot = self._accounts.get(user)
            held = 0 if slot is None else self._get(_ACCOUNT, self._aoff(slot))[_A_SHARES]
            check_i64(held + shares)
            self._ensure_account_slot(user, check_only=True)
            # ---- apply
            slot = self._ensure_account_slot(user)
            acct = self._get(_ACCOUNT, self._aoff(slot))
            acct[_A_SHARES] += shares
            self._put(_ACCOUNT, self._aoff(slot), acct)
            self._put(_ACCOUNT, self._aoff(0), p_acct)
            self._hset(_H_X, nx)
            self._hset(_H_Y, ny)
            self._hset(_H_SHARES, ns)
            self._touch_time(now_ms)
            return LiquidityResult(user=user, shares=shares, amount_atoms=amount_atoms,
                                   base_reserve_delta_lots=dx, quote_reserve_delta_atoms=dy,
                                   cash_deltas=(CashDelta(POOL_USER, amount_atoms),))
        except _Reject as r:
            return LiquidityResult(r.code, user=user if isinstance(user, int) else 0)

    def remove_liquidity(self, user: int, shares: int, *, min_amount_atoms: int = 0,
                         now_ms: int) -> LiquidityResult:
        """AmmRemoveLiquidity: burn ``shares``, pay ``⌊NAV·shares / S⌋`` (rounded down) and
        shrink both reserves by the same fraction.  Rejects below ``min_amount_atoms``, when
        the pool's cash balance cannot pay it (NAV is partly unrealised or virtual), and when
        the shrunk curve could no longer honour the open buy holds (``x − pending_buy ≥ 1``)."""
        try:
            self._check_time(now_ms)
            if (not isinstance(user, int) or not 0 < user <= I64_MAX
                    or not isinstance(shares, int) or not 0 < shares <= I64_MAX
                    or not isinstance(min_amount_atoms, int) or min_amount_atoms < 0):
                raise _Reject(E.BAD_ARGUMENT)
            acct = self._account(user)
            if acct[_A_SHARES] < shares:
                raise _Reject(E.AMM_INSUFFICIENT_SHARES)
            nav = self._solvent_nav(now_ms)
            total = self._h(_H_SHARES)
            payout = nav * shares // total
            if payout < min_amount_atoms:
                raise _Reject(E.AMM_MIN_OUT)
            p_acct = self._account(POOL_USER)
            if payout > p_acct[_A_CASH]:
                raise _Reject(E.AMM_POOL_CASH_SHORT)
            x, y = self._h(_H_X), self._h(_H_Y)
            dx = x * shares // total
            dy = y * dx // x
            if x - dx - self._h(_H_PEND_BUY) < 1 or y - dy < 1:
                raise _Reject(E.AMM_LIQUIDITY_LOCKED)
            # ---- apply
            acct[_A_SHARES] -= shares
            p_acct[_A_CASH] -= payout
            self._put(_ACCOUNT, self._aoff(self._accounts[user]), acct)
            self._put(_ACCOUNT, self._aoff(0), p_acct)
            self._hset(_H_X, x - dx)
            self._hset(_H_Y, y - dy)
            self._hset(_H_SHARES, total - shares)
            self._touch_time(now_ms)
            return LiquidityResult(user=user, shares=shares, amount_atoms=payout,
                                   base_reserve_delta_lots=-dx, quote_reserve_delta_atoms=-dy,
                                   cash_deltas=(CashDelta(POOL_USER, -payout),))
        except _Reject as r:
            return LiquidityResult(r.code, user=user if isinstance(user, int) else 0)

    # ------------------------------------------------------------------ reads
    def hold(self, hold_id: int) -> dict | None:
        """An open hold as a dict, or None (never issued, committed, released, expired)."""
        try:
            _slot, rec = self._hold_slot(hold_id)
        except _Reject:
            return None
        if rec is None:
            return None
        return {"hold_id": rec[_R_ID], "user": rec[_R_USER], "side": rec[_R_SIDE],
                "qty_lots": rec[_R_QTY], "price_e6": rec[_R_PX], "created_ms": rec[_R_CREATED],
                "expiry_ms": rec[_R_EXPIRY], "oracle_px_e6": rec[_R_ORACLE],
                "epoch": rec[_R_EPOCH], "curve_amount_atoms": rec[_R_AMOUNT]}

    def open_holds(self) -> list[dict]:
        """Every open hold in hold-id order."""
        out = []
        for slot in range(self._h(_H_HOLD_USED)):
            rec = self._get(_HOLD, self._roff(slot))
            if rec[_R_IN_USE]:
                out.append(self.hold(rec[_R_ID]))
        return sorted(out, key=lambda h: h["hold_id"])

    def position(self, user: int, instrument: int = 0) -> dict:
        """The position record as a dict (the book slab's keys); zeros for other instruments."""
        rec = self._position(user) if instrument == 0 else [0] * POSITION_WORDS
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
                "lp_shares": acct[_A_SHARES], "fees_paid_atoms": acct[_A_FEES_PAID],
                "fees_earned_atoms": acct[_A_FEES_EARNED]}

    def margin(self, user: int) -> tuple[int, int, int]:
        """(equity_atoms, im_atoms, mm_atoms) of ``user`` on this slab (RM1-RM3)."""
        try:
            equity, im = self._margin(user)
        except _Reject:
            return 0, 0, 0
        ins = self._get(_INSTR, self.layout.instrument)
        mm = bps_of(notional(abs(self._position(user)[_P_QTY]), ins[_I_ORACLE_PX], ins[_I_CS],
                             round_up=True), self.config.mmr_bps, round_up=True)
        return equity, im, mm

    def margin_with_orders(self, user: int) -> tuple[int, int]:
        """(equity, IM) — the pool takes no resting orders, so this is ``margin`` without MM
        (the router asks every slab kind the same question)."""
        equity, im, _mm = self.margin(user)
        return equity, im

    def pool(self) -> PoolState:
        ins = self._get(_INSTR, self.layout.instrument)
        return PoolState(
            base_reserve_lots=self._h(_H_X), quote_reserve_atoms=self._h(_H_Y),
            pending_buy_lots=self._h(_H_PEND_BUY), pending_sell_lots=self._h(_H_PEND_SELL),
            total_shares=self._h(_H_SHARES),
            balance_atoms=self._account(POOL_USER)[_A_CASH],
            value_atoms=self._nav(ins) - self.config.quote_reserve_atoms,
            position_lots=self._position(POOL_USER)[_P_QTY],
            open_holds=self._h(_H_OPEN_HOLDS))

    def trades_since(self, seq: int) -> tuple[TradePrint, ...]:
        """Trade prints with ``seq`` above the given one that are still in the ring (S12)."""
        last = self._h(_H_TRADE_SEQ)
        first = max(seq + 1, last - self.layout.trades + 1, 1)
        return tuple(TradePrint(*self._get(_TRADE, self._toff((s - 1) % self.layout.trades)))
                     for s in range(first, last + 1))

    @property
    def fee_pool_atoms(self) -> int:
        return self._h(_H_FEE_POOL)
