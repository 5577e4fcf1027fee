"""Genesis governance and bridge-relayer keys (plan P10): validated, sorted, hashed."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from executor.curvescript import compile_file
from executor.genesis import GenesisError, load_genesis, validate_genesis

EXAMPLES = Path(__file__).resolve().parents[2] / "executor" / "curvescript" / "examples"


@pytest.fixture(scope="module")
def compiled():
    return compile_file(EXAMPLES / "devnet.curve")


@pytest.fixture
def doc():
    return tomllib.loads((EXAMPLES / "devnet-genesis.toml").read_text())


def test_devnet_genesis_names_one_governance_and_one_bridge_key():
    g = load_genesis(EXAMPLES / "devnet.curve", EXAMPLES / "devnet-genesis.toml")
    assert len(g.governance) == 1 and len(g.bridge_relayers) == 1
    assert all(len(k) == 32 for k in g.governance + g.bridge_relayers)


@pytest.mark.parametrize("name", ["governance", "bridge_relayers"])
def test_bad_keys_are_reported_by_position(compiled, doc, name):
    doc[name] = ["not-a-key", doc[name][0], doc[name][0]]
    with pytest.raises(GenesisError) as info:
        validate_genesis(doc, compiled)
    assert f"{name}[0]" in info.value.keys and f"{name}[2]" in info.value.keys


def test_keys_change_the_genesis_hash(compiled, doc):
    base = validate_genesis(doc, compiled).genesis_hash
    doc["governance"] = []
    assert validate_genesis(doc, compiled).genesis_hash != base
