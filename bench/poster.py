"""Batch poster throughput against the local Solana RPC, and compute units per post_batch (issue 7).

Starts `python -m batchposter.devrpc` as its own process (the RPC side gets its own core, as a
validator would), initializes the anchor with a fresh poster key, then for each in-flight
bound fills the outbox with a chain of batches and times the posting loop from resumed to the
last batch confirmed.  Compute units come from each landed transaction's metadata
(`getTransaction` → `computeUnitsConsumed`), so they include the two compute-budget
instructions.  Peers named in the output: the issue's 10 000 CU target and an on-chain
order-book instruction at ~7 000 CU (median).

    .venv/bin/python bench/poster.py [--batches 60] [--in-flight 1,4,16] [--slot-ms 400] [--json]

Progress goes to stderr; with `--json` the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from solana.rpc.async_api import AsyncClient
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from batchposter import solana_client as sc  # noqa: E402
from batchposter.outbox import ClosedBatch, Outbox  # noqa: E402
from batchposter.program_abi import BatchHeader  # noqa: E402
from batchposter.poster import Backoff, Poster  # noqa: E402

TARGET_CU = 10_000
ORDER_BOOK_CU = 7_000
BLOCKS_PER_BATCH = 100
STARTUP_TIMEOUT_S = 120


def h(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


CODE, PROOF, CONFIG, GENESIS = h("bench-code"), h("bench-proof"), h("bench-config"), h("bench-genesis")


def progress(msg: str) -> None:
    print(f"[bench/poster] {msg}", file=sys.stderr, flush=True)


def start_devrpc(poster: Pubkey, slot_ms: int) -> tuple[subprocess.Popen, str, Pubkey]:
    cmd = [sys.executable, "-m", "batchposter.devrpc", "--host", "127.0.0.1", "--port", "0",
           "--slot-ms", str(slot_ms), "--poster", str(poster), "--airdrop", f"{poster}=1000",
           "--genesis-root", GENESIS.hex(), "--register", f"{CODE.hex()}:{PROOF.hex()}:{CONFIG.hex()}"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if "listening on" in line:
            url = line.split("listening on ")[1].split()[0]
            program = Pubkey.from_string(line.rsplit("program=", 1)[1].strip())
            return proc, url, program
    proc.kill()
    raise SystemExit("bench/poster: the dev RPC did not start")


def batches(first_index: int, count: int, prev_root: bytes) -> list[ClosedBatch]:
    out = []
    for i in range(first_index, first_index + count):
        first_height = (i - 1) * BLOCKS_PER_BATCH + 1
        root = h(f"root-{i}")
        header = BatchHeader(i, first_height, first_height + BLOCKS_PER_BATCH - 1, prev_root, root, 10 * i,
                             h(f"log-{i}"), CODE, PROOF)
        out.append(ClosedBatch(header, b"", i))
        prev_root = root
    return out


async def run_phase(url: str, program: Pubkey, key: Keypair, outbox_path: str, in_flight: int,
                    first_index: int, count: int, prev_root: bytes, poll_s: float) -> dict:
    with Outbox(outbox_path, sync=True) as outbox:
        for batch in batches(first_index, count, prev_root):
            outbox.add(batch)
    async with AsyncClient(url, timeout=10) as rpc:
        client = sc.SolanaAnchorClient(rpc, program, key)
        poster = Poster(Outbox(outbox_path), client, max_in_flight=in_flight, poll_interval_s=poll_s,
                        backoff=Backoff(0.05, 2.0, 1.0))
        poster.start()
        try:
            await poster.wait_resumed(60)
            started = time.perf_counter()
            await poster.wait_confirmed(first_index + count - 1, timeout_s=600)
            elapsed = time.perf_counter() - started
            signatures = [e.signature for e in poster.outbox.entries(first_index)]
        finally:
            await poster.stop()
            poster.outbox.close()
        units = []
        for sig in signatures[: min(len(signatures), 50)]:
            resp = await rpc.get_transaction(Signature.from_string(sig), encoding="base64")
            units.append(resp.value.transaction.meta.compute_units_consumed)
    return {"in_flight": in_flight, "batches": count, "seconds": round(elapsed, 3),
            "batches_per_s": round(count / elapsed, 2), "cu_min": min(units), "cu_median": int(statistics.median(units)),
            "cu_max": max(units)}


async def main_async(args: argparse.Namespace) -> dict:
    key = Keypair()
    progress(f"starting the dev RPC (slot {args.slot_ms} ms) ...")
    proc, url, program = start_devrpc(key.pubkey(), args.slot_ms)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            outbox_path = os.path.join(tmp, "outbox")
            next_index, prev_root = 1, GENESIS
            for in_flight in args.in_flight:
                progress(f"posting {args.batches} batches with at most {in_flight} in flight ...")
                row = await run_phase(url, program, key, outbox_path, in_flight, next_index, args.batches, prev_root,
                                      args.poll_ms / 1000)
                progress(f"  {row['batches_per_s']} batches/s, {row['cu_median']} CU median")
                rows.append(row)
                next_index += args.batches
                prev_root = h(f"root-{next_index - 1}")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    cu = statistics.median(r["cu_median"] for r in rows)
    return {"bench": "poster", "rpc": "batchposter.devrpc (LiteSVM, separate process)", "slot_ms": args.slot_ms,
            "poll_ms": args.poll_ms, "rows": rows, "post_batch_cu_median": int(cu),
            "cu_vs_target": round(cu / TARGET_CU, 3), "cu_vs_order_book_ix": round(cu / ORDER_BOOK_CU, 3)}


def print_table(result: dict) -> None:
    print(f"poster vs dev RPC (slot {result['slot_ms']} ms, poll {result['poll_ms']} ms); "
          "confirmed = 1 slot after landing")
    print(f"{'in flight':>9} {'batches':>8} {'seconds':>8} {'batches/s':>10} {'CU min':>7} {'CU median':>10} "
          f"{'CU max':>7}")
    for r in result["rows"]:
        print(f"{r['in_flight']:>9} {r['batches']:>8} {r['seconds']:>8.2f} {r['batches_per_s']:>10.2f} "
              f"{r['cu_min']:>7} {r['cu_median']:>10} {r['cu_max']:>7}")
    print(f"post_batch CU (incl. compute-budget ixs): {result['post_batch_cu_median']} = "
          f"{result['cu_vs_target']:.2f}x the {TARGET_CU} CU target, "
          f"{result['cu_vs_order_book_ix']:.2f}x an order-book instruction (~{ORDER_BOOK_CU} CU)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=60, help="batches per in-flight setting (default 60)")
    parser.add_argument("--in-flight", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4, 16],
                        help="comma-separated in-flight bounds (default 1,4,16)")
    parser.add_argument("--slot-ms", type=int, default=400, help="dev RPC slot time (default 400, like mainnet)")
    parser.add_argument("--poll-ms", type=int, default=100, help="poster confirmation poll interval (default 100)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args(argv)
    result = asyncio.run(main_async(args))
    print_table(result)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
