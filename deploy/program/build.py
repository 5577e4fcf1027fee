"""Build the anchor program: clang-14 compiles the C source, sbpf_link.py links it (DESIGN §8).

Reproducible by construction: fixed flags, no debug info, no timestamps, and a linker whose
output is a pure function of the object bytes; `tests/batchposter` builds twice and compares.
The result goes to ``deploy/program/build/`` (git-ignored); CI builds it from a fresh clone.

Usage: ``python deploy/program/build.py [--out-dir DIR]`` prints the path of the ``.so``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROGRAM_DIR = Path(__file__).resolve().parent
SOURCE = PROGRAM_DIR / "src" / "assetl2_anchor.c"
DEFAULT_OUT_DIR = PROGRAM_DIR / "build"
PROGRAM_NAME = "assetl2_anchor"
CLANG_CANDIDATES = ("clang-14", "clang")
CFLAGS = (
    "-target", "bpfel",
    "-mcpu=v2",  # v3 emits 32-bit jumps the SBPFv0 verifier rejects; v2 has no ALU32
    "-O2",
    "-fPIC",
    "-ffreestanding",
    "-fno-builtin",
    "-nostdlib",
    "-g0",
    "-fno-ident",
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
)

sys.path.insert(0, str(PROGRAM_DIR))
import sbpf_link  # noqa: E402


class BuildError(Exception):
    """The compiler is missing or rejected the source."""


def find_clang() -> str:
    """Debian's clang-14 (deploy/install.sh installs it); plain `clang` as a fallback."""
    for name in CLANG_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    raise BuildError("clang-14 not found: apt-get install -y clang-14 llvm-14")


def compile_object(source: Path = SOURCE) -> bytes:
    """Compile the C source to a relocatable BPF object and return its bytes."""
    with tempfile.TemporaryDirectory(prefix="assetl2-bpf-") as tmp:
        obj = Path(tmp) / f"{PROGRAM_NAME}.o"
        cmd = [find_clang(), *CFLAGS, "-c", str(source), "-o", str(obj)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=PROGRAM_DIR)
        if proc.returncode != 0:
            raise BuildError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
        return obj.read_bytes()


def build(out_dir: Path = DEFAULT_OUT_DIR) -> Path:
    """Compile and link; write ``<out_dir>/assetl2_anchor.so`` atomically and return its path."""
    elf = sbpf_link.link(compile_object())
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{PROGRAM_NAME}.so"
    fd, tmp_name = tempfile.mkstemp(dir=out_dir, prefix=f".{PROGRAM_NAME}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(elf)
    os.replace(tmp_name, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args(argv)
    try:
        path = build(args.out_dir)
    except (BuildError, sbpf_link.LinkError) as exc:
        print(f"build: {exc}", file=sys.stderr)
        return 1
    print(f"{path} sha256={hashlib.sha256(path.read_bytes()).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
