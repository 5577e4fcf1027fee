"""Benchmark: statetree against sparse-merkle-tree (``smt``) and trie's HexaryTrie on LevelDB.

Issue 3 workload, the same for every implementation and in one process: ``--keys``
random 32-byte keys with 64-byte values inserted in blocks of ``--block`` keys,
the root read after each block, then ``--proofs`` proofs of present keys and as many
verifications.  Each implementation gets a fresh plyvel database in a temporary
directory.  Rates are printed against wall time and against the CPU time of the
benchmark's thread (``time.thread_time``: steadier on a shared machine; it leaves out
LevelDB's background compaction threads for every implementation alike).  Between
the insert phase and the proof phase each database is compacted, untimed, so that
compaction debt from the inserts does not land in the proof timings.  Ratios are
statetree / peer.
``--million`` also runs statetree alone at 1 000 000 keys to show how cost grows.

Not a test: nothing here asserts a speed.  Usage::

    python bench/statetree.py [--keys 100000] [--million] [--json]
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import plyvel

# This file is named like the package it measures: keep its own folder off the import
# path so ``import statetree`` finds the package (repository root first).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

DEFAULT_KEYS = 100_000
DEFAULT_BLOCK = 1_000
DEFAULT_PROOFS = 10_000
MILLION = 1_000_000
KEY_BYTES = 32
VALUE_BYTES = 64
PROGRESS_EVERY_S = 5.0
PEER_NAMES = ("smt", "trie")


@dataclass
class Result:
    name: str
    keys: int
    update_wall_s: float = 0.0
    update_cpu_s: float = 0.0
    proofs: int = 0
    prove_wall_s: float = 0.0
    prove_cpu_s: float = 0.0
    verify_wall_s: float = 0.0
    verify_cpu_s: float = 0.0
    final_root: str = ""
    rates: dict = field(default_factory=dict)

    def finish(self) -> "Result":
        def rate(n: int, s: float) -> float:
            return n / s if s > 0 else 0.0
        self.rates = {
            "updates_per_s": rate(self.keys, self.update_wall_s),
            "updates_per_cpu_s": rate(self.keys, self.update_cpu_s),
            "proofs_per_s": rate(self.proofs, self.prove_wall_s),
            "proofs_per_cpu_s": rate(self.proofs, self.prove_cpu_s),
            "verifications_per_s": rate(self.proofs, self.verify_wall_s),
            "verifications_per_cpu_s": rate(self.proofs, self.verify_cpu_s),
        }
        return self


# ------------------------------------------------------------------ adapters

class _StateTreeAdapter:
    name = "statetree"

    def __init__(self, path: Path, sync: bool) -> None:
        from statetree import StateTree
        self.tree = StateTree(str(path), sync=sync)
        self.height = 0

    def apply(self, block: dict) -> bytes:
        self.height += 1
        return self.tree.apply(self.height, block)

    def prove(self, key: bytes):
        return self.tree.prove(key).to_bytes()

    @staticmethod
    def verify(root: bytes, key: bytes, value: bytes, proof) -> bool:
        from statetree import verify
        return verify(root, key, value, proof)

    def settle(self) -> None:
        self.tree._db.compact_range()

    def close(self) -> None:
        self.tree.close()


class _SmtStore:
    """``smt.store.TreeMapStore`` on plyvel: nodes and values under two prefixes."""

    def __init__(self, db: plyvel.DB) -> None:
        self.nodes = db.prefixed_db(b"n")
        self.values = db.prefixed_db(b"v")

    def get_value(self, key):
        return self.values.get(key)

    def get_node(self, key):
        return self.nodes.get(key)

    def set_value(self, key, value):
        self.values.put(key, value)
        return True

    def set_node(self, key, value):
        self.nodes.put(key, value)
        return True

    def delete_value(self, key):
        self.values.delete(key)
        return True

    def delete_node(self, key):
        self.nodes.delete(key)
        return True


class _SmtAdapter:
    name = "smt"

    def __init__(self, path: Path, sync: bool) -> None:
        from smt.tree import SparseMerkleTree
        self.db = plyvel.DB(str(path), create_if_missing=True)
        self.tree = SparseMerkleTree(_SmtStore(self.db))

    def apply(self, block: dict) -> bytes:
        for key, value in block.items():
            self.tree.update(key, value)
        return self.tree.root_as_bytes()

    def prove(self, key: bytes):
        return self.tree.prove(key)

    @staticmethod
    def verify(root: bytes, key: bytes, value: bytes, proof) -> bool:
        from smt.proof import verify_proof
        return verify_proof(proof, root, key, value)

    def settle(self) -> None:
        self.db.compact_range()

    def close(self) -> None:
        self.db.close()


class _PlyvelMapping:
    """The ``MutableMapping`` HexaryTrie expects, on plyvel."""

    def __init__(self, db: plyvel.DB) -> None:
        self.db = db

    def __getitem__(self, key):
        value = self.db.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key, value):
        self.db.put(key, value)

    def __delitem__(self, key):
        self.db.delete(key)

    def __contains__(self, key):
        return self.db.get(key) is not None


class _TrieAdapter:
    name = "trie"

    def __init__(self, path: Path, sync: bool) -> None:
        from trie import HexaryTrie
        self.db = plyvel.DB(str(path), create_if_missing=True)
        self.trie = HexaryTrie(_PlyvelMapping(self.db))

    def apply(self, block: dict) -> bytes:
        with self.trie.squash_changes() as batch:
            for key, value in block.items():
                batch[key] = value
        return self.trie.root_hash

    def prove(self, key: bytes):
        return self.trie.get_proof(key)

    @staticmethod
    def verify(root: bytes, key: bytes, value: bytes, proof) -> bool:
        from trie import HexaryTrie
        return HexaryTrie.get_from_proof(root, key, proof) == value

    def settle(self) -> None:
        self.db.compact_range()

    def close(self) -> None:
        self.db.close()


ADAPTERS: dict[str, Callable] = {
    "statetree": _StateTreeAdapter,
    "smt": _SmtAdapter,
    "trie": _TrieAdapter,
}


# ------------------------------------------------------------------ workload

def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_one(name: str, keys: int, block: int, proofs: int, seed: int, workdir: Path,
            sync: bool) -> Result:
    """Run the workload on one implementation in a fresh database."""
    rng = random.Random(seed)
    path = workdir / f"{name}-{keys}"
    shutil.rmtree(path, ignore_errors=True)
    impl = ADAPTERS[name](path, sync)
    res = Result(name, keys)
    proof_idx = sorted(random.Random(seed + 1).sample(range(keys), min(proofs, keys)))
    wanted = set(proof_idx)
    proven: dict[bytes, bytes] = {}
    root = b""
    done = 0
    last_report = time.perf_counter()
    try:
        while done < keys:
            n = min(block, keys - done)
            batch = {}
            for i in range(done, done + n):
                key, value = rng.randbytes(KEY_BYTES), rng.randbytes(VALUE_BYTES)
                batch[key] = value
                if i in wanted:
                    proven[key] = value
            w0, c0 = time.perf_counter(), time.thread_time()
            root = impl.apply(batch)
            res.update_wall_s += time.perf_counter() - w0
            res.update_cpu_s += time.thread_time() - c0
            done += n
            if time.perf_counter() - last_report >= PROGRESS_EVERY_S or done == keys:
                last_report = time.perf_counter()
                _progress(f"[{name}] {done}/{keys} keys, {done / res.update_wall_s:,.0f} updates/s")
        res.final_root = root.hex()
        impl.settle()
        items = list(proven.items())
        rng.shuffle(items)
        w0, c0 = time.perf_counter(), time.thread_time()
        made = [impl.prove(key) for key, _ in items]
        res.prove_wall_s = time.perf_counter() - w0
        res.prove_cpu_s = time.thread_time() - c0
        _progress(f"[{name}] {len(made)} proofs in {res.prove_wall_s:.2f}s")
        verify = impl.verify
        w0, c0 = time.perf_counter(), time.thread_time()
        ok = sum(1 for (key, value), proof in zip(items, made) if verify(root, key, value, proof))
        res.verify_wall_s = time.perf_counter() - w0
        res.verify_cpu_s = time.thread_time() - c0
        _progress(f"[{name}] {ok}/{len(made)} verified in {res.verify_wall_s:.2f}s")
        if ok != len(made):
            raise SystemExit(f"{name}: {len(made) - ok} proofs failed to verify")
        res.proofs = len(made)
    finally:
        impl.close()
        shutil.rmtree(path, ignore_errors=True)
    return res.finish()


TXLOG_BLOCK_TXS = 10_000
TXLOG_BLOCKS = 20
TXLOG_PROOFS = 200


def run_txlog(workdir: Path, seed: int) -> dict:
    """pymerkle backends for the transaction log: ``TXLOG_BLOCKS`` blocks of
    ``TXLOG_BLOCK_TXS`` hashes each, ``append_block`` (append + root) timed per block,
    then inclusion and consistency proofs (statetree/README.md, backend choice)."""
    from statetree.txlog import TxLog
    out = {}
    for backend in ("memory", "sqlite"):
        rng = random.Random(seed)
        path = workdir / f"txlog-{backend}.db"
        log = TxLog(str(path) if backend == "sqlite" else None, backend=backend)
        walls, cpus = [], []
        size = 0
        for block in range(TXLOG_BLOCKS):
            hashes = [rng.randbytes(32) for _ in range(TXLOG_BLOCK_TXS)]
            w0, c0 = time.perf_counter(), time.thread_time()
            size, _ = log.append_block(hashes)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.thread_time() - c0)
            _progress(f"[txlog {backend}] block {block + 1}/{TXLOG_BLOCKS}: {walls[-1] * 1000:.0f} ms")
        w0 = time.perf_counter()
        for _ in range(TXLOG_PROOFS):
            log.prove_inclusion(rng.randrange(size))
        incl = (time.perf_counter() - w0) / TXLOG_PROOFS
        w0 = time.perf_counter()
        for _ in range(TXLOG_PROOFS):
            log.prove_consistency(rng.randrange(1, size + 1))
        cons = (time.perf_counter() - w0) / TXLOG_PROOFS
        log.close()
        path.unlink(missing_ok=True)
        out[backend] = {"block_ms_mean": 1000 * sum(walls) / len(walls), "block_ms_max": 1000 * max(walls),
                        "block_cpu_ms_mean": 1000 * sum(cpus) / len(cpus),
                        "inclusion_proof_ms": 1000 * incl, "consistency_proof_ms": 1000 * cons}
    return out


def _txlog_table(res: dict) -> str:
    lines = [f"transaction log, {TXLOG_BLOCKS} blocks of {TXLOG_BLOCK_TXS:,} tx hashes (pymerkle backends)",
             f"{'backend':<10}{'block ms':>12}{'max ms':>10}{'cpu ms':>10}{'incl. proof ms':>16}"
             f"{'consist. ms':>13}"]
    for backend, r in res.items():
        lines.append(f"{backend:<10}{r['block_ms_mean']:>12.0f}{r['block_ms_max']:>10.0f}"
                     f"{r['block_cpu_ms_mean']:>10.0f}{r['inclusion_proof_ms']:>16.2f}"
                     f"{r['consistency_proof_ms']:>13.2f}")
    return "\n".join(lines)


def _table(results: list[Result], ratios: dict) -> str:
    cols = [("updates/s", "updates_per_s"), ("upd/cpu-s", "updates_per_cpu_s"),
            ("proofs/s", "proofs_per_s"), ("prf/cpu-s", "proofs_per_cpu_s"),
            ("verif/s", "verifications_per_s"), ("ver/cpu-s", "verifications_per_cpu_s")]
    lines = [f"{'implementation':<28}" + "".join(f"{c:>12}" for c, _ in cols)]
    for r in results:
        label = f"{r.name} ({r.keys:,} keys)"
        lines.append(f"{label:<28}" + "".join(f"{r.rates[k]:>12,.0f}" for _, k in cols))
    for peer, vals in ratios.items():
        label = f"statetree / {peer}"
        lines.append(f"{label:<28}" + "".join(f"{vals[k]:>11.1f}x" for _, k in cols))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=DEFAULT_KEYS)
    ap.add_argument("--block", type=int, default=DEFAULT_BLOCK)
    ap.add_argument("--proofs", type=int, default=DEFAULT_PROOFS)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--impl", default="statetree,smt,trie",
                    help="comma-separated subset of statetree,smt,trie")
    ap.add_argument("--million", action="store_true",
                    help="also run statetree alone at 1,000,000 keys")
    ap.add_argument("--sync", action="store_true",
                    help="statetree with an fsync per block (its default in production)")
    ap.add_argument("--txlog", action="store_true",
                    help="also measure the transaction log's pymerkle backends (10,000-tx blocks)")
    ap.add_argument("--dir", default=None, help="scratch directory (default: a temp dir)")
    ap.add_argument("--json", action="store_true", help="last stdout line: one JSON object")
    args = ap.parse_args(argv)
    names = [n for n in args.impl.split(",") if n]
    unknown = set(names) - set(ADAPTERS)
    if unknown:
        ap.error(f"unknown implementation(s): {sorted(unknown)}")
    workdir = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench-statetree-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results = []
        for n in names:
            try:
                results.append(run_one(n, args.keys, args.block, args.proofs, args.seed, workdir,
                                       args.sync))
            except ImportError as exc:
                _progress(f"[{n}] skipped: {exc}")
        txlog = run_txlog(workdir, args.seed) if args.txlog else None
        big = None
        if args.million:
            big = run_one("statetree", MILLION, args.block, args.proofs, args.seed, workdir, args.sync)
    finally:
        if not args.dir:
            shutil.rmtree(workdir, ignore_errors=True)
    by_name = {r.name: r for r in results}
    ratios = {}
    if "statetree" in by_name:
        ours = by_name["statetree"].rates
        for peer in PEER_NAMES:
            if peer in by_name:
                theirs = by_name[peer].rates
                ratios[peer] = {k: (ours[k] / theirs[k] if theirs[k] else 0.0) for k in ours}
    shown = results + ([big] if big else [])
    print(f"workload: {args.keys:,} keys x {VALUE_BYTES}-byte values in blocks of {args.block:,}, "
          f"root per block, {args.proofs:,} proofs + verifications; LevelDB via plyvel"
          + ("; statetree fsyncs each block" if args.sync else ""))
    print(_table(shown, ratios))
    if big:
        small = by_name.get("statetree")
        if small:
            print(f"statetree at {MILLION:,} keys: {big.rates['updates_per_s']:,.0f} updates/s "
                  f"({big.rates['updates_per_s'] / small.rates['updates_per_s']:.2f}x the "
                  f"{args.keys:,}-key rate)")
    if txlog:
        print(_txlog_table(txlog))
    if args.json:
        out = {"keys": args.keys, "block": args.block, "proofs": args.proofs, "sync": args.sync,
               "results": {r.name: r.rates for r in results}, "ratios": ratios}
        if big:
            out["statetree_1m"] = big.rates
        if txlog:
            out["txlog"] = txlog
        print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
