# cython: language_level=3
"""Typed records of the matching core, laid over the slab arena (seed 000 §3, EXCHANGE §3).

Every record is an array of int64 words (see executor/slab/layout.py), links are slot indices
with -1 meaning none, and each pool has an index-based LIFO free list, so the arena holds the
whole book and persisting it is copying bytes.
"""
from libc.stdint cimport int64_t, uint8_t

# Sides and time-in-force (stable wire values).
cdef enum:
    BUY = 0
    SELL = 1
    TIF_GTC = 0
    TIF_IOC = 1
    TIF_FOK = 2
    TIF_POST_ONLY = 3

# Order flags.
cdef enum:
    OF_PENDING = 1
    OF_CANCELLED = 2

# Error codes: the same numbers as executor.errors.ErrorCode, returned negated.
cdef enum:
    E_OVERFLOW = 3
    E_UNKNOWN_INSTRUMENT = 1001
    E_QTY_NOT_POSITIVE = 1004
    E_PRICE_NOT_POSITIVE = 1005
    E_UNKNOWN_ORDER = 1008
    E_UNKNOWN_RESERVATION = 1009
    E_RESERVATION_CLOSED = 1010
    E_SELF_TRADE = 1011
    E_FOK_UNFILLABLE = 1012
    E_POST_ONLY_WOULD_CROSS = 1013
    E_POOL_FULL_ORDERS = 1016
    E_POOL_FULL_RESERVATIONS = 1017
    E_POOL_FULL_SLICES = 1018
    E_POOL_FULL_LEVELS = 1021
    E_NO_LIQUIDITY = 1022
    E_MODIFY_BELOW_RESERVED = 1023
    E_ORDER_RESERVED = 1024
    E_NOT_OWNER = 1030
    E_BAD_SIDE = 1036
    E_BAD_TIF = 1037
    E_INTERNAL = 1

# Core header word indices.
cdef enum:
    H_MAGIC = 0
    H_VERSION = 1
    H_N_INSTR = 2
    H_CAP_ORDERS = 3
    H_CAP_RESV = 4
    H_CAP_SLICES = 5
    H_CAP_TRADES = 6
    H_NEXT_ORDER_SEQ = 7
    H_NEXT_RESV_SEQ = 8
    H_TRADE_SEQ = 9
    H_FREE_ORDER = 10
    H_FREE_LEVEL = 11
    H_FREE_RESV = 12
    H_FREE_SLICE = 13
    H_NFREE_ORDER = 14
    H_NFREE_LEVEL = 15
    H_NFREE_RESV = 16
    H_NFREE_SLICE = 17
    H_BATCH_OPEN_MS = 18
    H_FREEZE_MS = 19
    H_TOPK = 20
    H_TOTAL_TRADED = 21

ctypedef struct Book:            # 8 words
    int64_t head[2]              # best level per resting side (BUY bids, SELL asks)
    int64_t pend_head
    int64_t pend_tail
    int64_t n_pending
    int64_t n_live
    int64_t pad0
    int64_t pad1

ctypedef struct Level:           # 9 words
    int64_t price
    int64_t total                # sum of qty of its orders (includes reserved)
    int64_t reserved             # sum of reserved_qty of its orders
    int64_t head
    int64_t tail
    int64_t prev                 # towards better prices
    int64_t next                 # towards worse prices; free-list link when free
    int64_t book_side            # instrument * 2 + side
    int64_t first_free           # reserve walk hint: every order before it is fully held;
                                 # -1 = start at head, -2 = no order has free quantity

ctypedef struct Order:           # 16 words
    int64_t id                   # (seq << 24) | slot; 0 = free slot
    int64_t account
    int64_t instr
    int64_t side
    int64_t price
    int64_t qty                  # open quantity, reserved part included
    int64_t reserved             # reserved_qty <= qty (plan S8)
    int64_t flags
    int64_t created_ms
    int64_t level                # -1 while PENDING
    int64_t prev
    int64_t next                 # FIFO link; free-list link when free
    int64_t orig_qty
    int64_t tif
    int64_t pad0
    int64_t pad1

ctypedef struct Resv:            # 16 words
    int64_t id                   # (seq << 24) | slot; 0 = free
    int64_t account
    int64_t instr
    int64_t side                 # taker side
    int64_t limit_px
    int64_t qty_req
    int64_t held
    int64_t slice_head
    int64_t slice_tail
    int64_t n_slices
    int64_t expiry_ms
    int64_t oracle_px
    int64_t created_ms
    int64_t worst_px
    int64_t next                 # free-list link
    int64_t epoch

ctypedef struct Slice:           # 8 words
    int64_t resv
    int64_t order_slot
    int64_t order_id
    int64_t qty
    int64_t price                # maker price captured at reserve (S9)
    int64_t next
    int64_t pad0
    int64_t pad1

ctypedef struct Trade:           # 10 words
    int64_t seq
    int64_t instr
    int64_t side                 # taker side
    int64_t price
    int64_t qty
    int64_t maker_order_id
    int64_t taker_ref            # taker order id, or reservation id for a commit
    int64_t maker_account
    int64_t taker_account
    int64_t ts_ms

ctypedef struct Fill:            # scratch, outside the arena
    int64_t maker_slot
    int64_t maker_id
    int64_t maker_account
    int64_t price
    int64_t qty
    int64_t maker_created_ms

ctypedef struct Arena:
    char* base
    int64_t size
    int64_t* hdr
    Book* books
    Level* levels
    Order* orders
    Resv* resvs
    Slice* slices
    Trade* trades
    int64_t n_instr
    int64_t cap_orders
    int64_t cap_resv
    int64_t cap_slices
    int64_t cap_trades
    uint8_t* dirty
    int64_t n_pages
    Fill* fills
    int64_t n_fills
    int64_t* ids                 # scratch: ids cancelled at promotion
    int64_t n_ids
    int64_t last_id
    int64_t last_filled
    int64_t last_rested


# Shared with the slab's C kernel (executor/slab/ledger.pyx).
cdef int64_t c_reserve(Arena* a, int64_t instr, int64_t account, int64_t side, int64_t qty,
                       int64_t limit_px, int64_t now_ms, int64_t expiry_ms, int64_t oracle_px,
                       int64_t epoch, bint apply) noexcept nogil
cdef int64_t c_commit(Arena* a, int64_t rid, int64_t now_ms) noexcept nogil


cdef class MatchingCore:
    cdef Arena a
    cdef object _buf
    cdef object _view
