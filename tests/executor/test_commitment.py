"""Commit-reveal (plan M6, EXCHANGE §6): any change to a revealed field breaks the match."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from executor import commitment as cm

FIELDS = dict(route_id=7, instrument_id=1, side=1, qty_lots=10, limit_price_e6=60_000_000_000)
SALT = bytes(range(16))


def test_reveal_of_the_committed_fields_matches():
    c = cm.commitment(salt=SALT, **FIELDS)
    assert len(c) == 32
    assert cm.reveal_matches(c, salt=SALT, **FIELDS)


@settings(max_examples=80, deadline=None)
@given(field=st.sampled_from(sorted(FIELDS)), delta=st.integers(1, 1000))
def test_changing_any_field_breaks_the_match(field, delta):
    c = cm.commitment(salt=SALT, **FIELDS)
    changed = dict(FIELDS)
    changed[field] = (changed[field] + delta) % (2 if field == "side" else 2**32)
    if changed[field] == FIELDS[field]:
        changed[field] += 1
    assert not cm.reveal_matches(c, salt=SALT, **changed)


def test_changing_the_salt_breaks_the_match():
    c = cm.commitment(salt=SALT, **FIELDS)
    assert not cm.reveal_matches(c, salt=SALT[:-1] + b"\xff", **FIELDS)
    assert not cm.reveal_matches(c, salt=SALT + b"\x00", **FIELDS)


def test_short_salt_is_refused():
    with pytest.raises(ValueError, match="16"):
        cm.commitment(salt=b"x" * 15, **FIELDS)
    assert not cm.reveal_matches(b"\x00" * 32, salt=b"x" * 15, **FIELDS)


def test_out_of_range_field_is_a_mismatch_not_a_crash():
    c = cm.commitment(salt=SALT, **FIELDS)
    assert not cm.reveal_matches(c, salt=SALT, **{**FIELDS, "qty_lots": 2**64})
