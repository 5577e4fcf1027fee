"""Builders shared by matching-core and slab tests (imported as ``matching_support``)."""
from __future__ import annotations

from executor.matching.core import MatchingCore
from executor.matching.reference import ReferenceBook
from executor.slab.layout import compute_layout


def make_pair(*, instruments=2, orders=12, reservations=3, slices=8, trades=16, freeze_ms=0,
              topk=0):
    """A formatted core over a fresh arena and a reference model with the same capacities."""
    layout = compute_layout(instruments=instruments, accounts=1, orders=orders, positions=1,
                            reservations=reservations, slices=slices, trades=trades)
    buf = bytearray(layout.size)
    core = MatchingCore(buf, layout)
    core.format(freeze_ms, topk)
    ref = ReferenceBook(instruments=instruments, orders=orders, reservations=reservations,
                        slices=slices, trades=trades, freeze_ms=freeze_ms, topk=topk)
    return core, ref, buf, layout

