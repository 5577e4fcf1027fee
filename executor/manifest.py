"""Program manifests: what exactly runs (DESIGN §6, seed 000 §6, EXCHANGE §2 slab registry).

A manifest is three SHA-256 hashes plus the readable report behind the third one:

* **code hash** — over the canonical source of the executor (router and slab programs,
  the matching core): every ``*.py``, ``*.pyx`` and ``*.pxd`` file under ``executor/``,
  skipping ``tests``/``test`` directories, caches and hidden directories, sorted by their
  ``/``-separated path relative to the directory that holds ``executor/`` (compared as
  UTF-8 bytes), CRLF normalised to LF.  The hashed stream is ``CODE_HASH_DOMAIN`` followed
  by, per file, ``u32be(len(path)) ‖ path ‖ u64be(len(content)) ‖ content``, so no two
  different trees can frame to the same bytes;
* **config fingerprint** — SHA-256 of the canonical compiled CurveScript configuration
  (``executor.curvescript.config``);
* **proof hash** — SHA-256 of the **verification transcript**: the deterministic, canonical
  text report of every configuration and invariant check that passed.  It is a record of
  checks an auditor can re-run and read, not a zero-knowledge proof, and is named so.

The router registry stores manifests; the executor refuses to route to a slab whose
registered manifest does not match the running one (plan P10/P11) — ``manifest_matches``.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from executor.curvescript.checker import Compiled
from executor.curvescript.config import CONFIG_FORMAT

MANIFEST_FORMAT = "assetl2/program-manifest/v1"
TRANSCRIPT_HEADER = "assetl2 verification transcript v1"
CODE_HASH_DOMAIN = b"assetl2/code-hash/v1\n"
SOURCE_SUFFIXES = (".py", ".pyx", ".pxd")
EXCLUDED_DIRS = frozenset({"tests", "test", "__pycache__", "build", "dist"})

EXECUTOR_DIR = Path(__file__).resolve().parent


# -- code hash ---------------------------------------------------------------------------

def source_files(executor_dir: Path | None = None) -> list[tuple[str, Path]]:
    """``(relative posix path, absolute path)`` of every hashed source file, in hash order."""
    root = Path(executor_dir or EXECUTOR_DIR).resolve()
    base = root.parent
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in EXCLUDED_DIRS and not d.startswith(".")]
        for fn in filenames:
            if fn.endswith(SOURCE_SUFFIXES) and not fn.startswith("."):
                p = Path(dirpath) / fn
                found.append((p.relative_to(base).as_posix(), p))
    found.sort(key=lambda item: item[0].encode("utf-8"))
    return found


def code_hash(executor_dir: Path | None = None) -> bytes:
    """SHA-256 over the framed canonical source of ``executor/`` (see module docstring)."""
    h = hashlib.sha256(CODE_HASH_DOMAIN)
    for rel, path in source_files(executor_dir):
        name = rel.encode("utf-8")
        content = path.read_bytes().replace(b"\r\n", b"\n")
        h.update(struct.pack(">I", len(name)))
        h.update(name)
        h.update(struct.pack(">Q", len(content)))
        h.update(content)
    return h.digest()


# -- verification transcript -----------------------------------------------------------------

def transcript_text(compiled: Compiled, extra_checks: Iterable[str] = ()) -> str:
    """The canonical verification transcript of a compiled configuration.

    ASCII, LF-terminated lines: a header naming the formats, the config fingerprint and
    the layout model, the arena size of every slab, then every passed check sorted by
    code point (``PASS <code> <subject>: <detail>``), then ``end``.  ``extra_checks`` lets
    callers add further invariant checks they ran (same line format); they are merged and
    sorted with the rest, so the text depends only on what was checked.
    """
    checks = sorted(set(compiled.checks) | set(extra_checks))
    for line in checks:
        if "\n" in line or not line.isascii():
            raise ValueError(f"transcript lines are single ASCII lines: {line!r}")
    lines = [
        TRANSCRIPT_HEADER,
        f"config-format {CONFIG_FORMAT}",
        f"config-fingerprint {compiled.fingerprint.hex()}",
        f"layout {compiled.layout_name} max-arena-bytes {compiled.max_arena_bytes}",
    ]
    lines += [f"arena {slab_id} {n}" for slab_id, n in compiled.arena_bytes]
    lines.append(f"checks {len(checks)}")
    lines += checks
    lines.append("end")
    return "\n".join(lines) + "\n"


def proof_hash(transcript: str) -> bytes:
    """SHA-256 of the transcript text: the "proof hash" of DESIGN §6 (no ZK claim)."""
    return hashlib.sha256(transcript.encode("ascii")).digest()


# -- manifest ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Manifest:
    code_hash: bytes
    config_fingerprint: bytes
    proof_hash: bytes
    transcript: str

    @property
    def manifest_hash(self) -> bytes:
        """SHA-256 of the three hashes: one identifier for the whole manifest."""
        return hashlib.sha256(MANIFEST_FORMAT.encode("ascii") + b"\n" + self.code_hash
                              + self.config_fingerprint + self.proof_hash).digest()

    def to_json(self) -> bytes:
        """Canonical JSON (sorted keys, no whitespace, hashes as lowercase hex)."""
        doc = {
            "format": MANIFEST_FORMAT,
            "code_hash": self.code_hash.hex(),
            "config_fingerprint": self.config_fingerprint.hex(),
            "proof_hash": self.proof_hash.hex(),
            "transcript": self.transcript,
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")

    @classmethod
    def from_json(cls, data: bytes | str) -> "Manifest":
        doc = json.loads(data)
        if doc.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"not a {MANIFEST_FORMAT} document")
        m = cls(bytes.fromhex(doc["code_hash"]), bytes.fromhex(doc["config_fingerprint"]),
                bytes.fromhex(doc["proof_hash"]), doc["transcript"])
        problem = m.inconsistency()
        if problem:
            raise ValueError(problem)
        return m

    def inconsistency(self) -> str | None:
        """Why the manifest contradicts itself, or None."""
        for name in ("code_hash", "config_fingerprint", "proof_hash"):
            if len(getattr(self, name)) != 32:
                return f"{name} is not 32 bytes"
        if proof_hash(self.transcript) != self.proof_hash:
            return "proof_hash is not the SHA-256 of the transcript"
        if f"\nconfig-fingerprint {self.config_fingerprint.hex()}\n" not in self.transcript:
            return "the transcript was produced for a different config fingerprint"
        return None


def build_manifest(compiled: Compiled, *, executor_dir: Path | None = None,
                   extra_checks: Iterable[str] = ()) -> Manifest:
    """The manifest of the running code with this compiled configuration."""
    text = transcript_text(compiled, extra_checks)
    return Manifest(code_hash(executor_dir), compiled.fingerprint, proof_hash(text), text)


@dataclass(frozen=True)
class ManifestMatch:
    """Verdict of :func:`manifest_matches`; truthy iff it matches, unpacks as ``(ok, reason)``."""

    ok: bool
    reason: str

    def __bool__(self) -> bool:
        return self.ok

    def __iter__(self) -> Iterator[object]:
        return iter((self.ok, self.reason))


def manifest_matches(registered: Manifest, running: Manifest) -> ManifestMatch:
    """Does a registry entry describe exactly what runs here? (P10/P11)

    Both manifests must be self-consistent and their code hash, config fingerprint and
    proof hash must be equal.  The reason names every mismatch, for the operator's log.
    """
    problems: list[str] = []
    for label, m in (("registered", registered), ("running", running)):
        bad = m.inconsistency()
        if bad:
            problems.append(f"{label} manifest is inconsistent: {bad}")
    for field, what in (("code_hash", "code hash"), ("config_fingerprint", "config fingerprint"),
                        ("proof_hash", "proof hash (verification transcript)")):
        a, b = getattr(registered, field), getattr(running, field)
        if a != b:
            problems.append(f"{what} differs: registered {a.hex()[:16]}…, running {b.hex()[:16]}…")
    if problems:
        return ManifestMatch(False, "; ".join(problems))
    return ManifestMatch(True, "code hash, config fingerprint and proof hash match")
