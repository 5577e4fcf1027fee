"""Hand-written core scenarios (plan S8, M4, M5) — each also checked against the reference."""
from __future__ import annotations

from matching_support import make_pair

BUY, SELL = 0, 1


def _both(core, ref, name, *args):
    a, b = getattr(core, name)(*args), getattr(ref, name)(*args)
    assert a == b, (name, args, a, b)
    assert core.snapshot() == ref.snapshot()
    return a


def test_reserve_after_release_starts_again_at_the_front_of_the_level():
    core, ref, _b, _l = make_pair(instruments=1, orders=16, reservations=4, slices=16)
    a = _both(core, ref, "place", 0, 1, SELL, 100, 5)
    _both(core, ref, "place", 0, 2, SELL, 100, 5)
    _both(core, ref, "place", 0, 3, SELL, 100, 5)
    h = _both(core, ref, "reserve", 0, 9, BUY, 10, 100)      # A and B fully held
    assert core.fills() == ref.fills() and [f[0] for f in core.fills()][0] == a
    h2 = _both(core, ref, "reserve", 0, 8, BUY, 2, 100)      # skips A, B: takes C
    assert core.reservation(h2)[12][0][0] != a
    _both(core, ref, "release", h)
    h3 = _both(core, ref, "reserve", 0, 7, BUY, 3, 100)      # A is free again: front first
    assert core.reservation(h3)[12] == [(a, 3, 100)]


def test_a_fully_held_level_offers_orders_appended_later():
    core, ref, _b, _l = make_pair(instruments=1, orders=16, reservations=4, slices=16)
    _both(core, ref, "place", 0, 1, SELL, 100, 5)
    _both(core, ref, "place", 0, 2, SELL, 100, 5)
    _both(core, ref, "reserve", 0, 9, BUY, 10, 100)          # the whole level is held
    assert core.depth(0, SELL, 5) == []
    assert _both(core, ref, "reserve", 0, 8, BUY, 1, 100) < 0   # NO_LIQUIDITY
    d = _both(core, ref, "place", 0, 3, SELL, 100, 4)
    h = _both(core, ref, "reserve", 0, 8, BUY, 4, 100)
    assert core.reservation(h)[12] == [(d, 4, 100)]


def test_cancel_and_commit_inside_a_held_level_keep_the_walk_exact():
    core, ref, _b, _l = make_pair(instruments=1, orders=16, reservations=4, slices=16)
    a = _both(core, ref, "place", 0, 1, SELL, 100, 5)
    b = _both(core, ref, "place", 0, 2, SELL, 100, 5)
    h = _both(core, ref, "reserve", 0, 9, BUY, 7, 100)       # A full, B 2 of 5
    _both(core, ref, "cancel", a, 1)                          # A keeps its held 5
    _both(core, ref, "commit", h, 5)                          # A gone, B 3 free
    h2 = _both(core, ref, "reserve", 0, 8, BUY, 5, 100)
    assert core.reservation(h2)[12] == [(b, 3, 100)]
    assert core.order(a) is None
