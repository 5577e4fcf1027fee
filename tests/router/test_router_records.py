"""Record codec: the one-``struct`` encoding of fixed-width records is byte-identical to the
field-by-field walk it replaces (the state root depends on these bytes), and ``evolve`` is
``dataclasses.replace``."""
from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from executor.router import records as R

_KIND = {
    "u64": st.integers(0, (1 << 64) - 1), "i64": st.integers(-(1 << 63), (1 << 63) - 1),
    "u8": st.integers(0, 255), "bool": st.booleans(), "u32": st.integers(0, (1 << 32) - 1),
    "b32": st.binary(min_size=32, max_size=32), "i128": st.integers(-(1 << 127), (1 << 127) - 1),
}
FLAT = [getattr(R, n) for n in R.__all__
        if isinstance(getattr(R, n), type) and hasattr(getattr(R, n), "SCHEMA") and R._flat(getattr(R, n))]


def _record(cls):
    return st.builds(cls, **{name: _KIND[kind] for name, kind in R._layout(cls)})


def _walk(rec) -> bytes:
    out = bytearray()
    rec._enc(out)
    return bytes(out)


def test_every_fixed_width_record_has_a_flat_plan():
    assert {c.__name__ for c in FLAT} >= {"Vault", "Escrow", "Cap", "Leg", "Counters", "SlabCash",
                                          "InstrumentState", "RegistryEntry", "ExpiryEntry"}


@pytest.mark.parametrize("cls", FLAT, ids=lambda c: c.__name__)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_flat_encoding_is_the_field_walk(cls, data):
    rec = data.draw(_record(cls))
    raw = rec.encode()
    assert raw == _walk(rec)
    assert cls.decode(raw) == rec


@pytest.mark.parametrize("cls", FLAT, ids=lambda c: c.__name__)
def test_flat_encoding_refuses_what_the_walk_refuses(cls):
    lay = R._layout(cls)
    for i, (name, kind) in enumerate(lay):
        if kind == "b32":
            bad = cls(**{n: (b"\x01" * 31 if j == i else (bytes(32) if k == "b32" else 0))
                         for j, (n, k) in enumerate(lay)})
            with pytest.raises(ValueError):
                bad.encode()
            with pytest.raises(ValueError):
                _walk(bad)


def test_evolve_is_dataclasses_replace():
    c = R.Counters(next_user_no=3, next_hold_id=9)
    assert c.evolve(next_hold_id=10) == dataclasses.replace(c, next_hold_id=10)
    assert c.next_hold_id == 9
    cap = R.Cap(user=bytes(32), slab=1, asset=0, amount_max=5, remaining=5, expiry_ms=7, nonce=1,
                burned=False)
    assert cap.evolve(burned=True, remaining=0) == dataclasses.replace(cap, burned=True, remaining=0)
    with pytest.raises(TypeError):
        c.evolve(no_such_field=1)
