"""Fixed layout of a slab's arena (EXCHANGE §3, seed 000 §3.1 / §3.4).

The arena is one contiguous byte region of at most ``MAX_ARENA_BYTES``.  Every record is a
fixed-size array of little-endian signed 64-bit words (no padding questions, no pointers:
links are slot indices, ``-1`` = none), so the bytes *are* the state: persisting the arena and
rebuilding from it is bit-for-bit.  Sections, in order (each starts 64-byte aligned):

====================  ===========================  ==========================================
section               record (words x count)       owner
====================  ===========================  ==========================================
core header           64 x 1                       matching core (ids, free lists, freeze)
slab header           64 x 1                       slab program (epoch, fee pool, counters)
books                 8 x instruments              matching core (level heads, pending FIFO)
instruments           16 x instruments             slab program (oracle, funding index)
accounts              8 x accounts                 slab program
positions             16 x positions               slab program (incl. aggressor ledger)
levels                9 x orders                   matching core (a level holds >= 1 order)
orders                16 x orders                  matching core
reservations          16 x reservations            matching core
slices                8 x slices                   matching core
trades                10 x trades                  matching core (ring of trade prints)
====================  ===========================  ==========================================

The price-level pool has as many slots as the order pool (every level holds at least one
order, so it can never fill before the order pool does) and the aggressor ledger lives inside
the position record (one ledger entry per account and instrument), which is why neither has a
capacity of its own.  The total is rounded up to whole ``PAGE_SIZE`` pages, the unit in which
the state tree stores and rewrites the arena (DESIGN §5).

This module is pure Python on purpose: the CurveScript type checker imports ``arena_size`` to
reject configurations over 10 MB without needing the compiled core.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "MAX_ARENA_BYTES",
    "PAGE_SIZE",
    "MAX_INSTRUMENTS",
    "MAX_POOL_SLOTS",
    "WORD",
    "CORE_HEADER_WORDS",
    "SLAB_HEADER_WORDS",
    "BOOK_WORDS",
    "INSTRUMENT_WORDS",
    "ACCOUNT_WORDS",
    "POSITION_WORDS",
    "LEVEL_WORDS",
    "ORDER_WORDS",
    "RESERVATION_WORDS",
    "SLICE_WORDS",
    "TRADE_WORDS",
    "Layout",
    "compute_layout",
    "arena_size",
]

MAX_ARENA_BYTES = 10 * 1024 * 1024
PAGE_SIZE = 4096
MAX_INSTRUMENTS = 32
# Order and reservation ids carry their slot in the low 24 bits (O(1) lookup without a hash).
MAX_POOL_SLOTS = (1 << 24) - 1
WORD = 8
ALIGN = 64

CORE_HEADER_WORDS = 64
SLAB_HEADER_WORDS = 64
BOOK_WORDS = 8
INSTRUMENT_WORDS = 16
ACCOUNT_WORDS = 8
POSITION_WORDS = 16
LEVEL_WORDS = 9
ORDER_WORDS = 16
RESERVATION_WORDS = 16
SLICE_WORDS = 8
TRADE_WORDS = 10


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


@dataclass(frozen=True)
class Layout:
    """Byte offsets and capacities of every section of one slab arena."""

    instruments: int
    accounts: int
    orders: int
    positions: int
    reservations: int
    slices: int
    trades: int
    core_header: int
    slab_header: int
    books: int
    instrument_records: int
    account_records: int
    position_records: int
    levels: int
    order_records: int
    reservation_records: int
    slice_records: int
    trade_records: int
    end: int
    size: int

    @property
    def levels_capacity(self) -> int:
        return self.orders


def compute_layout(
    *,
    instruments: int,
    accounts: int,
    orders: int,
    positions: int,
    reservations: int,
    slices: int,
    trades: int,
) -> Layout:
    """Offsets of every section for the given capacities (see the module docstring).

    Raises ``ValueError`` for capacities outside ``1..`` (instruments ``1..32``, id-carrying
    pools below 2**24).  The size limit is *not* checked here, so a type checker can report by
    how much a configuration is over; ``Slab`` refuses arenas over ``MAX_ARENA_BYTES``.
    """
    caps = dict(
        instruments=instruments,
        accounts=accounts,
        orders=orders,
        positions=positions,
        reservations=reservations,
        slices=slices,
        trades=trades,
    )
    for name, value in caps.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"capacity {name} must be a positive integer, got {value!r}")
    if instruments > MAX_INSTRUMENTS:
        raise ValueError(f"at most {MAX_INSTRUMENTS} instruments per slab, got {instruments}")
    for name in ("orders", "reservations"):
        if caps[name] > MAX_POOL_SLOTS:
            raise ValueError(f"capacity {name} must be below 2**24, got {caps[name]}")
    off = 0
    sections = []
    for words, count in (
        (CORE_HEADER_WORDS, 1),
        (SLAB_HEADER_WORDS, 1),
        (BOOK_WORDS, instruments),
        (INSTRUMENT_WORDS, instruments),
        (ACCOUNT_WORDS, accounts),
        (POSITION_WORDS, positions),
        (LEVEL_WORDS, orders),
        (ORDER_WORDS, orders),
        (RESERVATION_WORDS, reservations),
        (SLICE_WORDS, slices),
        (TRADE_WORDS, trades),
    ):
        off = _align(off, ALIGN)
        sections.append(off)
        off += words * WORD * count
    end = off
    return Layout(**caps, core_header=sections[0], slab_header=sections[1], books=sections[2],
                  instrument_records=sections[3], account_records=sections[4],
                  position_records=sections[5], levels=sections[6], order_records=sections[7],
                  reservation_records=sections[8], slice_records=sections[9],
                  trade_records=sections[10], end=end, size=_align(end, PAGE_SIZE))


def arena_size(
    *,
    instruments: int,
    accounts: int,
    orders: int,
    positions: int,
    reservations: int,
    slices: int,
    trades: int,
) -> int:
    """Bytes of the arena for these capacities (whole pages); compare with ``MAX_ARENA_BYTES``."""
    return compute_layout(
        instruments=instruments,
        accounts=accounts,
        orders=orders,
        positions=positions,
        reservations=reservations,
        slices=slices,
        trades=trades,
    ).size
