# cython: language_level=3
"""The matching core: price-time books, reservations and trade prints over the slab arena.

Why it looks like this (seed 000 §3, EXCHANGE §3, STYLE "hot loops in Cython"):

* All state lives in the caller's arena buffer as typed int64 records (``core.pxd``); pools
  have LIFO free lists linked by slot index, so allocation is O(1), there are no pointers in
  the state, and rebuilding from persisted bytes is exact.
* Order and reservation ids are ``(seq << 24) | slot``: monotone (plan M1/S5 price-time
  comparisons use them) and resolvable in O(1) without a hash table.
* Every transition first *plans* (read-only walk into a scratch fill buffer outside the arena),
  then checks all rejections (self-trade, FOK, post-only, pool capacity), and only then
  *applies*.  A rejection therefore never writes a byte of the arena.
* All C-level functions are ``nogil``; the heavier ones (reserve, commit, release, batch
  promotion) run with the GIL released.
* Every write marks its 4 KiB page dirty (``touch``) so the state tree rewrites only the pages
  a block touched (DESIGN §5).

Semantics pinned here (the slab README explains them in prose):
  reserved quantity is neither matchable nor displayed (plan S8, M4, M5); PENDING orders never
  match (M2); a taker remainder that would still cross (held liquidity ahead of it) is cancelled
  rather than resting, so the book is never crossed; the top-K freeze rule is in ``_plan_taker``.
"""
from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport malloc, free
from libc.string cimport memset

cdef extern from *:
    """
    #define SLAB_SLOT_BITS 24
    #define SLAB_SLOT_MASK 0xFFFFFFLL
    #define SLAB_PAGE_SHIFT 12
    #define SLAB_MAGIC 0x534C414232303236LL
    #define SLAB_VERSION 2
    #define SLAB_MAX_QTY (1LL << 38)
    #define SLAB_MAX_PRICE (1LL << 56)
    """
    const int64_t SLOT_BITS "SLAB_SLOT_BITS"
    const int64_t SLOT_MASK "SLAB_SLOT_MASK"
    const int64_t PAGE_SHIFT "SLAB_PAGE_SHIFT"
    const int64_t MAGIC "SLAB_MAGIC"
    const int64_t VERSION "SLAB_VERSION"
    const int64_t MAX_QTY "SLAB_MAX_QTY"
    const int64_t MAX_PRICE "SLAB_MAX_PRICE"

PAGE_SIZE = 1 << PAGE_SHIFT
SIDE_BUY = BUY
SIDE_SELL = SELL
GTC = TIF_GTC
IOC = TIF_IOC
FOK = TIF_FOK
POST_ONLY = TIF_POST_ONLY
FLAG_PENDING = OF_PENDING
FLAG_CANCELLED = OF_CANCELLED
SLOT_NONE = SLOT_MASK


cdef inline void touch(Arena* a, const void* p, int64_t n) noexcept nogil:
    cdef int64_t off = <const char*>p - a.base
    a.dirty[off >> PAGE_SHIFT] = 1
    a.dirty[(off + n - 1) >> PAGE_SHIFT] = 1


cdef inline void touch_hdr(Arena* a) noexcept nogil:
    a.dirty[(<char*>a.hdr - a.base) >> PAGE_SHIFT] = 1
    a.dirty[(<char*>a.hdr - a.base + 511) >> PAGE_SHIFT] = 1


cdef inline bint crosses(int64_t taker_side, int64_t level_px, int64_t limit_px) noexcept nogil:
    """Does a contra level at ``level_px`` trade with a taker limited at ``limit_px``?"""
    if taker_side == BUY:
        return level_px <= limit_px
    return level_px >= limit_px


cdef inline int64_t lookup_order(Arena* a, int64_t oid) noexcept nogil:
    cdef int64_t slot
    if oid <= 0:
        return -1
    slot = oid & SLOT_MASK
    if slot >= a.cap_orders or a.orders[slot].id != oid:
        return -1
    return slot


cdef inline int64_t lookup_resv(Arena* a, int64_t rid) noexcept nogil:
    cdef int64_t slot
    if rid <= 0:
        return -1
    slot = rid & SLOT_MASK
    if slot >= a.cap_resv or a.resvs[slot].id != rid:
        return -1
    return slot


# ---------------------------------------------------------------------------------- pools

cdef int64_t alloc_order(Arena* a) noexcept nogil:
    cdef int64_t i = a.hdr[H_FREE_ORDER]
    if i < 0:
        return -1
    a.hdr[H_FREE_ORDER] = a.orders[i].next
    a.hdr[H_NFREE_ORDER] -= 1
    touch_hdr(a)
    return i


cdef void free_order(Arena* a, int64_t i) noexcept nogil:
    cdef Order* o = &a.orders[i]
    memset(o, 0, sizeof(Order))
    o.level = -1
    o.prev = -1
    o.next = a.hdr[H_FREE_ORDER]
    touch(a, o, sizeof(Order))
    a.hdr[H_FREE_ORDER] = i
    a.hdr[H_NFREE_ORDER] += 1
    touch_hdr(a)


cdef int64_t alloc_level(Arena* a) noexcept nogil:
    cdef int64_t i = a.hdr[H_FREE_LEVEL]
    if i < 0:
        return -1
    a.hdr[H_FREE_LEVEL] = a.levels[i].next
    a.hdr[H_NFREE_LEVEL] -= 1
    touch_hdr(a)
    return i


cdef void free_level(Arena* a, int64_t i) noexcept nogil:
    cdef Level* lv = &a.levels[i]
    memset(lv, 0, sizeof(Level))
    lv.head = -1
    lv.tail = -1
    lv.prev = -1
    lv.first_free = -1
    lv.next = a.hdr[H_FREE_LEVEL]
    touch(a, lv, sizeof(Level))
    a.hdr[H_FREE_LEVEL] = i
    a.hdr[H_NFREE_LEVEL] += 1
    touch_hdr(a)


cdef int64_t alloc_resv(Arena* a) noexcept nogil:
    cdef int64_t i = a.hdr[H_FREE_RESV]
    if i < 0:
        return -1
    a.hdr[H_FREE_RESV] = a.resvs[i].next
    a.hdr[H_NFREE_RESV] -= 1
    touch_hdr(a)
    return i


cdef void free_resv(Arena* a, int64_t i) noexcept nogil:
    cdef Resv* r = &a.resvs[i]
    memset(r, 0, sizeof(Resv))
    r.slice_head = -1
    r.slice_tail = -1
    r.next = a.hdr[H_FREE_RESV]
    touch(a, r, sizeof(Resv))
    a.hdr[H_FREE_RESV] = i
    a.hdr[H_NFREE_RESV] += 1
    touch_hdr(a)


cdef int64_t alloc_slice(Arena* a) noexcept nogil:
    cdef int64_t i = a.hdr[H_FREE_SLICE]
    if i < 0:
        return -1
    a.hdr[H_FREE_SLICE] = a.slices[i].next
    a.hdr[H_NFREE_SLICE] -= 1
    touch_hdr(a)
    return i


cdef void free_slice(Arena* a, int64_t i) noexcept nogil:
    cdef Slice* s = &a.slices[i]
    memset(s, 0, sizeof(Slice))
    s.resv = -1
    s.order_slot = -1
    s.next = a.hdr[H_FREE_SLICE]
    touch(a, s, sizeof(Slice))
    a.hdr[H_FREE_SLICE] = i
    a.hdr[H_NFREE_SLICE] += 1
    touch_hdr(a)


# ---------------------------------------------------------------------------------- levels

cdef int64_t level_for(Arena* a, int64_t instr, int64_t side, int64_t price) noexcept nogil:
    """Find the level at ``price`` on the resting ``side``, creating it in sorted position."""
    cdef Book* bk = &a.books[instr]
    cdef int64_t prev = -1
    cdef int64_t cur = bk.head[side]
    cdef Level* lv
    cdef int64_t idx
    while cur != -1:
        lv = &a.levels[cur]
        if lv.price == price:
            return cur
        if (side == BUY and lv.price < price) or (side == SELL and lv.price > price):
            break
        prev = cur
        cur = lv.next
    idx = alloc_level(a)
    if idx < 0:
        return -1
    lv = &a.levels[idx]
    lv.price = price
    lv.total = 0
    lv.reserved = 0
    lv.head = -1
    lv.tail = -1
    lv.prev = prev
    lv.next = cur
    lv.book_side = instr * 2 + side
    lv.first_free = -1
    touch(a, lv, sizeof(Level))
    if prev == -1:
        bk.head[side] = idx
        touch(a, bk, sizeof(Book))
    else:
        a.levels[prev].next = idx
        touch(a, &a.levels[prev], sizeof(Level))
    if cur != -1:
        a.levels[cur].prev = idx
        touch(a, &a.levels[cur], sizeof(Level))
    return idx


cdef void unlink_level(Arena* a, int64_t idx) noexcept nogil:
    cdef Level* lv = &a.levels[idx]
    cdef int64_t instr = lv.book_side >> 1
    cdef int64_t side = lv.book_side & 1
    cdef Book* bk = &a.books[instr]
    if lv.prev == -1:
        bk.head[side] = lv.next
        touch(a, bk, sizeof(Book))
    else:
        a.levels[lv.prev].next = lv.next
        touch(a, &a.levels[lv.prev], sizeof(Level))
    if lv.next != -1:
        a.levels[lv.next].prev = lv.prev
        touch(a, &a.levels[lv.next], sizeof(Level))
    free_level(a, idx)


cdef void append_live(Arena* a, int64_t oslot, int64_t lidx) noexcept nogil:
    cdef Order* o = &a.orders[oslot]
    cdef Level* lv = &a.levels[lidx]
    o.level = lidx
    o.prev = lv.tail
    o.next = -1
    if lv.tail != -1:
        a.orders[lv.tail].next = oslot
        touch(a, &a.orders[lv.tail], sizeof(Order))
    else:
        lv.head = oslot
    lv.tail = oslot
    lv.total += o.qty
    lv.reserved += o.reserved
    if lv.first_free == -2 and o.qty > o.reserved:
        lv.first_free = oslot
    touch(a, lv, sizeof(Level))
    touch(a, o, sizeof(Order))
    a.books[o.instr].n_live += 1
    touch(a, &a.books[o.instr], sizeof(Book))


cdef void unlink_live(Arena* a, int64_t oslot) noexcept nogil:
    """Take a LIVE order out of its level (dropping the level if it empties); keeps the slot."""
    cdef Order* o = &a.orders[oslot]
    cdef int64_t lidx = o.level
    cdef Level* lv = &a.levels[lidx]
    if o.prev != -1:
        a.orders[o.prev].next = o.next
        touch(a, &a.orders[o.prev], sizeof(Order))
    else:
        lv.head = o.next
    if o.next != -1:
        a.orders[o.next].prev = o.prev
        touch(a, &a.orders[o.next], sizeof(Order))
    else:
        lv.tail = o.prev
    lv.total -= o.qty
    lv.reserved -= o.reserved
    lv.first_free = -1            # conservative: the next reserve walks from the head
    touch(a, lv, sizeof(Level))
    o.level = -1
    o.prev = -1
    o.next = -1
    touch(a, o, sizeof(Order))
    a.books[o.instr].n_live -= 1
    touch(a, &a.books[o.instr], sizeof(Book))
    if lv.head == -1:
        unlink_level(a, lidx)


cdef void append_pending(Arena* a, int64_t oslot) noexcept nogil:
    cdef Order* o = &a.orders[oslot]
    cdef Book* bk = &a.books[o.instr]
    o.level = -1
    o.prev = bk.pend_tail
    o.next = -1
    if bk.pend_tail != -1:
        a.orders[bk.pend_tail].next = oslot
        touch(a, &a.orders[bk.pend_tail], sizeof(Order))
    else:
        bk.pend_head = oslot
    bk.pend_tail = oslot
    bk.n_pending += 1
    touch(a, bk, sizeof(Book))
    touch(a, o, sizeof(Order))


cdef void unlink_pending(Arena* a, int64_t oslot) noexcept nogil:
    cdef Order* o = &a.orders[oslot]
    cdef Book* bk = &a.books[o.instr]
    if o.prev != -1:
        a.orders[o.prev].next = o.next
        touch(a, &a.orders[o.prev], sizeof(Order))
    else:
        bk.pend_head = o.next
    if o.next != -1:
        a.orders[o.next].prev = o.prev
        touch(a, &a.orders[o.next], sizeof(Order))
    else:
        bk.pend_tail = o.prev
    bk.n_pending -= 1
    touch(a, bk, sizeof(Book))
    o.prev = -1
    o.next = -1
    touch(a, o, sizeof(Order))


cdef void remove_order(Arena* a, int64_t oslot) noexcept nogil:
    if a.orders[oslot].flags & OF_PENDING:
        unlink_pending(a, oslot)
    else:
        unlink_live(a, oslot)
    free_order(a, oslot)


cdef inline bint would_cross(Arena* a, int64_t instr, int64_t side, int64_t price) noexcept nogil:
    """Would a resting order at ``price`` on ``side`` face any contra LIVE level (held or not)?"""
    cdef int64_t c = a.books[instr].head[1 - side]
    if c == -1:
        return 0
    return crosses(side, a.levels[c].price, price)


cdef void print_trade(Arena* a, int64_t instr, int64_t side, Fill* f, int64_t taker_ref,
                      int64_t taker_account, int64_t now_ms) noexcept nogil:
    cdef int64_t seq = a.hdr[H_TRADE_SEQ] + 1
    cdef Trade* t = &a.trades[(seq - 1) % a.cap_trades]
    a.hdr[H_TRADE_SEQ] = seq
    a.hdr[H_TOTAL_TRADED] += f.qty
    touch_hdr(a)
    t.seq = seq
    t.instr = instr
    t.side = side
    t.price = f.price
    t.qty = f.qty
    t.maker_order_id = f.maker_id
    t.taker_ref = taker_ref
    t.maker_account = f.maker_account
    t.taker_account = taker_account
    t.ts_ms = now_ms
    touch(a, t, sizeof(Trade))


# ---------------------------------------------------------------------------------- taker

cdef int64_t plan_taker(Arena* a, int64_t instr, int64_t account, int64_t side,
                        int64_t limit_px, int64_t qty, int64_t now_ms) noexcept nogil:
    """Read-only walk of the contra LIVE book into ``a.fills``; returns filled qty or -code.

    Top-K freeze (seed 000 §5.4; exact rule): while ``batch_open_ms <= now_ms <
    batch_open_ms + freeze_ms``, in each of the best ``topk`` contra levels (ranked over all
    LIVE levels, fully held ones included) the first order that holds reserved quantity ends
    the walk: the taker may fill that order's free part and anything ahead of it, but nothing
    queued behind it at the same price and no worse level.  Otherwise a later order at the same
    price would trade ahead of the held liquidity (overtake it) while the hold is pending.
    """
    cdef int64_t left = qty
    cdef int64_t rank = 0
    cdef int64_t lidx = a.books[instr].head[1 - side]
    cdef int64_t oslot, avail, take
    cdef Level* lv
    cdef Order* o
    cdef Fill* f
    cdef bint frozen = (a.hdr[H_FREEZE_MS] > 0 and a.hdr[H_BATCH_OPEN_MS] <= now_ms
                        and now_ms < a.hdr[H_BATCH_OPEN_MS] + a.hdr[H_FREEZE_MS])
    cdef bint stop = 0
    a.n_fills = 0
    while lidx != -1 and left > 0 and not stop:
        lv = &a.levels[lidx]
        if not crosses(side, lv.price, limit_px):
            break
        oslot = lv.head
        while oslot != -1 and left > 0:
            o = &a.orders[oslot]
            avail = o.qty - o.reserved
            if avail > 0:
                if o.account == account:
                    return -E_SELF_TRADE
                take = avail if avail < left else left
                f = &a.fills[a.n_fills]
                a.n_fills += 1
                f.maker_slot = oslot
                f.maker_id = o.id
                f.maker_account = o.account
                f.price = lv.price
                f.qty = take
                f.maker_created_ms = o.created_ms
                left -= take
            if frozen and rank < a.hdr[H_TOPK] and o.reserved > 0:
                stop = 1
                break
            oslot = o.next
        rank += 1
        lidx = lv.next
    return qty - left


cdef void apply_fills(Arena* a, int64_t instr, int64_t side, int64_t taker_ref,
                      int64_t taker_account, int64_t now_ms, bint from_reserved) noexcept nogil:
    cdef int64_t i
    cdef Fill* f
    cdef Order* o
    cdef Level* lv
    for i in range(a.n_fills):
        f = &a.fills[i]
        o = &a.orders[f.maker_slot]
        lv = &a.levels[o.level]
        o.qty -= f.qty
        lv.total -= f.qty
        if from_reserved:
            o.reserved -= f.qty
            lv.reserved -= f.qty
        touch(a, o, sizeof(Order))
        touch(a, lv, sizeof(Level))
        print_trade(a, instr, side, f, taker_ref, taker_account, now_ms)
        if o.qty == 0:
            unlink_live(a, f.maker_slot)
            free_order(a, f.maker_slot)


cdef int64_t c_place(Arena* a, int64_t instr, int64_t account, int64_t side, int64_t price,
                     int64_t qty, int64_t tif, bint pending, int64_t now_ms,
                     bint apply) noexcept nogil:
    """Place a limit order (GTC / IOC / FOK / POST_ONLY); ``pending`` = REG maker class."""
    cdef int64_t filled = 0
    cdef int64_t slot = -1
    cdef int64_t seq, oid, lidx
    cdef Order* o
    cdef bint rest
    a.last_id = 0
    a.last_filled = 0
    a.last_rested = 0
    a.n_fills = 0
    if instr < 0 or instr >= a.n_instr:
        return -E_UNKNOWN_INSTRUMENT
    if side != BUY and side != SELL:
        return -E_BAD_SIDE
    if tif < TIF_GTC or tif > TIF_POST_ONLY:
        return -E_BAD_TIF
    if qty <= 0:
        return -E_QTY_NOT_POSITIVE
    if price <= 0:
        return -E_PRICE_NOT_POSITIVE
    if qty > MAX_QTY or price > MAX_PRICE:
        return -E_OVERFLOW
    if tif == TIF_POST_ONLY:
        if would_cross(a, instr, side, price):
            return -E_POST_ONLY_WOULD_CROSS
    else:
        filled = plan_taker(a, instr, account, side, price, qty, now_ms)
        if filled < 0:
            return filled
        if tif == TIF_FOK and filled < qty:
            return -E_FOK_UNFILLABLE
    rest = (tif == TIF_GTC or tif == TIF_POST_ONLY) and filled < qty
    if (tif == TIF_GTC or tif == TIF_POST_ONLY) and a.hdr[H_NFREE_ORDER] == 0:
        return -E_POOL_FULL_ORDERS
    if not apply:
        a.last_filled = filled
        return 0
    seq = a.hdr[H_NEXT_ORDER_SEQ]
    a.hdr[H_NEXT_ORDER_SEQ] = seq + 1
    touch_hdr(a)
    if tif == TIF_GTC or tif == TIF_POST_ONLY:
        slot = alloc_order(a)
        oid = (seq << SLOT_BITS) | slot
    else:
        oid = (seq << SLOT_BITS) | SLOT_MASK
    a.last_id = oid
    if a.n_fills:
        apply_fills(a, instr, side, oid, account, now_ms, 0)
    a.last_filled = filled
    if slot < 0:
        return 0
    o = &a.orders[slot]
    if not rest or (not pending and would_cross(a, instr, side, price)):
        # fully filled, or the remainder would cross held liquidity: do not rest it
        free_order(a, slot)
        return 0
    o.id = oid
    o.account = account
    o.instr = instr
    o.side = side
    o.price = price
    o.qty = qty - filled
    o.reserved = 0
    o.flags = OF_PENDING if pending else 0
    o.created_ms = now_ms
    o.orig_qty = qty
    o.tif = tif
    a.last_rested = o.qty
    if pending:
        append_pending(a, slot)
    else:
        lidx = level_for(a, instr, side, price)
        append_live(a, slot, lidx)
    return 0


cdef int64_t c_account_slots(Arena* a, int64_t account, int64_t* out) noexcept nogil:
    """Order slots of ``account`` (every book's levels, then its pending list) into ``out``
    (room for ``a.cap_orders``); returns how many."""
    cdef int64_t instr, side, lidx, n = 0
    for instr in range(a.n_instr):
        for side in range(2):
            lidx = a.books[instr].head[side]
            while lidx != -1:
                n = _account_slots_from(a, a.levels[lidx].head, account, out, n)
                lidx = a.levels[lidx].next
        n = _account_slots_from(a, a.books[instr].pend_head, account, out, n)
    return n


cdef inline int64_t _account_slots_from(Arena* a, int64_t o, int64_t account, int64_t* out,
                                        int64_t n) noexcept nogil:
    """Append ``account``'s slots of the order list starting at ``o`` to ``out[n:]``."""
    while o != -1:
        if a.orders[o].account == account:
            out[n] = o
            n += 1
        o = a.orders[o].next
    return n


cdef int64_t c_cancel(Arena* a, int64_t oid, int64_t account) noexcept nogil:
    """Cancel an order; idempotent for closed ids (EXCHANGE §6).  Returns 0, 1 (no-op), -code.

    A partly reserved order keeps its reserved part (marked CANCELLED) until the holds
    resolve: commit fills it, release removes it (EXCHANGE §3 Reservations).
    """
    cdef int64_t slot = lookup_order(a, oid)
    cdef Order* o
    cdef Level* lv
    cdef int64_t drop
    if slot < 0:
        if oid > 0 and (oid >> SLOT_BITS) < a.hdr[H_NEXT_ORDER_SEQ]:
            return 1
        return -E_UNKNOWN_ORDER
    o = &a.orders[slot]
    if o.account != account:
        return -E_NOT_OWNER
    if o.flags & OF_CANCELLED:
        return 1
    if o.reserved > 0:
        drop = o.qty - o.reserved
        lv = &a.levels[o.level]
        lv.total -= drop
        o.qty = o.reserved
        o.flags |= OF_CANCELLED
        touch(a, lv, sizeof(Level))
        touch(a, o, sizeof(Order))
        return 0
    remove_order(a, slot)
    return 0


cdef int64_t c_modify(Arena* a, int64_t oid, int64_t account, int64_t new_price,
                      int64_t new_qty, int64_t now_ms) noexcept nogil:
    """Size down at the same price keeps priority; any other change re-queues at the tail.

    A re-queued order is a new maker commitment: its ``created_ms`` becomes ``now_ms`` (for
    the JIT rule) and it must not cross (post-only semantics).  Held orders may only size
    down, never below their reserved quantity (plan S8).
    """
    cdef int64_t slot = lookup_order(a, oid)
    cdef Order* o
    cdef Level* lv
    cdef int64_t lidx
    if slot < 0 or a.orders[slot].flags & OF_CANCELLED:
        return -E_UNKNOWN_ORDER
    o = &a.orders[slot]
    if o.account != account:
        return -E_NOT_OWNER
    if new_qty <= 0:
        return -E_QTY_NOT_POSITIVE
    if new_price <= 0:
        return -E_PRICE_NOT_POSITIVE
    if new_qty > MAX_QTY or new_price > MAX_PRICE:
        return -E_OVERFLOW
    if new_price == o.price and new_qty <= o.qty:
        if new_qty < o.reserved:
            return -E_MODIFY_BELOW_RESERVED
        if not (o.flags & OF_PENDING):
            lv = &a.levels[o.level]
            lv.total -= o.qty - new_qty
            touch(a, lv, sizeof(Level))
        o.qty = new_qty
        touch(a, o, sizeof(Order))
        return 0
    if o.reserved > 0:
        return -E_ORDER_RESERVED
    if new_price != o.price and would_cross(a, o.instr, o.side, new_price):
        return -E_POST_ONLY_WOULD_CROSS
    if o.flags & OF_PENDING:
        unlink_pending(a, slot)
        o.price = new_price
        o.qty = new_qty
        o.created_ms = now_ms
        append_pending(a, slot)
        return 0
    unlink_live(a, slot)
    o.price = new_price
    o.qty = new_qty
    o.created_ms = now_ms
    lidx = level_for(a, o.instr, o.side, new_price)
    append_live(a, slot, lidx)
    return 0


# ---------------------------------------------------------------------------------- holds

cdef void advance_first_free(Arena* a, int64_t lidx) noexcept nogil:
    """Move the level's reserve hint past orders that are now fully held (reserve apply)."""
    cdef Level* lv = &a.levels[lidx]
    cdef int64_t o = lv.first_free if lv.first_free >= 0 else lv.head
    while o != -1 and a.orders[o].qty == a.orders[o].reserved:
        o = a.orders[o].next
    lv.first_free = o if o != -1 else -2
    touch(a, lv, sizeof(Level))


cdef int64_t plan_reserve(Arena* a, int64_t instr, int64_t account, int64_t side,
                          int64_t limit_px, int64_t qty) noexcept nogil:
    """Walk contra LIVE depth to the limit, taking ``min(left, qty - reserved_qty)`` per order
    (plan S8, M4, M5) into ``a.fills``; returns the quantity that can be held or -code."""
    cdef int64_t left = qty
    cdef int64_t lidx = a.books[instr].head[1 - side]
    cdef int64_t oslot, avail, take
    cdef Level* lv
    cdef Order* o
    cdef Fill* f
    a.n_fills = 0
    while lidx != -1 and left > 0:
        lv = &a.levels[lidx]
        if not crosses(side, lv.price, limit_px):
            break
        if lv.total > lv.reserved:
            oslot = lv.first_free if lv.first_free >= 0 else lv.head
            while oslot != -1 and left > 0:
                o = &a.orders[oslot]
                avail = o.qty - o.reserved
                if avail > 0:
                    if o.account == account:
                        return -E_SELF_TRADE
                    take = avail if avail < left else left
                    f = &a.fills[a.n_fills]
                    a.n_fills += 1
                    f.maker_slot = oslot
                    f.maker_id = o.id
                    f.maker_account = o.account
                    f.price = lv.price
                    f.qty = take
                    f.maker_created_ms = o.created_ms
                    left -= take
                oslot = o.next
        lidx = lv.next
    return qty - left


cdef int64_t c_reserve(Arena* a, int64_t instr, int64_t account, int64_t side, int64_t qty,
                       int64_t limit_px, int64_t now_ms, int64_t expiry_ms, int64_t oracle_px,
                       int64_t epoch, bint apply) noexcept nogil:
    cdef int64_t held, seq, rslot, sslot, i
    cdef Resv* r
    cdef Slice* s
    cdef Fill* f
    cdef Order* o
    cdef Level* lv
    a.last_id = 0
    a.last_filled = 0
    a.n_fills = 0
    if instr < 0 or instr >= a.n_instr:
        return -E_UNKNOWN_INSTRUMENT
    if side != BUY and side != SELL:
        return -E_BAD_SIDE
    if qty <= 0:
        return -E_QTY_NOT_POSITIVE
    if limit_px <= 0:
        return -E_PRICE_NOT_POSITIVE
    if qty > MAX_QTY or limit_px > MAX_PRICE:
        return -E_OVERFLOW
    held = plan_reserve(a, instr, account, side, limit_px, qty)
    if held < 0:
        return held
    if held == 0:
        return -E_NO_LIQUIDITY
    if a.hdr[H_NFREE_RESV] == 0:
        return -E_POOL_FULL_RESERVATIONS
    if a.hdr[H_NFREE_SLICE] < a.n_fills:
        return -E_POOL_FULL_SLICES
    a.last_filled = held
    if not apply:
        return 0
    seq = a.hdr[H_NEXT_RESV_SEQ]
    a.hdr[H_NEXT_RESV_SEQ] = seq + 1
    rslot = alloc_resv(a)
    r = &a.resvs[rslot]
    r.id = (seq << SLOT_BITS) | rslot
    r.account = account
    r.instr = instr
    r.side = side
    r.limit_px = limit_px
    r.qty_req = qty
    r.held = held
    r.slice_head = -1
    r.slice_tail = -1
    r.n_slices = 0
    r.expiry_ms = expiry_ms
    r.oracle_px = oracle_px
    r.created_ms = now_ms
    r.worst_px = 0
    r.next = -1
    r.epoch = epoch
    for i in range(a.n_fills):
        f = &a.fills[i]
        sslot = alloc_slice(a)
        s = &a.slices[sslot]
        s.resv = rslot
        s.order_slot = f.maker_slot
        s.order_id = f.maker_id
        s.qty = f.qty
        s.price = f.price
        s.next = -1
        touch(a, s, sizeof(Slice))
        if r.slice_tail == -1:
            r.slice_head = sslot
        else:
            a.slices[r.slice_tail].next = sslot
            touch(a, &a.slices[r.slice_tail], sizeof(Slice))
        r.slice_tail = sslot
        r.n_slices += 1
        r.worst_px = f.price
        o = &a.orders[f.maker_slot]
        lv = &a.levels[o.level]
        o.reserved += f.qty
        lv.reserved += f.qty
        touch(a, o, sizeof(Order))
        touch(a, lv, sizeof(Level))
    for i in range(a.n_fills):
        advance_first_free(a, a.orders[a.fills[i].maker_slot].level)
    touch(a, r, sizeof(Resv))
    a.last_id = r.id
    return 0


cdef int64_t resolve_resv(Arena* a, int64_t rid, bint* closed) noexcept nogil:
    cdef int64_t slot = lookup_resv(a, rid)
    closed[0] = 0
    if slot < 0:
        if rid > 0 and (rid >> SLOT_BITS) < a.hdr[H_NEXT_RESV_SEQ]:
            closed[0] = 1
        return -1
    return slot


cdef int64_t c_commit(Arena* a, int64_t rid, int64_t now_ms) noexcept nogil:
    """Fill every held slice at its captured maker price (S9), print trades, free the hold
    (EXCHANGE §6: reservation slots are freed after commit).  At most once (F3)."""
    cdef bint closed
    cdef int64_t rslot = resolve_resv(a, rid, &closed)
    cdef Resv* r
    cdef int64_t sslot, nxt
    cdef Slice* s
    cdef Fill* f
    cdef Order* o
    a.n_fills = 0
    a.last_filled = 0
    if rslot < 0:
        return -E_RESERVATION_CLOSED if closed else -E_UNKNOWN_RESERVATION
    r = &a.resvs[rslot]
    sslot = r.slice_head
    while sslot != -1:
        s = &a.slices[sslot]
        o = &a.orders[s.order_slot]
        if o.id != s.order_id or o.reserved < s.qty:
            return -E_INTERNAL
        f = &a.fills[a.n_fills]
        a.n_fills += 1
        f.maker_slot = s.order_slot
        f.maker_id = s.order_id
        f.maker_account = o.account
        f.price = s.price
        f.qty = s.qty
        f.maker_created_ms = o.created_ms
        sslot = s.next
    apply_fills(a, r.instr, r.side, rid, r.account, now_ms, 1)
    a.last_filled = r.held
    sslot = r.slice_head
    while sslot != -1:
        nxt = a.slices[sslot].next
        free_slice(a, sslot)
        sslot = nxt
    free_resv(a, rslot)
    return 0


cdef int64_t c_release(Arena* a, int64_t rid) noexcept nogil:
    """Give held quantity back to its orders; idempotent (R8, F2).  0, 1 (no-op) or -code."""
    cdef bint closed
    cdef int64_t rslot = resolve_resv(a, rid, &closed)
    cdef Resv* r
    cdef int64_t sslot, nxt, oslot
    cdef Slice* s
    cdef Order* o
    cdef Level* lv
    if rslot < 0:
        return 1 if closed else -E_UNKNOWN_RESERVATION
    r = &a.resvs[rslot]
    sslot = r.slice_head
    while sslot != -1:
        s = &a.slices[sslot]
        oslot = s.order_slot
        o = &a.orders[oslot]
        lv = &a.levels[o.level]
        o.reserved -= s.qty
        lv.reserved -= s.qty
        lv.first_free = -1        # held quantity came back somewhere in this level
        if o.flags & OF_CANCELLED:
            o.qty -= s.qty
            lv.total -= s.qty
        touch(a, o, sizeof(Order))
        touch(a, lv, sizeof(Level))
        nxt = s.next
        free_slice(a, sslot)
        if o.qty == 0:
            unlink_live(a, oslot)
            free_order(a, oslot)
        sslot = nxt
    free_resv(a, rslot)
    return 0


cdef int64_t c_batch_open(Arena* a, int64_t now_ms) noexcept nogil:
    """Promote PENDING orders in FIFO order (O(pending), plan S4/S7/M2/M7), then open the batch.

    A pending order that would now cross the LIVE book is cancelled instead of promoted (its id
    is reported): promotion never matches, and the book is never left crossed.
    """
    cdef int64_t instr, oslot, nxt, lidx, promoted = 0
    cdef Book* bk
    cdef Order* o
    a.n_ids = 0
    for instr in range(a.n_instr):
        bk = &a.books[instr]
        oslot = bk.pend_head
        while oslot != -1:
            o = &a.orders[oslot]
            nxt = o.next
            unlink_pending(a, oslot)
            if would_cross(a, instr, o.side, o.price):
                a.ids[a.n_ids] = o.id
                a.n_ids += 1
                free_order(a, oslot)
            else:
                o.flags &= ~OF_PENDING
                lidx = level_for(a, instr, o.side, o.price)
                append_live(a, oslot, lidx)
                promoted += 1
            oslot = nxt
    a.hdr[H_BATCH_OPEN_MS] = now_ms
    touch_hdr(a)
    return promoted


# ---------------------------------------------------------------------------------- Python face

cdef class MatchingCore:
    """Python face of the core over an arena buffer (a ``bytearray`` or writable buffer).

    ``layout`` is ``executor.slab.layout.Layout``.  Methods return ``0`` on success, a
    positive no-op marker where documented, or a negative ``ErrorCode`` value; details of the
    last operation are read from ``last_id``, ``last_filled``, ``last_rested`` and ``fills()``.
    """

    def __cinit__(self, buf, layout):
        cdef unsigned char[::1] view = buf
        self._buf = buf
        self._view = view
        memset(&self.a, 0, sizeof(Arena))
        self.a.base = <char*>&view[0]
        self.a.size = view.shape[0]
        if self.a.size < layout.size:
            raise ValueError("arena buffer smaller than the layout")
        self.a.hdr = <int64_t*>(self.a.base + <int64_t>layout.core_header)
        self.a.books = <Book*>(self.a.base + <int64_t>layout.books)
        self.a.levels = <Level*>(self.a.base + <int64_t>layout.levels)
        self.a.orders = <Order*>(self.a.base + <int64_t>layout.order_records)
        self.a.resvs = <Resv*>(self.a.base + <int64_t>layout.reservation_records)
        self.a.slices = <Slice*>(self.a.base + <int64_t>layout.slice_records)
        self.a.trades = <Trade*>(self.a.base + <int64_t>layout.trade_records)
        self.a.n_instr = layout.instruments
        self.a.cap_orders = layout.orders
        self.a.cap_resv = layout.reservations
        self.a.cap_slices = layout.slices
        self.a.cap_trades = layout.trades
        self.a.n_pages = (self.a.size + (1 << PAGE_SHIFT) - 1) >> PAGE_SHIFT
        self.a.dirty = <uint8_t*>malloc(self.a.n_pages)
        n = max(layout.orders, layout.slices) + 1
        self.a.fills = <Fill*>malloc(sizeof(Fill) * n)
        self.a.ids = <int64_t*>malloc(sizeof(int64_t) * (layout.orders + 1))
        if self.a.dirty == NULL or self.a.fills == NULL or self.a.ids == NULL:
            raise MemoryError()
        memset(self.a.dirty, 0, self.a.n_pages)

    def __dealloc__(self):
        free(self.a.dirty)
        free(self.a.fills)
        free(self.a.ids)

    def format(self, int64_t freeze_ms=0, int64_t topk=0):
        """Initialise an empty book in the arena: header, empty books and chained free lists."""
        cdef Arena* a = &self.a
        cdef int64_t i
        a.hdr[H_MAGIC] = MAGIC
        a.hdr[H_VERSION] = VERSION
        a.hdr[H_N_INSTR] = a.n_instr
        a.hdr[H_CAP_ORDERS] = a.cap_orders
        a.hdr[H_CAP_RESV] = a.cap_resv
        a.hdr[H_CAP_SLICES] = a.cap_slices
        a.hdr[H_CAP_TRADES] = a.cap_trades
        a.hdr[H_NEXT_ORDER_SEQ] = 1
        a.hdr[H_NEXT_RESV_SEQ] = 1
        a.hdr[H_TRADE_SEQ] = 0
        a.hdr[H_FREEZE_MS] = freeze_ms
        a.hdr[H_TOPK] = topk
        a.hdr[H_BATCH_OPEN_MS] = 0
        a.hdr[H_TOTAL_TRADED] = 0
        for i in range(a.n_instr):
            a.books[i].head[0] = -1
            a.books[i].head[1] = -1
            a.books[i].pend_head = -1
            a.books[i].pend_tail = -1
            a.books[i].n_pending = 0
            a.books[i].n_live = 0
        for i in range(a.cap_orders):
            memset(&a.orders[i], 0, sizeof(Order))
            a.orders[i].level = -1
            a.orders[i].prev = -1
            a.orders[i].next = i + 1 if i + 1 < a.cap_orders else -1
            memset(&a.levels[i], 0, sizeof(Level))
            a.levels[i].head = -1
            a.levels[i].tail = -1
            a.levels[i].prev = -1
            a.levels[i].next = i + 1 if i + 1 < a.cap_orders else -1
            a.levels[i].first_free = -1
        for i in range(a.cap_resv):
            memset(&a.resvs[i], 0, sizeof(Resv))
            a.resvs[i].slice_head = -1
            a.resvs[i].slice_tail = -1
            a.resvs[i].next = i + 1 if i + 1 < a.cap_resv else -1
        for i in range(a.cap_slices):
            memset(&a.slices[i], 0, sizeof(Slice))
            a.slices[i].resv = -1
            a.slices[i].order_slot = -1
            a.slices[i].next = i + 1 if i + 1 < a.cap_slices else -1
        a.hdr[H_FREE_ORDER] = 0
        a.hdr[H_FREE_LEVEL] = 0
        a.hdr[H_FREE_RESV] = 0
        a.hdr[H_FREE_SLICE] = 0
        a.hdr[H_NFREE_ORDER] = a.cap_orders
        a.hdr[H_NFREE_LEVEL] = a.cap_orders
        a.hdr[H_NFREE_RESV] = a.cap_resv
        a.hdr[H_NFREE_SLICE] = a.cap_slices
        memset(a.dirty, 1, a.n_pages)

    def check_header(self):
        """True if the arena header matches this layout (used when rebuilding from bytes)."""
        cdef Arena* a = &self.a
        return (a.hdr[H_MAGIC] == MAGIC and a.hdr[H_VERSION] == VERSION
                and a.hdr[H_N_INSTR] == a.n_instr and a.hdr[H_CAP_ORDERS] == a.cap_orders
                and a.hdr[H_CAP_RESV] == a.cap_resv and a.hdr[H_CAP_SLICES] == a.cap_slices
                and a.hdr[H_CAP_TRADES] == a.cap_trades)

    # -- operations ---------------------------------------------------------------------
    def place(self, int64_t instr, int64_t account, int64_t side, int64_t price,
                        int64_t qty, int64_t tif=TIF_GTC, bint pending=False,
                        int64_t now_ms=0):
        """Add a limit order; returns its id (> 0; takers get one too) or -code."""
        cdef int64_t rc = c_place(&self.a, instr, account, side, price, qty, tif, pending,
                                  now_ms, 1)
        return rc if rc < 0 else self.a.last_id

    def preview_place(self, int64_t instr, int64_t account, int64_t side,
                                int64_t price, int64_t qty, int64_t tif=TIF_GTC,
                                int64_t now_ms=0):
        """Run every check and the matching walk of ``place`` without writing; fills() valid."""
        return c_place(&self.a, instr, account, side, price, qty, tif, 0, now_ms, 0)

    def cancel(self, int64_t order_id, int64_t account):
        return c_cancel(&self.a, order_id, account)

    def modify(self, int64_t order_id, int64_t account, int64_t new_price,
                         int64_t new_qty, int64_t now_ms=0):
        return c_modify(&self.a, order_id, account, new_price, new_qty, now_ms)

    def reserve(self, int64_t instr, int64_t account, int64_t side, int64_t qty,
                int64_t limit_px, int64_t now_ms=0, int64_t expiry_ms=0, int64_t oracle_px=0,
                int64_t epoch=0):
        """Hold contra liquidity up to ``limit_px``; returns the hold id (> 0) or -code."""
        cdef int64_t rc
        with nogil:
            rc = c_reserve(&self.a, instr, account, side, qty, limit_px, now_ms, expiry_ms,
                           oracle_px, epoch, 1)
        return rc if rc < 0 else self.a.last_id

    def preview_reserve(self, int64_t instr, int64_t account, int64_t side, int64_t qty,
                        int64_t limit_px):
        return c_reserve(&self.a, instr, account, side, qty, limit_px, 0, 0, 0, 0, 0)

    def commit(self, int64_t resv_id, int64_t now_ms=0):
        cdef int64_t rc
        with nogil:
            rc = c_commit(&self.a, resv_id, now_ms)
        return rc

    def release(self, int64_t resv_id):
        cdef int64_t rc
        with nogil:
            rc = c_release(&self.a, resv_id)
        return rc

    def batch_open(self, int64_t now_ms):
        """Promote all PENDING orders; returns the number promoted (``cancelled_ids()``)."""
        cdef int64_t rc
        with nogil:
            rc = c_batch_open(&self.a, now_ms)
        return rc

    def run_batch(self, const int64_t[:, ::1] ops, int64_t[::1] out):
        """Apply a block of operations in one call, without the GIL (DESIGN §3: the executor
        applies whole blocks).  Row = ``(op, instr, account, side, price, qty, arg, now_ms)``:

        ``op`` 0 place LIVE / 1 place PENDING (``arg`` = tif), 2 cancel (``arg`` = order id),
        3 modify (``arg`` = order id, ``price``/``qty`` new), 4 reserve (``price`` = limit,
        ``arg`` = expiry_ms), 5 commit / 6 release (``arg`` = hold id).
        ``out[i]`` receives exactly what the per-call method would return.  Returns the number
        of rows that did not reject.
        """
        cdef Py_ssize_t i, n = ops.shape[0]
        cdef int64_t rc, ok = 0, op
        cdef Arena* a = &self.a
        if ops.shape[1] != 8 or out.shape[0] < n:
            raise ValueError("ops must be (n, 8) int64 and out at least n long")
        with nogil:
            for i in range(n):
                op = ops[i, 0]
                if op == 0 or op == 1:
                    rc = c_place(a, ops[i, 1], ops[i, 2], ops[i, 3], ops[i, 4], ops[i, 5],
                                 ops[i, 6], op == 1, ops[i, 7], 1)
                    if rc == 0:
                        rc = a.last_id
                elif op == 2:
                    rc = c_cancel(a, ops[i, 6], ops[i, 2])
                elif op == 3:
                    rc = c_modify(a, ops[i, 6], ops[i, 2], ops[i, 4], ops[i, 5], ops[i, 7])
                elif op == 4:
                    rc = c_reserve(a, ops[i, 1], ops[i, 2], ops[i, 3], ops[i, 5], ops[i, 4],
                                   ops[i, 7], ops[i, 6], 0, 0, 1)
                    if rc == 0:
                        rc = a.last_id
                elif op == 5:
                    rc = c_commit(a, ops[i, 6], ops[i, 7])
                elif op == 6:
                    rc = c_release(a, ops[i, 6])
                else:
                    rc = -E_INTERNAL
                out[i] = rc
                if rc >= 0:
                    ok += 1
        return ok

    def set_freeze(self, int64_t freeze_ms, int64_t topk):
        self.a.hdr[H_FREEZE_MS] = freeze_ms
        self.a.hdr[H_TOPK] = topk
        touch_hdr(&self.a)

    # -- results of the last operation ------------------------------------------------------
    @property
    def last_id(self):
        return self.a.last_id

    @property
    def last_filled(self):
        return self.a.last_filled

    @property
    def last_rested(self):
        return self.a.last_rested

    @property
    def fill_count(self):
        return self.a.n_fills

    def fills(self):
        """Fills of the last place/commit (or planned ones of a preview/reserve):
        ``[(maker_order_id, maker_account, price, qty, maker_created_ms), ...]`` in order."""
        cdef int64_t i
        cdef Fill* f
        out = []
        for i in range(self.a.n_fills):
            f = &self.a.fills[i]
            out.append((f.maker_id, f.maker_account, f.price, f.qty, f.maker_created_ms))
        return out

    def cancelled_ids(self):
        return [self.a.ids[i] for i in range(self.a.n_ids)]

    # -- reads --------------------------------------------------------------------------------
    def best(self, int64_t instr, int64_t side):
        """Best price on resting ``side`` with *free* (unreserved) quantity, or None."""
        cdef int64_t lidx
        if instr < 0 or instr >= self.a.n_instr:
            return None
        lidx = self.a.books[instr].head[side & 1]
        while lidx != -1:
            if self.a.levels[lidx].total > self.a.levels[lidx].reserved:
                return self.a.levels[lidx].price
            lidx = self.a.levels[lidx].next
        return None

    def best_bid(self, int64_t instr):
        return self.best(instr, BUY)

    def best_ask(self, int64_t instr):
        return self.best(instr, SELL)

    def depth(self, int64_t instr, int64_t side, int64_t n):
        """L2 depth ``[(price, free_qty)]`` best first; reserved quantity is excluded (S8)."""
        cdef int64_t lidx
        cdef Level* lv
        out = []
        if instr < 0 or instr >= self.a.n_instr:
            return out
        lidx = self.a.books[instr].head[side & 1]
        while lidx != -1 and len(out) < n:
            lv = &self.a.levels[lidx]
            if lv.total > lv.reserved:
                out.append((lv.price, lv.total - lv.reserved))
            lidx = lv.next
        return out

    def order(self, int64_t order_id):
        """``(id, account, instr, side, price, qty, reserved, flags, created_ms)`` or None."""
        cdef int64_t slot = lookup_order(&self.a, order_id)
        cdef Order* o
        if slot < 0:
            return None
        o = &self.a.orders[slot]
        return (o.id, o.account, o.instr, o.side, o.price, o.qty, o.reserved, o.flags,
                o.created_ms)

    def account_orders(self, int64_t account):
        """Ids of ``account``'s resting and pending orders, ascending (liquidation cancels them,
        EXCHANGE §2 flow 5).  Walks every book: O(orders in the pool)."""
        cdef int64_t i, n
        cdef int64_t* slots = <int64_t*>malloc(sizeof(int64_t) * (self.a.cap_orders + 1))
        if slots == NULL:
            raise MemoryError()
        try:
            n = c_account_slots(&self.a, account, slots)
            return sorted([self.a.orders[slots[i]].id for i in range(n)])
        finally:
            free(slots)

    def account_open_by_side(self, int64_t account):
        """``[(instrument, open buy qty, open sell qty)]`` of ``account``'s resting and pending
        orders that are not cancelled, ascending by instrument, zero rows left out: what the
        router keeps pledged for resting orders and what maker-class allowances bound."""
        cdef int64_t i, n, o
        cdef int64_t* slots = <int64_t*>malloc(sizeof(int64_t) * (self.a.cap_orders + 1))
        cdef int64_t* sums = <int64_t*>malloc(sizeof(int64_t) * 2 * (self.a.n_instr + 1))
        if slots == NULL or sums == NULL:
            free(slots)
            free(sums)
            raise MemoryError()
        try:
            memset(sums, 0, sizeof(int64_t) * 2 * (self.a.n_instr + 1))
            n = c_account_slots(&self.a, account, slots)
            for i in range(n):
                o = slots[i]
                if not self.a.orders[o].flags & OF_CANCELLED:
                    sums[2 * self.a.orders[o].instr + self.a.orders[o].side] += self.a.orders[o].qty
            return [(i, sums[2 * i], sums[2 * i + 1]) for i in range(self.a.n_instr)
                    if sums[2 * i] or sums[2 * i + 1]]
        finally:
            free(slots)
            free(sums)

    def account_open_qty(self, int64_t account):
        """Open quantity of ``account``'s orders (reserved parts included; cancelled orders
        that still back a hold excluded): what a maker-class allowance bounds."""
        return sum(b + s for _i, b, s in self.account_open_by_side(account))

    def reservation(self, int64_t resv_id):
        """``(id, account, instr, side, limit_px, qty_req, held, expiry_ms, oracle_px,
        created_ms, worst_px, epoch, slices)`` with slices ``[(order_id, qty, price)]``."""
        cdef int64_t slot = lookup_resv(&self.a, resv_id)
        cdef Resv* r
        cdef int64_t s
        if slot < 0:
            return None
        r = &self.a.resvs[slot]
        sl = []
        s = r.slice_head
        while s != -1:
            sl.append((self.a.slices[s].order_id, self.a.slices[s].qty, self.a.slices[s].price))
            s = self.a.slices[s].next
        return (r.id, r.account, r.instr, r.side, r.limit_px, r.qty_req, r.held, r.expiry_ms,
                r.oracle_px, r.created_ms, r.worst_px, r.epoch, sl)

    def reservation_ids(self):
        """Ids of all open holds, ascending (deterministic expiry order, DESIGN §3)."""
        cdef int64_t i
        out = [self.a.resvs[i].id for i in range(self.a.cap_resv) if self.a.resvs[i].id != 0]
        out.sort()
        return out

    def expired_reservations(self, int64_t now_ms):
        """Ids of holds with ``expiry_ms < now_ms``, ascending (released in hold-id order)."""
        cdef int64_t i
        out = [self.a.resvs[i].id for i in range(self.a.cap_resv)
               if self.a.resvs[i].id != 0 and self.a.resvs[i].expiry_ms < now_ms]
        out.sort()
        return out

    def snapshot(self):
        """Canonical structure of every book (tests compare it with the reference model)."""
        cdef int64_t instr, side, lidx, o
        books = []
        for instr in range(self.a.n_instr):
            sides = []
            for side in range(2):
                levels = []
                lidx = self.a.books[instr].head[side]
                while lidx != -1:
                    orders = []
                    o = self.a.levels[lidx].head
                    while o != -1:
                        od = &self.a.orders[o]
                        orders.append((od.id, od.account, od.qty, od.reserved, od.flags))
                        o = od.next
                    levels.append((self.a.levels[lidx].price, self.a.levels[lidx].total,
                                   self.a.levels[lidx].reserved, tuple(orders)))
                    lidx = self.a.levels[lidx].next
                sides.append(tuple(levels))
            pend = []
            o = self.a.books[instr].pend_head
            while o != -1:
                od = &self.a.orders[o]
                pend.append((od.id, od.account, od.side, od.price, od.qty))
                o = od.next
            books.append((tuple(sides), tuple(pend)))
        resvs = tuple(self.reservation(r)[:13] for r in self.reservation_ids())
        return (tuple(books), resvs, self.a.hdr[H_NEXT_ORDER_SEQ], self.a.hdr[H_NEXT_RESV_SEQ],
                self.a.hdr[H_TRADE_SEQ])

    def trades_since(self, int64_t after_seq):
        """Trade prints with ``seq > after_seq`` still in the ring, oldest first."""
        cdef int64_t seq, last = self.a.hdr[H_TRADE_SEQ]
        cdef Trade* t
        first = max(after_seq + 1, last - self.a.cap_trades + 1, 1)
        out = []
        for seq in range(first, last + 1):
            t = &self.a.trades[(seq - 1) % self.a.cap_trades]
            out.append((t.seq, t.instr, t.side, t.price, t.qty, t.maker_order_id, t.taker_ref,
                        t.maker_account, t.taker_account, t.ts_ms))
        return out

    def stats(self):
        cdef int64_t* h = self.a.hdr
        return {
            "next_order_seq": h[H_NEXT_ORDER_SEQ], "next_resv_seq": h[H_NEXT_RESV_SEQ],
            "trade_seq": h[H_TRADE_SEQ], "free_orders": h[H_NFREE_ORDER],
            "free_levels": h[H_NFREE_LEVEL], "free_reservations": h[H_NFREE_RESV],
            "free_slices": h[H_NFREE_SLICE], "total_traded": h[H_TOTAL_TRADED],
            "batch_open_ms": h[H_BATCH_OPEN_MS], "freeze_ms": h[H_FREEZE_MS],
            "topk": h[H_TOPK],
        }

    @property
    def trade_seq(self):
        return self.a.hdr[H_TRADE_SEQ]

    @property
    def total_traded(self):
        return self.a.hdr[H_TOTAL_TRADED]

    @property
    def batch_open_ms(self):
        return self.a.hdr[H_BATCH_OPEN_MS]

    # -- dirty pages ------------------------------------------------------------------------
    def mark_dirty(self, int64_t offset, int64_t length):
        """Mark bytes written by the slab program (outside the core's own records)."""
        cdef int64_t p
        if length <= 0:
            return
        for p in range(offset >> PAGE_SHIFT, ((offset + length - 1) >> PAGE_SHIFT) + 1):
            self.a.dirty[p] = 1

    def dirty_pages(self):
        cdef int64_t p
        return [p for p in range(self.a.n_pages) if self.a.dirty[p]]

    def clear_dirty(self):
        memset(self.a.dirty, 0, self.a.n_pages)
