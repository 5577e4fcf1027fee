"""Node keys: Solana JSON keypair format, 0600, refusal of unsafe or broken files (issue 2)."""
from __future__ import annotations

import json
import os
import stat

import pytest
from solders.keypair import Keypair

from node import keys


def test_written_key_is_private_and_solana_compatible(tmp_path):
    key = keys.NodeKey.generate()
    path = tmp_path / "sub" / "k.json"
    keys.write(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sol = Keypair.from_json(path.read_text())
    assert bytes(sol.pubkey()) == key.public
    assert keys.load(path) == key
    assert not list(path.parent.glob(".*tmp*")), "temporary file left behind"


def test_signatures_verify_with_solders(tmp_path):
    key = keys.NodeKey.generate()
    sig = key.sign(b"hello")
    assert key.keypair().sign_message(b"hello").to_bytes() == sig


def test_refuses_to_overwrite_without_force(tmp_path):
    path = tmp_path / "k.json"
    first = keys.NodeKey.generate()
    keys.write(path, first)
    with pytest.raises(keys.KeyFileError, match="refusing to overwrite"):
        keys.write(path, keys.NodeKey.generate())
    assert keys.load(path) == first
    keys.write(path, second := keys.NodeKey.generate(), overwrite=True)
    assert keys.load(path) == second


def test_refuses_world_readable_key(tmp_path):
    path = tmp_path / "k.json"
    keys.write(path, keys.NodeKey.generate())
    os.chmod(path, 0o644)
    with pytest.raises(keys.KeyFileError, match="chmod 600"):
        keys.load(path)
    keys.load(path, require_private=False)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("not json", "not a JSON keypair"),
        ("[1, 2, 3]", "64 bytes"),
        (json.dumps(list(range(64))), "does not match"),
        (json.dumps([300] * 64), "0..255"),
        ('{"a": 1}', "64 bytes"),
    ],
)
def test_invalid_keypair_file_is_rejected(tmp_path, content, fragment):
    path = tmp_path / "k.json"
    path.write_text(content)
    os.chmod(path, 0o600)
    with pytest.raises(keys.KeyFileError, match=fragment):
        keys.load(path)


def test_missing_key_file_says_how_to_create_one(tmp_path):
    with pytest.raises(keys.KeyFileError, match="assetl2 keys new"):
        keys.load(tmp_path / "absent.json")
