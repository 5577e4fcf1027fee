# cython: language_level=3, cdivision=True
"""The slab's reserve and commit in C: input checks, oracle freshness and kill band, fee caps,
the core call, and the fill accounting — fees, rebates (JIT), ARG tax, lazy funding, VWAP/PnL,
the taker's initial-margin check — applied to the position/account records of the arena.

Why it exists: the same rules are written in plain Python in ``program.py`` (``reserve``,
``commit``, ``_price_fills``, ``_margin``, ``_write_effects``), which stays the readable
specification and is what ``place_order`` uses; reserve and commit are the latency-critical path
(issue 4 targets: p99 reserve <= 20 us, commit <= 50 us) and run this kernel instead
(``Slab.fast_reserve`` / ``Slab.fast_commit``).  The router's per-transaction reads and its
escrow mirror — margin, the placement margin check, the quote, ``collateral_cash``
and ``set_collateral`` of an existing account — run here too
(``Slab.fast_reads``; issue 5 throughput).  ``tests/slab/test_slab_ledger.py`` runs random
streams and every rejection reason through both and requires identical results and arenas.

All arithmetic is integer; intermediates are 128-bit (``__int128``) and every value stored in
the arena is checked to fit i64 (EXCHANGE §1).  Rounding matches ``executor.units``: debits up,
credits down (towards -inf).  Nothing is written unless every check passed.
"""
from libc.stdint cimport int64_t, uint64_t, uint8_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset

from executor.matching.core cimport (
    H_BATCH_OPEN_MS,
    H_NEXT_RESV_SEQ,
    H_TRADE_SEQ,
    Arena,
    Fill,
    MatchingCore,
    Order,
    Resv,
    Slice,
    Trade,
    c_commit,
    c_reserve,
)

cdef extern from *:
    """
    typedef __int128 ledger_i128;
    #include <stdint.h>
    #define LEDGER_I128_MAX ((__int128)(((unsigned __int128)1 << 127) - 1))
    #define LEDGER_I64_MAX ((__int128)INT64_MAX)
    #define LEDGER_I64_MIN ((__int128)INT64_MIN)
    """
    ctypedef long long i128 "ledger_i128"
    const i128 I128_MAX "LEDGER_I128_MAX"
    const i128 I64MAX "LEDGER_I64_MAX"
    const i128 I64MIN "LEDGER_I64_MIN"

cdef enum:
    # slab header / instrument / account / position word indices (program.py)
    SH_N_POSITIONS = 4
    SH_LAST_NOW = 5
    I_ORACLE_MS = 8
    SH_FEE_POOL = 6
    I_CS = 3
    I_ORACLE_PX = 7
    I_FUND_INDEX = 9
    A_COLLATERAL = 2
    A_CASH = 3
    A_CLASS = 4
    A_FEES_PAID = 5
    A_REBATES = 6
    P_IN_USE = 0
    P_ACCOUNT = 1
    P_INSTR = 2
    P_QTY = 3
    P_ENTRY = 4
    P_FUND_SNAP = 5
    P_REALISED = 6
    P_ARG_EPOCH = 7
    P_ARG_BUY = 8
    P_ARG_SELL = 9
    P_ARG_TAXED = 10
    P_USER = 11
    POS_WORDS = 16
    ACC_WORDS = 8
    INS_WORDS = 16
    E_OK = 0
    E_BAD_ARGUMENT = 2
    E_OVERFLOW = 3
    E_MARGIN = 1027
    E_UNKNOWN_INSTRUMENT = 1001
    E_PRICE_NOT_TICK_ALIGNED = 1002
    E_QTY_NOT_LOT_ALIGNED = 1003
    E_QTY_NOT_POSITIVE = 1004
    E_PRICE_NOT_POSITIVE = 1005
    E_BELOW_MIN_SIZE = 1006
    E_ORACLE_MISSING = 1014
    E_ORACLE_STALE = 1015
    E_UNKNOWN_ACCOUNT = 1032
    E_BAD_SIDE = 1036
    E_TIME_WENT_BACKWARDS = 1039
    E_INTERNAL = 1
    E_UNKNOWN_RESERVATION = 1009
    E_RESERVATION_CLOSED = 1010
    E_POOL_FULL_POSITIONS = 1020
    E_KILL_BAND = 1025
    E_FEE_CAP_EXCEEDED = 1026
    E_RESERVATION_EXPIRED = 1029
    SLOT_BITS = 24
    CAP_TTL_MS_MAX = 120000
    SLOT_MASK = 0xFFFFFF
    MAX_INSTR = 32

cdef i128 SCALE = 1000000
cdef i128 BPS = 10000


cdef inline i128 fdiv(i128 a, i128 b) noexcept nogil:
    """Floor division for b > 0."""
    cdef i128 q = a / b
    if (a % b != 0) and (a < 0):
        q -= 1
    return q


cdef inline i128 cdiv(i128 a, i128 b) noexcept nogil:
    """Ceiling division for b > 0."""
    cdef i128 q = a / b
    if (a % b != 0) and (a > 0):
        q += 1
    return q


cdef inline i128 iabs(i128 a) noexcept nogil:
    return -a if a < 0 else a


cdef inline bint notional(int64_t q, i128 px, int64_t cs, bint up, i128* out) noexcept nogil:
    """executor.units.notional: q * cs * px / 1e6 with a 128-bit bound check."""
    cdef i128 a = <i128>q * cs
    if px != 0 and a != 0 and iabs(a) > I128_MAX / iabs(px):
        return 0
    out[0] = cdiv(a * px, SCALE) if up else fdiv(a * px, SCALE)
    return 1


cdef inline i128 bps_of(i128 amount, int64_t bps, bint up) noexcept nogil:
    return cdiv(amount * bps, BPS) if up else fdiv(amount * bps, BPS)


cdef inline bint fits64(i128 v) noexcept nogil:
    return I64MIN <= v <= I64MAX


cdef object py_int(i128 v):
    """A 128-bit value as a Python int (exact, any sign)."""
    if fits64(v):
        return <int64_t>v
    return (<object>(<int64_t>(v >> 64)) << 64) + <object>(<uint64_t>(v & <i128>0xFFFFFFFFFFFFFFFF))


cdef class Ledger:
    """Accounting kernel over the slab records of one arena (see module docstring)."""

    cdef char* base
    cdef int64_t* hdr
    cdef int64_t* ins
    cdef int64_t* acc
    cdef int64_t* pos
    cdef uint8_t* dirty
    cdef int64_t n_pages
    cdef object _buf
    cdef object _view
    cdef int64_t maker_bps, taker_bps, imr_bps, arg_bps, batch_ms
    cdef bint jit
    cdef MatchingCore core
    cdef int64_t n_instr
    cdef object fill_cls, trade_cls, cash_cls
    cdef int64_t kill_band_bps
    cdef int64_t cap_positions
    cdef int64_t tick[MAX_INSTR]
    cdef int64_t lot[MAX_INSTR]
    cdef int64_t min_size[MAX_INSTR]
    cdef int64_t cs[MAX_INSTR]
    cdef int64_t heartbeat[MAX_INSTR]

    def __cinit__(self, buf, layout, int64_t maker_fee_bps, int64_t taker_fee_bps,
                  int64_t imr_bps, int64_t arg_tax_bps, bint jit_penalty,
                  int64_t reservation_batch_ms):
        cdef unsigned char[::1] view = buf
        self._buf = buf
        self._view = view
        self.base = <char*>&view[0]
        self.hdr = <int64_t*>(self.base + <int64_t>layout.slab_header)
        self.ins = <int64_t*>(self.base + <int64_t>layout.instrument_records)
        self.acc = <int64_t*>(self.base + <int64_t>layout.account_records)
        self.pos = <int64_t*>(self.base + <int64_t>layout.position_records)
        self.n_pages = (view.shape[0] + 4095) >> 12
        self.dirty = <uint8_t*>malloc(self.n_pages)
        if self.dirty == NULL:
            raise MemoryError()
        memset(self.dirty, 0, self.n_pages)
        self.maker_bps = maker_fee_bps
        self.taker_bps = taker_fee_bps
        self.imr_bps = imr_bps
        self.arg_bps = arg_tax_bps
        self.jit = jit_penalty
        self.batch_ms = reservation_batch_ms

    def __dealloc__(self):
        free(self.dirty)

    def bind(self, MatchingCore core, list statics, int64_t kill_band_bps,
             int64_t cap_positions):
        """Attach the core of the same arena and the immutable instrument parameters
        ``[(tick_e6, lot, min_size, contract_size, oracle_heartbeat_ms)]`` (reserve/commit)."""
        cdef int64_t i
        if len(statics) > MAX_INSTR:
            raise ValueError("too many instruments")
        self.core = core
        self.kill_band_bps = kill_band_bps
        self.cap_positions = cap_positions
        self.n_instr = len(statics)
        for i in range(self.n_instr):
            self.tick[i], self.lot[i], self.min_size[i], self.cs[i], self.heartbeat[i] = statics[i]

    def bind_results(self, fill_cls, trade_cls, cash_cls):
        """The result row types (named tuples) that ``commit`` builds directly."""
        self.fill_cls = fill_cls
        self.trade_cls = trade_cls
        self.cash_cls = cash_cls

    def reserve(self, object instr_obj, int64_t user, int64_t account_code, object side_obj,
                object qty_obj, object limit_obj, int64_t now_ms, object ttl_obj,
                bint apply=True):
        """``Slab.reserve`` in one C call, same checks in the same order (the Python method
        stays the specification; test_slab_ledger.py compares the two).  ``account_code`` is
        the account check's verdict (0, or UNKNOWN_ACCOUNT / POOL_FULL_ACCOUNTS).  Without
        ``apply`` it is ``Slab.quote``: the core plans the holds and nothing is written.

        Returns ``(code,)`` or ``(0, hold_id, held, vwap, worst, max_charge, expiry, slices)``
        (``hold_id`` 0 for a quote).
        """
        cdef int64_t instr, side, qty, limit, ttl, oracle, rc, rslot, s, held
        cdef Arena* a
        cdef Resv* r
        cdef i128 pq = 0, n_up = 0
        cdef int64_t q, p
        if now_ms < self.hdr[SH_LAST_NOW]:
            return (E_TIME_WENT_BACKWARDS,)
        if not isinstance(instr_obj, int) or not 0 <= instr_obj < self.n_instr:
            return (E_UNKNOWN_INSTRUMENT,)
        instr = instr_obj
        if account_code:
            return (account_code,)
        if side_obj not in (0, 1):
            return (E_BAD_SIDE,)
        side = side_obj
        if qty_obj <= 0:
            return (E_QTY_NOT_POSITIVE,)
        if limit_obj <= 0:
            return (E_PRICE_NOT_POSITIVE,)
        if limit_obj % self.tick[instr]:
            return (E_PRICE_NOT_TICK_ALIGNED,)
        if qty_obj % self.lot[instr]:
            return (E_QTY_NOT_LOT_ALIGNED,)
        if qty_obj < self.min_size[instr]:
            return (E_BELOW_MIN_SIZE,)
        if not 0 < ttl_obj <= CAP_TTL_MS_MAX:
            return (E_BAD_ARGUMENT,)
        rc = self._fresh_oracle(instr, now_ms, &oracle)
        if rc:
            return (rc,)
        if qty_obj > 0x7FFFFFFFFFFFFFFF or limit_obj > 0x7FFFFFFFFFFFFFFF:
            return (E_OVERFLOW,)
        qty = qty_obj
        limit = limit_obj
        ttl = ttl_obj
        a = &self.core.a
        if not apply:
            return self._quote(a, instr, user, side, qty, limit, now_ms + ttl)
        with nogil:
            rc = c_reserve(a, instr, user, side, qty, limit, now_ms, now_ms + ttl, oracle,
                           now_ms // self.batch_ms, 1)
        if rc < 0:
            return (-rc,)
        if self.hdr[SH_LAST_NOW] != now_ms:
            self.hdr[SH_LAST_NOW] = now_ms
            self._touch(self.hdr + SH_LAST_NOW, 1)
        r = &a.resvs[a.last_id & SLOT_MASK]
        held = r.held
        slices = []
        s = r.slice_head
        while s != -1:
            q = a.slices[s].qty
            p = a.slices[s].price
            slices.append((a.slices[s].order_id, q, p))
            pq += <i128>q * p
            n_up += cdiv(<i128>q * self.cs[instr] * p, SCALE)
            s = a.slices[s].next
        return self._held(r.id, held, pq, n_up, side, r.worst_px, r.expiry_ms, slices)

    cdef tuple _held(self, int64_t hold_id, int64_t held, i128 pq, i128 n_up, int64_t side,
                     int64_t worst, int64_t expiry, list slices):
        """The result row of a hold (or a quote) from its slices' sums: VWAP rounded against
        the taker, and ``max_charge`` = taker fee + ARG bound + IM on the held notional."""
        cdef i128 vwap = cdiv(pq, held) if side == 0 else fdiv(pq, held)
        cdef i128 max_charge = (bps_of(n_up, self.taker_bps, 1) + bps_of(n_up, self.arg_bps, 1)
                                + bps_of(n_up, self.imr_bps, 1))
        return (0, hold_id, held, py_int(vwap), worst, py_int(max_charge), expiry, tuple(slices))

    cdef tuple _quote(self, Arena* a, int64_t instr, int64_t user, int64_t side, int64_t qty,
                      int64_t limit, int64_t expiry):
        """The core's plan of a reservation (``preview_reserve``), summed as ``reserve``
        sums the slices of a real hold."""
        cdef int64_t rc, i, q, p, held = 0, worst = 0
        cdef i128 pq = 0, n_up = 0
        cdef Fill* f
        with nogil:
            rc = c_reserve(a, instr, user, side, qty, limit, 0, 0, 0, 0, 0)
        if rc < 0:
            return (-rc,)
        slices = []
        for i in range(a.n_fills):
            f = &a.fills[i]
            q = f.qty
            p = f.price
            slices.append((f.maker_id, q, p))
            held += q
            pq += <i128>q * p
            n_up += cdiv(<i128>q * self.cs[instr] * p, SCALE)
            if i == 0 or (p > worst if side == 0 else p < worst):
                worst = p
        if held <= 0:
            return (E_INTERNAL,)
        return self._held(0, held, pq, n_up, side, worst, expiry, slices)

    cdef inline void _touch(self, int64_t* p, int64_t words) noexcept nogil:
        cdef int64_t off = <char*>p - self.base
        self.dirty[off >> 12] = 1
        self.dirty[(off + words * 8 - 1) >> 12] = 1

    def dirty_pages(self):
        cdef int64_t p
        return [p for p in range(self.n_pages) if self.dirty[p]]

    def clear_dirty(self):
        memset(self.dirty, 0, self.n_pages)

    cpdef tuple settle(self, int64_t instr, int64_t taker, int64_t side, int64_t taker_acct,
                       int64_t taker_pos, int64_t new_pos, list fills, list taker_slots,
                       int64_t now_ms, int64_t batch_open_ms, bint check_margin, bint write=True):
        """Price ``fills`` for ``taker`` and, if the taker stays above IM (or reduces IM), write
        positions, accounts and the fee pool.  ``fills`` rows are ``(maker_order_id,
        maker_user, price_e6, qty_lots, maker_created_ms, maker_account_slot,
        maker_position_slot)``; ``taker_pos = -1`` means a new position in slot ``new_pos``;
        ``taker_slots`` lists ``(instrument, position_slot)`` of the taker's positions.

        Returns ``(code, fee_pool_delta, arg_tax, [(maker_fee, taker_fee)], [(user, cash)])``
        with the cash list sorted by user; nothing is written unless ``code == 0`` and ``write``.
        """
        cdef Py_ssize_t nf = len(fills), nt = 0, i, j, k
        cdef int64_t* ir = self.ins + instr * INS_WORDS
        cdef int64_t cs = ir[I_CS]
        cdef int64_t index = ir[I_FUND_INDEX]
        cdef int64_t epoch = now_ms // self.batch_ms
        cdef int64_t cap = nf + 1
        cdef int64_t* recs = <int64_t*>malloc(sizeof(int64_t) * POS_WORDS * cap)
        cdef int64_t* slots = <int64_t*>malloc(sizeof(int64_t) * cap)
        cdef int64_t* users = <int64_t*>malloc(sizeof(int64_t) * cap)
        cdef int64_t* accts = <int64_t*>malloc(sizeof(int64_t) * cap)
        cdef i128* cash = <i128*>malloc(sizeof(i128) * cap)
        cdef i128* fees = <i128*>malloc(sizeof(i128) * cap)
        cdef int64_t* ffee = <int64_t*>malloc(sizeof(int64_t) * 2 * cap)
        cdef int64_t code = E_OK
        cdef int64_t mid, muser, px, q, created, macct, mpos, t, m, tdq
        cdef i128 n_up, n_dn, taker_fee, maker_fee, rebate, t_real, m_real, tax
        cdef i128 fee_pool = 0, arg_total = 0
        cdef i128 eq1, im1, im0
        cdef object out
        if (recs == NULL or slots == NULL or users == NULL or accts == NULL or cash == NULL
                or fees == NULL or ffee == NULL):
            free(recs); free(slots); free(users); free(accts); free(cash); free(fees); free(ffee)
            raise MemoryError()
        try:
            # the taker's record first (funding settles on first touch), then each maker's
            t = self._load(recs, slots, users, accts, cash, fees, &nt, taker, taker_acct,
                           taker_pos, new_pos, instr, index, cs, &code)
            tdq = 1 if side == 0 else -1
            for i in range(nf):
                if code:
                    break
                row = fills[i]
                mid = row[0]
                muser = row[1]
                px = row[2]
                q = row[3]
                created = row[4]
                macct = row[5]
                mpos = row[6]
                if not notional(q, px, cs, 1, &n_up) or not notional(q, px, cs, 0, &n_dn):
                    code = E_OVERFLOW
                    break
                taker_fee = bps_of(n_up, self.taker_bps, 1)
                if self.maker_bps >= 0:
                    maker_fee = bps_of(n_up, self.maker_bps, 1)
                else:
                    rebate = bps_of(n_dn, -self.maker_bps, 0)
                    if self.jit and created >= batch_open_ms:
                        rebate = 0
                    maker_fee = -rebate
                m = self._load(recs, slots, users, accts, cash, fees, &nt, muser, macct, mpos,
                               -1, instr, index, cs, &code)
                if code:
                    break
                if not self._apply(recs + t * POS_WORDS, tdq * q, px, cs, &t_real):
                    code = E_OVERFLOW
                    break
                if not self._apply(recs + m * POS_WORDS, -tdq * q, px, cs, &m_real):
                    code = E_OVERFLOW
                    break
                if not self._arg(recs + t * POS_WORDS, side, q, px, cs, epoch, &tax):
                    code = E_OVERFLOW
                    break
                cash[t] += t_real - taker_fee - tax
                cash[m] += m_real - maker_fee
                fees[t] += taker_fee
                fees[m] += maker_fee
                fee_pool += taker_fee + maker_fee + tax
                arg_total += tax
                ffee[2 * i] = <int64_t>maker_fee
                ffee[2 * i + 1] = <int64_t>taker_fee
            if not code and check_margin:
                if not self._margin(taker, taker_acct, cash[t], recs + t * POS_WORDS, instr,
                                    taker_slots, &eq1, &im1):
                    code = E_OVERFLOW
                elif eq1 < im1:
                    if not self._margin(taker, taker_acct, 0, NULL, instr, taker_slots, &eq1,
                                        &im0):
                        code = E_OVERFLOW
                    elif im1 > im0:
                        code = E_MARGIN
            if not code:
                code = self._check_writes(recs, accts, cash, fees, nt, fee_pool)
            if code:
                return (code, 0, 0, [], [])
            if write:
                self._write(recs, slots, accts, cash, fees, nt, fee_pool, taker_pos, new_pos)
            # cash deltas sorted by user: insertion sort of the (few) touched users
            for i in range(nt):
                slots[i] = i
            for i in range(1, nt):
                k = slots[i]
                j = i - 1
                while j >= 0 and users[slots[j]] > users[k]:
                    slots[j + 1] = slots[j]
                    j -= 1
                slots[j + 1] = k
            out = (0, <object>fee_pool, <object>arg_total,
                   [(ffee[2 * i], ffee[2 * i + 1]) for i in range(nf)],
                   [(users[slots[j]], <object>cash[slots[j]]) for j in range(nt)])
            return out
        finally:
            free(recs); free(slots); free(users); free(accts); free(cash); free(fees); free(ffee)

    def commit(self, object hold_obj, int64_t now_ms, int64_t maker_cap_bps,
               int64_t taker_cap_bps, dict accounts, dict positions, dict user_positions,
               bint apply=True):
        """``Slab.commit`` in one C call (same checks, same order, same bytes as the Python
        rules).  Returns ``(code,)`` or ``(0, hold_id, held, fills, trades, cash, fee_pool,
        arg_tax, new_position_slot, taker_user, instrument)`` with ``fills``, ``trades`` and
        ``cash`` as tuples of the result row types given to ``bind_results``, and
        ``new_position_slot`` is the taker's newly allocated slot or -1.  With ``apply``
        false it is ``Slab.check_commit``: every check, the same result (no trades, no
        position slot taken), nothing written."""
        cdef Arena* a = &self.core.a
        cdef int64_t rid, rslot, instr, user, side, oracle, taker_pos, new_pos, s, rc
        cdef int64_t seq0, seq, oslot
        cdef Resv* r
        cdef Order* o
        cdef Trade* t
        if now_ms < self.hdr[SH_LAST_NOW]:
            return (E_TIME_WENT_BACKWARDS,)
        if not isinstance(hold_obj, int) or not 0 < hold_obj <= 0x7FFFFFFFFFFFFFFF:
            return (E_UNKNOWN_RESERVATION,)
        rid = hold_obj
        rslot = rid & SLOT_MASK
        if rslot >= a.cap_resv or a.resvs[rslot].id != rid:
            if (rid >> SLOT_BITS) < a.hdr[H_NEXT_RESV_SEQ]:
                return (E_RESERVATION_CLOSED,)
            return (E_UNKNOWN_RESERVATION,)
        r = &a.resvs[rslot]
        instr = r.instr
        user = r.account
        side = r.side
        if now_ms > r.expiry_ms:
            return (E_RESERVATION_EXPIRED,)
        rc = self._fresh_oracle(instr, now_ms, &oracle)
        if rc:
            return (rc,)
        if (iabs(<i128>oracle - r.oracle_px) * 10000
                > <i128>self.kill_band_bps * r.oracle_px):
            return (E_KILL_BAND,)
        if self.maker_bps > maker_cap_bps or self.taker_bps > taker_cap_bps:
            return (E_FEE_CAP_EXCEEDED,)
        taker_pos = positions.get((user, instr), -1)
        new_pos = -1
        if taker_pos < 0:
            new_pos = self.hdr[SH_N_POSITIONS]
            if new_pos >= self.cap_positions:
                return (E_POOL_FULL_POSITIONS,)
        rows = []
        s = r.slice_head
        while s != -1:
            oslot = a.slices[s].order_slot
            o = &a.orders[oslot]
            rows.append((a.slices[s].order_id, o.account, a.slices[s].price, a.slices[s].qty,
                         o.created_ms, accounts[o.account], positions[(o.account, instr)]))
            s = a.slices[s].next
        out = self.settle(instr, user, side, accounts[user], taker_pos, new_pos, rows,
                          user_positions.get(user, []), now_ms, a.hdr[H_BATCH_OPEN_MS], True, apply)
        if out[0]:
            return (out[0],)
        if not apply:
            return (0, rid, r.held, self._fills(rows, out[3], user), (),
                    tuple([tuple.__new__(self.cash_cls, c) for c in out[4]]), out[1], out[2], -1,
                    user, instr)
        seq0 = a.hdr[H_TRADE_SEQ]
        held = r.held
        with nogil:
            rc = c_commit(a, rid, now_ms)
        if rc != 0:
            return (E_INTERNAL,)
        if self.hdr[SH_LAST_NOW] != now_ms:
            self.hdr[SH_LAST_NOW] = now_ms
            self._touch(self.hdr + SH_LAST_NOW, 1)
        trades = []
        seq = seq0 + 1
        if seq < a.hdr[H_TRADE_SEQ] - a.cap_trades + 1:
            seq = a.hdr[H_TRADE_SEQ] - a.cap_trades + 1
        while seq <= a.hdr[H_TRADE_SEQ]:
            t = &a.trades[(seq - 1) % a.cap_trades]
            trades.append(tuple.__new__(self.trade_cls, (
                t.seq, t.instr, t.side, t.price, t.qty, t.maker_order_id, t.taker_ref,
                t.maker_account, t.taker_account, t.ts_ms)))
            seq += 1
        cash = [tuple.__new__(self.cash_cls, c) for c in out[4]]
        return (0, rid, held, self._fills(rows, out[3], user), tuple(trades), tuple(cash), out[1],
                out[2], new_pos, user, instr)

    def _fills(self, list rows, list fees, int64_t user):
        """Fill result rows of a commit: slice rows joined with their (maker, taker) fees."""
        return tuple([tuple.__new__(self.fill_cls, (row[0], row[1], user, row[2], row[3],
                                                    fee[0], fee[1]))
                      for row, fee in zip(rows, fees)])

    cdef int64_t _fresh_oracle(self, int64_t instr, int64_t now_ms, int64_t* oracle) noexcept:
        """0 and the oracle price in ``oracle``, or ORACLE_MISSING / ORACLE_STALE (the heartbeat
        check reserve and commit share, seed 001 T1)."""
        cdef int64_t* ir = self.ins + instr * INS_WORDS
        oracle[0] = ir[I_ORACLE_PX]
        if ir[I_ORACLE_MS] == 0 or oracle[0] <= 0:
            return E_ORACLE_MISSING
        if now_ms - ir[I_ORACLE_MS] > self.heartbeat[instr]:
            return E_ORACLE_STALE
        return 0

    cdef int64_t _load(self, int64_t* recs, int64_t* slots, int64_t* users, int64_t* accts,
                       i128* cash, i128* fees, Py_ssize_t* nt, int64_t user, int64_t acct,
                       int64_t pslot, int64_t new_slot, int64_t instr, int64_t index,
                       int64_t cs, int64_t* code) noexcept:
        """Index of ``user``'s scratch position; loads it (settling funding) on first touch."""
        cdef Py_ssize_t i
        cdef int64_t* r
        cdef i128 owed
        for i in range(nt[0]):
            if users[i] == user:
                return i
        i = nt[0]
        nt[0] += 1
        r = recs + i * POS_WORDS
        if pslot >= 0:
            memcpy(r, self.pos + pslot * POS_WORDS, sizeof(int64_t) * POS_WORDS)
            slots[i] = pslot
        else:
            memset(r, 0, sizeof(int64_t) * POS_WORDS)
            r[P_INSTR] = instr
            r[P_USER] = user
            r[P_ACCOUNT] = acct
            slots[i] = -1 - new_slot   # marks "allocate new_slot"
        users[i] = user
        accts[i] = acct
        fees[i] = 0
        if not notional(r[P_QTY], <i128>index - r[P_FUND_SNAP], cs, 1, &owed):
            code[0] = E_OVERFLOW
            owed = 0
        r[P_FUND_SNAP] = index
        cash[i] = -owed
        return i

    cdef bint _apply(self, int64_t* p, int64_t dq, int64_t px, int64_t cs,
                     i128* realised) noexcept:
        """Program._apply_position: VWAP entry, realised PnL on reductions, flips."""
        cdef int64_t q = p[P_QTY]
        cdef i128 entry = p[P_ENTRY]
        cdef i128 new_q, num, closed
        cdef int64_t sign
        realised[0] = 0
        if q == 0 or (q > 0) == (dq > 0):
            new_q = <i128>q + dq
            num = iabs(q) * entry + iabs(dq) * <i128>px
            entry = cdiv(num, iabs(new_q)) if new_q > 0 else fdiv(num, iabs(new_q))
        else:
            closed = iabs(q) if iabs(q) < iabs(dq) else iabs(dq)
            sign = 1 if q > 0 else -1
            if not notional(<int64_t>(sign * closed), <i128>px - entry, cs, 0, realised):
                return 0
            new_q = <i128>q + dq
            if new_q == 0:
                entry = 0
            elif (new_q > 0) != (q > 0):
                entry = px
        if not fits64(new_q) or not fits64(entry) or not fits64(p[P_REALISED] + realised[0]):
            return 0
        p[P_QTY] = <int64_t>new_q
        p[P_ENTRY] = <int64_t>entry
        p[P_REALISED] = <int64_t>(p[P_REALISED] + realised[0])
        return 1

    cdef bint _arg(self, int64_t* p, int64_t side, int64_t q, int64_t px, int64_t cs,
                   int64_t epoch, i128* tax) noexcept:
        """Program._arg_tax: each unit of buy/sell overlap in an epoch taxed once."""
        cdef int64_t overlap, new_units
        cdef i128 n
        tax[0] = 0
        if p[P_ARG_EPOCH] != epoch:
            p[P_ARG_EPOCH] = epoch
            p[P_ARG_BUY] = 0
            p[P_ARG_SELL] = 0
            p[P_ARG_TAXED] = 0
        if side == 0:
            p[P_ARG_BUY] += q
        else:
            p[P_ARG_SELL] += q
        overlap = p[P_ARG_BUY] if p[P_ARG_BUY] < p[P_ARG_SELL] else p[P_ARG_SELL]
        new_units = overlap - p[P_ARG_TAXED]
        p[P_ARG_TAXED] = overlap
        if new_units <= 0 or self.arg_bps == 0:
            return 1
        if not notional(new_units, px, cs, 1, &n):
            return 0
        tax[0] = bps_of(n, self.arg_bps, 1)
        return 1

    cdef bint _margin(self, int64_t user, int64_t acct, i128 cash_delta, int64_t* overlay,
                      int64_t instr, list taker_slots, i128* equity, i128* im) noexcept:
        """Program._margin for the taker: equity and IM, the current instrument's record
        replaced by ``overlay`` when given (instruments summed, never netted)."""
        cdef int64_t* a = self.acc + acct * ACC_WORDS
        cdef int64_t* r
        cdef int64_t* ir
        cdef int64_t i, slot, q
        cdef i128 v, n
        cdef bint seen = 0
        equity[0] = <i128>a[A_COLLATERAL] + a[A_CASH] + cash_delta
        im[0] = 0
        for item in taker_slots:
            i = item[0]
            slot = item[1]
            if i == instr:
                seen = 1
                r = overlay if overlay != NULL else self.pos + slot * POS_WORDS
            else:
                r = self.pos + slot * POS_WORDS
            if not self._margin_one(r, self.ins + i * INS_WORDS, equity, im):
                return 0
        if not seen and overlay != NULL:
            if not self._margin_one(overlay, self.ins + instr * INS_WORDS, equity, im):
                return 0
        return 1

    cdef bint _margin_one(self, int64_t* r, int64_t* ir, i128* equity, i128* im) noexcept:
        cdef int64_t q = r[P_QTY]
        cdef i128 v
        if q:
            if not notional(q, <i128>ir[I_ORACLE_PX] - r[P_ENTRY], ir[I_CS], 0, &v):
                return 0
            equity[0] += v
        if not notional(q, <i128>ir[I_FUND_INDEX] - r[P_FUND_SNAP], ir[I_CS], 1, &v):
            return 0
        equity[0] -= v
        if not notional(q if q >= 0 else -q, ir[I_ORACLE_PX], ir[I_CS], 1, &v):
            return 0
        im[0] += bps_of(v, self.imr_bps, 1)
        return 1

    cdef int64_t _check_writes(self, int64_t* recs, int64_t* accts, i128* cash, i128* fees,
                               Py_ssize_t nt, i128 fee_pool) noexcept:
        cdef Py_ssize_t i
        cdef int64_t* a
        for i in range(nt):
            a = self.acc + accts[i] * ACC_WORDS
            if not fits64(<i128>a[A_CASH] + cash[i]):
                return E_OVERFLOW
            if not fits64(<i128>a[A_FEES_PAID] + fees[i]) or not fits64(<i128>a[A_REBATES] - fees[i]):
                return E_OVERFLOW
        if not fits64(<i128>self.hdr[SH_FEE_POOL] + fee_pool):
            return E_OVERFLOW
        return E_OK

    cdef void _write(self, int64_t* recs, int64_t* slots, int64_t* accts, i128* cash,
                     i128* fees, Py_ssize_t nt, i128 fee_pool, int64_t taker_pos,
                     int64_t new_pos) noexcept:
        cdef Py_ssize_t i
        cdef int64_t slot
        cdef int64_t* dst
        cdef int64_t* a
        for i in range(nt):
            slot = slots[i]
            if slot < 0:
                slot = -1 - slot
                recs[i * POS_WORDS + P_IN_USE] = 1
                self.hdr[SH_N_POSITIONS] = slot + 1
                self._touch(self.hdr + SH_N_POSITIONS, 1)
            dst = self.pos + slot * POS_WORDS
            memcpy(dst, recs + i * POS_WORDS, sizeof(int64_t) * POS_WORDS)
            self._touch(dst, POS_WORDS)
            a = self.acc + accts[i] * ACC_WORDS
            a[A_CASH] = <int64_t>(a[A_CASH] + cash[i])
            if fees[i] >= 0:
                a[A_FEES_PAID] = <int64_t>(a[A_FEES_PAID] + fees[i])
            else:
                a[A_REBATES] = <int64_t>(a[A_REBATES] - fees[i])
            self._touch(a, ACC_WORDS)
        if fee_pool:
            self.hdr[SH_FEE_POOL] = <int64_t>(self.hdr[SH_FEE_POOL] + fee_pool)
            self._touch(self.hdr + SH_FEE_POOL, 1)

    # ------------------------------------------------------------------ router-facing reads

    def margin(self, int64_t collateral, int64_t cash, list positions, int64_t extra_instr,
               int64_t extra_qty, int64_t mmr_bps):
        """``Slab._margin`` / ``Slab.margin`` without an overlay: ``(equity, IM, MM)`` of an
        account with ``collateral`` and ``cash`` holding ``positions`` = [(instrument, position
        slot)], IM counting ``extra_qty`` more on ``extra_instr`` (a resting order as if filled
        at the oracle; -1 = none), with the Python rules' rounding (uPnL floors, unsettled
        funding and requirements round up).  The router asks this for every settlement,
        refund and portfolio check, and every resting order is checked with it.  Returns None
        when a term leaves the range this kernel sums safely (|term| >= 2^120); the Python
        method then computes (or refuses with OVERFLOW) exactly as before."""
        cdef int64_t* p
        cdef int64_t* ir
        cdef int64_t instr, q, pslot
        cdef i128 eq = <i128>collateral + cash
        cdef i128 im = 0, mm = 0, pnl = 0, fund = 0, n_abs = 0, n_req = 0, q_req
        cdef i128 bound = (<i128>1) << 120
        cdef bint extra_done = extra_instr < 0
        for instr, pslot in positions:
            if instr < 0 or instr >= self.n_instr:
                return None
            p = self.pos + pslot * POS_WORDS
            ir = self.ins + instr * INS_WORDS
            q = p[P_QTY]
            if q < -I64MAX:                  # |q| would not fit: the Python rules decide
                return None
            q_req = q
            if instr == extra_instr:
                q_req += extra_qty
                extra_done = True
            if q:
                if not notional(q, <i128>ir[I_ORACLE_PX] - p[P_ENTRY], ir[I_CS], 0, &pnl):
                    return None
            else:
                pnl = 0
            if not notional(q, <i128>ir[I_FUND_INDEX] - p[P_FUND_SNAP], ir[I_CS], 1, &fund):
                return None
            if not notional(q if q >= 0 else -q, ir[I_ORACLE_PX], ir[I_CS], 1, &n_abs):
                return None
            if iabs(q_req) > I64MAX or not notional(<int64_t>iabs(q_req), ir[I_ORACLE_PX], ir[I_CS], 1, &n_req):
                return None
            if iabs(pnl) >= bound or iabs(fund) >= bound or n_req >= bound / BPS or n_abs >= bound / BPS:
                return None
            eq += pnl - fund
            im += bps_of(n_req, self.imr_bps, 1)
            mm += bps_of(n_abs, mmr_bps, 1)
        if not extra_done:
            if extra_instr >= self.n_instr or extra_qty < -I64MAX:
                return None
            ir = self.ins + extra_instr * INS_WORDS
            if not notional(extra_qty if extra_qty >= 0 else -extra_qty, ir[I_ORACLE_PX], ir[I_CS], 1, &n_req):
                return None
            if n_req >= bound / BPS:
                return None
            im += bps_of(n_req, self.imr_bps, 1)
        return py_int(eq), py_int(im), py_int(mm)

    def collateral_cash(self, int64_t slot):
        """``(collateral, cash)`` words of the account at ``slot``."""
        cdef int64_t* a = self.acc + slot * ACC_WORDS
        return a[A_COLLATERAL], a[A_CASH]

    def set_account(self, int64_t slot, int64_t amount, int64_t maker_class, bint reset_cash,
                    int64_t now_ms):
        """``Slab.set_collateral`` for an existing account whose arguments the caller checked:
        collateral = ``amount``, cash reset when asked, maker class unless -1, clock
        advanced.  Returns the error code (0 = written)."""
        cdef int64_t* a = self.acc + slot * ACC_WORDS
        if now_ms < self.hdr[SH_LAST_NOW]:
            return E_TIME_WENT_BACKWARDS
        a[A_COLLATERAL] = amount
        if reset_cash:
            a[A_CASH] = 0
        if maker_class >= 0:
            a[A_CLASS] = maker_class
        self._touch(a, ACC_WORDS)
        if self.hdr[SH_LAST_NOW] != now_ms:
            self.hdr[SH_LAST_NOW] = now_ms
            self._touch(self.hdr + SH_LAST_NOW, 1)
        return E_OK
