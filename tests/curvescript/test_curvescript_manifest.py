"""Program manifest (DESIGN §6): code hash framing, transcript, determinism, registry match."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import textwrap

import pytest

from executor.manifest import (CODE_HASH_DOMAIN, Manifest, build_manifest, code_hash, manifest_matches, proof_hash,
                               source_files, transcript_text)

from cs_helpers import REPO, compile_stub


def _tree(tmp_path, files: dict[str, bytes]):
    root = tmp_path / "executor"
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content)
    return root


def test_code_hash_walks_sorted_sources_and_skips_tests_and_caches(tmp_path):
    root = _tree(tmp_path, {
        "__init__.py": b"", "router.py": b"r", "slab/core.pyx": b"c", "slab/core.pxd": b"d",
        "slab/tests/test_x.py": b"t", "__pycache__/router.cpython-311.pyc": b"x", "notes.txt": b"n",
        ".hidden/evil.py": b"e", "slab/core.c": b"generated", "tests/test_y.py": b"t",
    })
    assert [rel for rel, _ in source_files(root)] == [
        "executor/__init__.py", "executor/router.py", "executor/slab/core.pxd", "executor/slab/core.pyx"]


def test_code_hash_frames_each_file_with_path_and_length(tmp_path):
    root = _tree(tmp_path, {"a.py": b"xy"})
    expected = hashlib.sha256(CODE_HASH_DOMAIN + (13).to_bytes(4, "big") + b"executor/a.py"
                              + (2).to_bytes(8, "big") + b"xy").digest()
    assert code_hash(root) == expected


def test_moving_bytes_between_files_or_renaming_changes_the_code_hash(tmp_path):
    a = code_hash(_tree(tmp_path / "1", {"a.py": b"ab", "b.py": b""}))
    b = code_hash(_tree(tmp_path / "2", {"a.py": b"a", "b.py": b"b"}))
    c = code_hash(_tree(tmp_path / "3", {"a.py": b"ab", "c.py": b""}))
    assert len({a, b, c}) == 3


def test_code_hash_ignores_line_ending_style_and_untracked_caches(tmp_path):
    lf = code_hash(_tree(tmp_path / "lf", {"a.py": b"x = 1\ny = 2\n"}))
    crlf_root = _tree(tmp_path / "crlf", {"a.py": b"x = 1\r\ny = 2\r\n", "__pycache__/a.pyc": b"junk"})
    assert code_hash(crlf_root) == lf
    (crlf_root / "a.py").write_bytes(b"x = 1\ny = 3\n")
    assert code_hash(crlf_root) != lf


def test_transcript_is_canonical_text_that_the_proof_hash_covers(devnet_compiled):
    text = transcript_text(devnet_compiled)
    lines = text.splitlines()
    assert lines[0] == "assetl2 verification transcript v1"
    assert f"config-fingerprint {devnet_compiled.fingerprint.hex()}" in lines
    checks = [ln for ln in lines if ln.startswith("PASS ")]
    assert checks == sorted(checks) and len(checks) == int(lines[lines.index(checks[0]) - 1].split()[1])
    assert lines[-1] == "end" and text.endswith("\n") and text.isascii()
    assert any("CS403" in ln and "book:ETH-A" in ln for ln in checks)   # batch window agreement is recorded
    assert any("CS600" in ln for ln in checks)                          # the arena bound is recorded
    assert proof_hash(text) == hashlib.sha256(text.encode()).digest()
    assert "zero-knowledge" not in text and "zk" not in text.lower().split()


def test_extra_invariant_checks_are_merged_sorted(devnet_compiled):
    a = transcript_text(devnet_compiled, ["PASS INV conservation: 1000 random ops", "PASS INV cap: ok"])
    b = transcript_text(devnet_compiled, ["PASS INV cap: ok", "PASS INV conservation: 1000 random ops"])
    assert a == b != transcript_text(devnet_compiled)
    with pytest.raises(ValueError):
        transcript_text(devnet_compiled, ["PASS two\nlines"])


def test_manifest_json_round_trip_and_self_consistency(devnet_compiled, frozen_executor):
    m = build_manifest(devnet_compiled, executor_dir=frozen_executor)
    assert Manifest.from_json(m.to_json()) == m
    assert m.proof_hash == proof_hash(m.transcript) and m.config_fingerprint == devnet_compiled.fingerprint
    doc = json.loads(m.to_json())
    doc["transcript"] = doc["transcript"].replace("PASS CS500", "PASS CS599")
    with pytest.raises(ValueError, match="proof_hash"):
        Manifest.from_json(json.dumps(doc))


def test_manifest_matches_running_code(devnet_compiled, frozen_executor):
    registered = build_manifest(devnet_compiled, executor_dir=frozen_executor)
    running = build_manifest(devnet_compiled, executor_dir=frozen_executor)
    verdict = manifest_matches(registered, running)
    assert verdict and verdict.ok
    ok, reason = verdict
    assert ok is True and "match" in reason


def test_manifest_mismatch_names_what_differs(devnet_compiled, devnet_source, tmp_path, frozen_executor):
    registered = build_manifest(devnet_compiled, executor_dir=frozen_executor)
    other_code = build_manifest(devnet_compiled, executor_dir=_tree(tmp_path, {"a.py": b"x"}))
    ok, reason = manifest_matches(registered, other_code)
    assert not ok and "code hash differs" in reason and "config" not in reason
    other_cfg = build_manifest(compile_stub(devnet_source.replace("CAP_TTL ms=120_000", "CAP_TTL ms=60_000")),
                               executor_dir=frozen_executor)
    verdict = manifest_matches(registered, other_cfg)
    assert not verdict
    assert "config fingerprint differs" in verdict.reason and "proof hash" in verdict.reason
    assert "code hash" not in verdict.reason


def test_tampered_registered_manifest_is_refused(devnet_compiled, frozen_executor):
    running = build_manifest(devnet_compiled, executor_dir=frozen_executor)
    forged = dataclasses.replace(running, transcript=running.transcript.replace("checks ", "checks 0"))
    ok, reason = manifest_matches(forged, running)
    assert not ok and "registered manifest is inconsistent" in reason


_SCRIPT = textwrap.dedent("""
    import pathlib, sys, types
    from executor.curvescript import compile_file
    from executor.manifest import build_manifest
    stub = types.SimpleNamespace(__name__="stub", MAX_ARENA_BYTES=10 * 1024 * 1024,
                                 arena_size=lambda **caps: 4096 + 64 * sum(caps.values()))
    m = build_manifest(compile_file(sys.argv[1], layout=stub), executor_dir=pathlib.Path(sys.argv[2]))
    sys.stdout.write(m.to_json().decode())
""")


def test_manifest_is_identical_in_fresh_processes_with_different_hash_seeds(frozen_executor):
    frozen = frozen_executor
    outs = []
    for seed in ("0", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        res = subprocess.run([sys.executable, "-c", _SCRIPT, str(REPO / "executor/curvescript/examples/devnet.curve"),
                              str(frozen)], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True)
        outs.append(res.stdout)
    assert outs[0] == outs[1]
    assert json.loads(outs[0])["code_hash"] == code_hash(frozen).hex()
