"""Pure-Python reference model of the matching core — used only by tests (STYLE.md, seed 000 §5.4).

It is written for obviousness, not speed: lists of levels and FIFO lists of orders.  It
mirrors the core's observable semantics exactly (ids, free-list slot reuse, fills, trade
prints, pending promotion, reservations, the top-K freeze) so a differential test can run long
random streams through both and compare books, fills and prices.  Return conventions are the
core's: ``place``/``reserve`` return the new id, others ``0`` ok, ``1`` idempotent no-op, negative ``ErrorCode`` on rejection.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from executor.errors import ErrorCode as E

BUY, SELL = 0, 1
GTC, IOC, FOK, POST_ONLY = 0, 1, 2, 3
FLAG_PENDING, FLAG_CANCELLED = 1, 2
SLOT_BITS = 24
SLOT_MASK = (1 << SLOT_BITS) - 1
MAX_QTY = 1 << 38
MAX_PRICE = 1 << 56


@dataclass
class _Order:
    id: int
    account: int
    instr: int
    side: int
    price: int
    qty: int
    reserved: int = 0
    flags: int = 0
    created_ms: int = 0


@dataclass
class _Level:
    price: int
    orders: list = field(default_factory=list)  # order slots, FIFO


@dataclass
class _Resv:
    id: int
    account: int
    instr: int
    side: int
    limit_px: int
    qty_req: int
    held: int
    expiry_ms: int
    oracle_px: int
    created_ms: int
    worst_px: int
    epoch: int
    slices: list  # [(order_slot, order_id, qty, price)]


def _crosses(taker_side: int, level_px: int, limit_px: int) -> bool:
    return level_px <= limit_px if taker_side == BUY else level_px >= limit_px


class ReferenceBook:
    """Same constructor knobs as an arena layout; see the module docstring."""

    def __init__(self, *, instruments: int, orders: int, reservations: int, slices: int,
                 trades: int, freeze_ms: int = 0, topk: int = 0) -> None:
        self.n_instr = instruments
        self.cap_trades = trades
        self.orders: dict[int, _Order] = {}
        self.order_free = list(range(orders - 1, -1, -1))
        self.resvs: dict[int, _Resv] = {}
        self.resv_free = list(range(reservations - 1, -1, -1))
        self.free_slices = slices
        self.levels = [[[], []] for _ in range(instruments)]  # [instr][side] -> [_Level] best first
        self.pending = [[] for _ in range(instruments)]
        self.next_order_seq = 1
        self.next_resv_seq = 1
        self.trades: list[tuple] = []
        self.freeze_ms = freeze_ms
        self.topk = topk
        self.batch_open_ms = 0
        self.total_traded = 0
        self._fills: list[tuple] = []
        self.last_id = 0
        self.last_filled = 0
        self.last_rested = 0
        self._cancelled: list[int] = []

    # -- helpers -------------------------------------------------------------------------
    def _lookup(self, oid: int):
        if oid <= 0:
            return None
        slot = oid & SLOT_MASK
        o = self.orders.get(slot)
        return slot if o is not None and o.id == oid else None

    def _would_cross(self, instr: int, side: int, price: int) -> bool:
        contra = self.levels[instr][1 - side]
        return bool(contra) and _crosses(side, contra[0].price, price)

    def _level_for(self, instr: int, side: int, price: int) -> _Level:
        lv = self.levels[instr][side]
        for i, level in enumerate(lv):
            if level.price == price:
                return level
            if (side == BUY and level.price < price) or (side == SELL and level.price > price):
                new = _Level(price)
                lv.insert(i, new)
                return new
        new = _Level(price)
        lv.append(new)
        return new

    def _level_of(self, o: _Order) -> _Level:
        for level in self.levels[o.instr][o.side]:
            if level.price == o.price:
                return level
        raise AssertionError("live order without level")

    def _unlink(self, slot: int) -> None:
        o = self.orders[slot]
        if o.flags & FLAG_PENDING:
            self.pending[o.instr].remove(slot)
            return
        level = self._level_of(o)
        level.orders.remove(slot)
        if not level.orders:
            self.levels[o.instr][o.side].remove(level)

    def _free_order(self, slot: int) -> None:
        del self.orders[slot]
        self.order_free.append(slot)

    def _remove(self, slot: int) -> None:
        self._unlink(slot)
        self._free_order(slot)

    def _apply(self, instr: int, side: int, taker_ref: int, taker_account: int, now_ms: int,
               from_reserved: bool, fills: list) -> None:
        for slot, mid, macct, px, q, _created in fills:
            o = self.orders[slot]
            o.qty -= q
            if from_reserved:
                o.reserved -= q
            self.trades.append((len(self.trades) + 1, instr, side, px, q, mid, taker_ref, macct,
                                taker_account, now_ms))
            self.total_traded += q
            if o.qty == 0:
                self._remove(slot)
        self._fills = [(f[1], f[2], f[3], f[4], f[5]) for f in fills]

    def _plan_taker(self, instr, account, side, limit_px, qty, now_ms):
        left = qty
        fills = []
        frozen = (self.freeze_ms > 0 and self.batch_open_ms <= now_ms
                  < self.batch_open_ms + self.freeze_ms)
        for rank, level in enumerate(self.levels[instr][1 - side]):
            if left == 0 or not _crosses(side, level.price, limit_px):
                break
            stop = False
            for slot in level.orders:
                if left == 0:
                    break
                o = self.orders[slot]
                avail = o.qty - o.reserved
                if avail > 0:
                    if o.account == account:
                        return -E.SELF_TRADE, []
                    take = min(avail, left)
                    fills.append((slot, o.id, o.account, level.price, take, o.created_ms))
                    left -= take
                if frozen and rank < self.topk and o.reserved > 0:
                    stop = True
                    break
            if stop:
                break
        return qty - left, fills

    # -- operations ------------------------------------------------------------------------
    def _validate(self, instr, side, qty, price):
        if not 0 <= instr < self.n_instr:
            return -E.UNKNOWN_INSTRUMENT
        if side not in (BUY, SELL):
            return -E.BAD_SIDE
        return 0

    def place(self, instr, account, side, price, qty, tif=GTC, pending=False, now_ms=0):
        self.last_id = self.last_filled = self.last_rested = 0
        self._fills = []
        rc = self._validate(instr, side, qty, price)
        if rc:
            return rc
        if tif not in (GTC, IOC, FOK, POST_ONLY):
            return -E.BAD_TIME_IN_FORCE
        if qty <= 0:
            return -E.QTY_NOT_POSITIVE
        if price <= 0:
            return -E.PRICE_NOT_POSITIVE
        if qty > MAX_QTY or price > MAX_PRICE:
            return -E.OVERFLOW
        filled, fills = 0, []
        if tif == POST_ONLY:
            if self._would_cross(instr, side, price):
                return -E.POST_ONLY_WOULD_CROSS
        else:
            filled, fills = self._plan_taker(instr, account, side, price, qty, now_ms)
            if filled < 0:
                return filled
            if tif == FOK and filled < qty:
                self._fills = [(f[1], f[2], f[3], f[4], f[5]) for f in fills]
                return -E.FOK_UNFILLABLE
        resting_tif = tif in (GTC, POST_ONLY)
        rest = resting_tif and filled < qty
        if resting_tif and not self.order_free:
            return -E.POOL_FULL_ORDERS
        seq = self.next_order_seq
        self.next_order_seq += 1
        slot = self.order_free.pop() if resting_tif else None
        oid = (seq << SLOT_BITS) | (slot if slot is not None else SLOT_MASK)
        self.last_id = oid
        if slot is not None:
            self.orders[slot] = _Order(oid, account, instr, side, price, 0, flags=FLAG_PENDING)
            # placeholder so the slot is "taken" while fills free other slots
        self._apply(instr, side, oid, account, now_ms, False, fills)
        self.last_filled = filled
        if slot is None:
            return oid
        if not rest or (not pending and self._would_cross(instr, side, price)):
            self._free_order(slot)
            return oid
        o = _Order(oid, account, instr, side, price, qty - filled,
                   flags=FLAG_PENDING if pending else 0, created_ms=now_ms)
        self.orders[slot] = o
        self.last_rested = o.qty
        if pending:
            self.pending[instr].append(slot)
        else:
            self._level_for(instr, side, price).orders.append(slot)
        return oid

    def cancel(self, oid, account):
        slot = self._lookup(oid)
        if slot is None:
            return 1 if oid > 0 and (oid >> SLOT_BITS) < self.next_order_seq else -E.UNKNOWN_ORDER
        o = self.orders[slot]
        if o.account != account:
            return -E.NOT_OWNER
        if o.flags & FLAG_CANCELLED:
            return 1
        if o.reserved > 0:
            o.qty = o.reserved
            o.flags |= FLAG_CANCELLED
            return 0
        self._remove(slot)
        return 0

    def modify(self, oid, account, new_price, new_qty, now_ms=0):
        slot = self._lookup(oid)
        if slot is None or self.orders[slot].flags & FLAG_CANCELLED:
            return -E.UNKNOWN_ORDER
        o = self.orders[slot]
        if o.account != account:
            return -E.NOT_OWNER
        if new_qty <= 0:
            return -E.QTY_NOT_POSITIVE
        if new_price <= 0:
            return -E.PRICE_NOT_POSITIVE
        if new_qty > MAX_QTY or new_price > MAX_PRICE:
            return -E.OVERFLOW
        if new_price == o.price and new_qty <= o.qty:
            if new_qty < o.reserved:
                return -E.MODIFY_BELOW_RESERVED
            o.qty = new_qty
            return 0
        if o.reserved > 0:
            return -E.ORDER_RESERVED
        if new_price != o.price and self._would_cross(o.instr, o.side, new_price):
            return -E.POST_ONLY_WOULD_CROSS
        self._unlink(slot)
        o.price, o.qty, o.created_ms = new_price, new_qty, now_ms
        if o.flags & FLAG_PENDING:
            self.pending[o.instr].append(slot)
        else:
            self._level_for(o.instr, o.side, new_price).orders.append(slot)
        return 0

    def _plan_reserve(self, instr, account, side, limit_px, qty):
        left = qty
        fills = []
        for level in self.levels[instr][1 - side]:
            if left == 0 or not _crosses(side, level.price, limit_px):
                break
            for slot in level.orders:
                if left == 0:
                    break
                o = self.orders[slot]
                avail = o.qty - o.reserved
                if avail > 0:
                    if o.account == account:
                        return -E.SELF_TRADE, []
                    take = min(avail, left)
                    fills.append((slot, o.id, o.account, level.price, take, o.created_ms))
                    left -= take
        return qty - left, fills

    def reserve(self, instr, account, side, qty, limit_px, now_ms=0, expiry_ms=0, oracle_px=0,
                epoch=0):
        self.last_id = self.last_filled = 0
        self._fills = []
        rc = self._validate(instr, side, qty, limit_px)
        if rc:
            return rc
        if qty <= 0:
            return -E.QTY_NOT_POSITIVE
        if limit_px <= 0:
            return -E.PRICE_NOT_POSITIVE
        if qty > MAX_QTY or limit_px > MAX_PRICE:
            return -E.OVERFLOW
        held, fills = self._plan_reserve(instr, account, side, limit_px, qty)
        if held < 0:
            return held
        self._fills = [(f[1], f[2], f[3], f[4], f[5]) for f in fills]
        if held == 0:
            return -E.NO_LIQUIDITY
        if not self.resv_free:
            return -E.POOL_FULL_RESERVATIONS
        if self.free_slices < len(fills):
            return -E.POOL_FULL_SLICES
        self.last_filled = held
        seq = self.next_resv_seq
        self.next_resv_seq += 1
        slot = self.resv_free.pop()
        rid = (seq << SLOT_BITS) | slot
        slices = []
        for oslot, oid, _acct, px, q, _c in fills:
            self.orders[oslot].reserved += q
            slices.append((oslot, oid, q, px))
        self.free_slices -= len(fills)
        self.resvs[slot] = _Resv(rid, account, instr, side, limit_px, qty, held, expiry_ms,
                                 oracle_px, now_ms, fills[-1][3], epoch, slices)
        self.last_id = rid
        return rid

    def _resolve(self, rid):
        if rid > 0:
            r = self.resvs.get(rid & SLOT_MASK)
            if r is not None and r.id == rid:
                return rid & SLOT_MASK, False
        return None, rid > 0 and (rid >> SLOT_BITS) < self.next_resv_seq

    def commit(self, rid, now_ms=0):
        self._fills = []
        self.last_filled = 0
        slot, closed = self._resolve(rid)
        if slot is None:
            return -E.RESERVATION_CLOSED if closed else -E.UNKNOWN_RESERVATION
        r = self.resvs.pop(slot)
        fills = [(oslot, oid, self.orders[oslot].account, px, q, self.orders[oslot].created_ms)
                 for oslot, oid, q, px in r.slices]
        self._apply(r.instr, r.side, rid, r.account, now_ms, True, fills)
        self.last_filled = r.held
        self.free_slices += len(r.slices)
        self.resv_free.append(slot)
        return 0

    def release(self, rid):
        slot, closed = self._resolve(rid)
        if slot is None:
            return 1 if closed else -E.UNKNOWN_RESERVATION
        r = self.resvs.pop(slot)
        for oslot, _oid, q, _px in r.slices:
            o = self.orders[oslot]
            o.reserved -= q
            if o.flags & FLAG_CANCELLED:
                o.qty -= q
            self.free_slices += 1
            if o.qty == 0:
                self._remove(oslot)
        self.resv_free.append(slot)
        return 0

    def batch_open(self, now_ms):
        promoted = 0
        self._cancelled = []
        for instr in range(self.n_instr):
            queue, self.pending[instr] = self.pending[instr], []
            for slot in queue:
                o = self.orders[slot]
                if self._would_cross(instr, o.side, o.price):
                    self._cancelled.append(o.id)
                    self._free_order(slot)
                else:
                    o.flags &= ~FLAG_PENDING
                    self._level_for(instr, o.side, o.price).orders.append(slot)
                    promoted += 1
        self.batch_open_ms = now_ms
        return promoted

    # -- reads --------------------------------------------------------------------------------
    def fills(self):
        return list(self._fills)

    def cancelled_ids(self):
        return list(self._cancelled)

    def best(self, instr, side):
        for level in self.levels[instr][side]:
            if sum(self.orders[s].qty - self.orders[s].reserved for s in level.orders) > 0:
                return level.price
        return None

    def depth(self, instr, side, n):
        out = []
        for level in self.levels[instr][side]:
            free = sum(self.orders[s].qty - self.orders[s].reserved for s in level.orders)
            if free > 0:
                out.append((level.price, free))
            if len(out) == n:
                break
        return out

    def reservation_ids(self):
        return sorted(r.id for r in self.resvs.values())

    def reservation(self, rid):
        slot, _ = self._resolve(rid)
        if slot is None:
            return None
        r = self.resvs[slot]
        return (r.id, r.account, r.instr, r.side, r.limit_px, r.qty_req, r.held, r.expiry_ms,
                r.oracle_px, r.created_ms, r.worst_px, r.epoch,
                [(oid, q, px) for _s, oid, q, px in r.slices])

    def trades_since(self, after_seq):
        first = max(after_seq + 1, len(self.trades) - self.cap_trades + 1, 1)
        return self.trades[first - 1:]

    def snapshot(self):
        books = []
        for instr in range(self.n_instr):
            sides = []
            for side in (BUY, SELL):
                levels = []
                for level in self.levels[instr][side]:
                    orders = tuple((self.orders[s].id, self.orders[s].account, self.orders[s].qty,
                                    self.orders[s].reserved, self.orders[s].flags)
                                   for s in level.orders)
                    levels.append((level.price, sum(o[2] for o in orders),
                                   sum(o[3] for o in orders), orders))
                sides.append(tuple(levels))
            pend = tuple((self.orders[s].id, self.orders[s].account, self.orders[s].side,
                          self.orders[s].price, self.orders[s].qty) for s in self.pending[instr])
            books.append((tuple(sides), pend))
        resvs = tuple(self.reservation(r) for r in self.reservation_ids())
        return (tuple(books), resvs, self.next_order_seq, self.next_resv_seq, len(self.trades))
