"""Typed key derivation (DESIGN §5: keys from typed seeds, namespaces in one place)."""
from __future__ import annotations

from hashlib import sha256

import pytest

from statetree import InvalidInput, NAMESPACES, derive_key
from statetree.keys import key_seed

USER, SLAB, ASSET = b"\x01" * 32, b"\x02" * 32, b"USDC"


def test_the_same_seed_always_gives_the_same_32_byte_key():
    a = derive_key("vault", USER, ASSET)
    assert a == derive_key("vault", bytearray(USER), ASSET)
    assert len(a) == 32 and a == sha256(key_seed("vault", USER, ASSET)).digest()


def test_namespaces_and_part_types_separate_keys():
    keys = {
        derive_key("vault", USER, ASSET),
        derive_key("escrow", USER, SLAB, ASSET),
        derive_key("portfolio", USER),
        derive_key("account", USER),
        derive_key("slab-page", SLAB, 1),
        derive_key("slab-page", SLAB, b"\x01"),
        derive_key("slab-page", SLAB, "1"),
        derive_key("slab-page", SLAB, -1),
        derive_key("hold", 1),
        derive_key("hold", 2),
    }
    assert len(keys) == 10


def test_part_boundaries_are_unambiguous():
    assert derive_key("vault", b"ab", b"c") != derive_key("vault", b"a", b"bc")
    assert derive_key("config", b"a", b"b") != derive_key("config", b"ab")
    assert derive_key("config") != derive_key("config", b"")


def test_design_namespaces_are_listed_with_their_parts():
    assert NAMESPACES["vault"] == ("user", "asset")
    assert NAMESPACES["escrow"] == ("user", "slab", "asset")
    assert NAMESPACES["cap"] == ("route_id", "slab")
    assert NAMESPACES["slab-page"] == ("slab", "index")
    for name in ("portfolio", "slab-meta", "registry", "hold", "oracle", "insurance", "fee-pool",
                 "account", "dedup", "meta"):
        assert name in NAMESPACES


@pytest.mark.parametrize("namespace, parts", [
    ("no-such-namespace", (USER,)),
    ("vault", (USER,)),
    ("vault", (USER, ASSET, b"extra")),
    ("vault", (USER, 1.5)),
    ("vault", (USER, True)),
    ("vault", (USER, None)),
    ("hold", (1 << 127,)),
    ("hold", (-(1 << 127) - 1,)),
])
def test_bad_seeds_are_refused(namespace, parts):
    with pytest.raises(InvalidInput):
        derive_key(namespace, *parts)


def test_integer_parts_cover_the_i128_range():
    assert derive_key("hold", (1 << 127) - 1) != derive_key("hold", -(1 << 127))
