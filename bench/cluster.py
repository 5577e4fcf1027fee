"""Sequencer cluster throughput and decide latency (issue 6 benchmark; not a timed test).

Starts a 1-node and a 4-node cluster of real `assetl2 run` processes on loopback, sends
signed order transactions at them over gRPC from client worker processes until steady state —
`SubmitBatch` messages of `--batch` envelopes by default, or one envelope per message over
`SubmitStream` with `--mode stream` — and reports, over a measurement window after a warm-up:

- decided tx/s: growth of `consensus_decided_txs` on node 0 over the window;
- decide latency p50/p99: from the nodes' `consensus_decide_latency_seconds` histogram
  (admission at the receiving node → decide there), window delta, interpolated within buckets;
- ratios against the issue-6 targets (1 node ≥ 20 000 tx/s end to end; 4 nodes ≥ 5 000 tx/s
  with p99 ≤ 500 ms).

What the figure covers is printed with it: by default the nodes run the sequencer role only
(admission → mempool → consensus → decide, persisted), `--executor` adds the executor role when
this build has it (then a decided block is also executed, but execution runs after the decide
and is not in the decide latency).

Usage: python -m bench.cluster [--nodes 1,4] [--seconds 10] [--warmup 3] [--clients 2]
       [--streams 8] [--mode batch|stream] [--batch 256] [--block-txs 4000] [--rate 0]
       [--executor] [--profile] [--json]. Progress goes to stderr; with --json the last line of
stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHAIN = "assetl2-bench"
PACED_WINDOW_S = 0.05  # a paced batch sender sends what accrued over this window (latency is measured from admission)
EXECUTOR_CHAIN = "assetl2-devnet-1"  # the packaged devnet genesis the executor role loads by default
TARGETS = {1: (20_000, None), 4: (5_000, 0.5)}


def log(msg: str) -> None:
    print(f"[bench.cluster] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------- cluster


class BenchCluster:
    def __init__(self, n: int, root: Path, executor: bool, args_block_txs: int = 4000, profile: bool = False) -> None:
        from node import keys

        self.n = n
        self.profile = profile
        self.chain = EXECUTOR_CHAIN if executor else CHAIN
        self.root = root
        self.procs: list[subprocess.Popen] = []
        self.members = []
        for i in range(n):
            d = root / f"node{i}"
            (d / "data").mkdir(parents=True)
            key = keys.NodeKey.generate()
            keys.write(d / "data" / "node-key.json", key)
            self.members.append({"dir": d, "key": key, "grpc": f"127.0.0.1:{free_port()}",
                                 "admin": f"127.0.0.1:{free_port()}", "peer": f"127.0.0.1:{free_port()}"})
        roles = '["executor", "sequencer"]' if executor else '["sequencer"]'
        for m in self.members:
            committee = ""
            if n > 1:
                committee = (f"committee_keys = {json.dumps([x['key'].address for x in self.members])}\n"
                             f"committee_peers = {json.dumps([x['peer'] for x in self.members])}\n")
            (m["dir"] / "node.toml").write_text(
                f'[node]\nchain_id = "{self.chain}"\ndata_dir = "data"\nroles = {roles}\nlog_level = "warning"\n'
                f'log_format = "text"\nshutdown_grace_s = 1\n'
                f'[grpc]\nlisten = "{m["grpc"]}"\nmax_concurrent_streams = 1024\n'
                f'[admin]\nlisten = "{m["admin"]}"\n[peer]\nlisten = "{m["peer"]}"\n'
                f"[sequencer]\n{committee}rate_per_s = 1000000\nrate_burst = 1000000\n"
                f"mempool_max_txs = 1000000\nmax_block_txs = {args_block_txs}\n"
            )

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ASSETL2__")}
        for m in self.members:
            logf = open(m["dir"] / "node.log", "ab")
            node_env = dict(env, ASSETL2_PROFILE_OUT=str(m["dir"] / "node.prof")) if self.profile else env
            self.procs.append(subprocess.Popen([sys.executable, "-m", "node.cli", "run", "--config", str(m["dir"] / "node.toml")],
                                               stdout=logf, stderr=subprocess.STDOUT, env=node_env, cwd=REPO))
        deadline = time.monotonic() + 60
        for i, m in enumerate(self.members):
            while True:
                if self.procs[i].poll() is not None:
                    raise SystemExit(f"node{i} exited: {(m['dir'] / 'node.log').read_text()[-1500:]}")
                try:
                    with urllib.request.urlopen(f"http://{m['admin']}/readyz", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"node{i} not ready")
                time.sleep(0.1)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()

    def print_profiles(self, top: int = 30) -> None:
        """The hottest functions (own time) of each node's event-loop thread, to stderr."""
        import pstats
        for i, m in enumerate(self.members):
            path = m["dir"] / "node.prof"
            if path.exists():
                log(f"node{i} profile (tottime, event-loop thread):")
                pstats.Stats(str(path), stream=sys.stderr).sort_stats("tottime").print_stats(top)

    def metrics(self, i: int) -> str:
        with urllib.request.urlopen(f"http://{self.members[i]['admin']}/metrics", timeout=5) as r:
            return r.read().decode()


def sample(text: str, name: str) -> float:
    m = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def buckets(text: str, name: str) -> list[tuple[float, float]]:
    out = []
    for le, v in re.findall(rf'^{re.escape(name)}_bucket{{le="([^"]+)"}} ([0-9.e+-]+)$', text, re.M):
        out.append((float("inf") if le == "+Inf" else float(le), float(v)))
    return sorted(out)


def quantile(b0: list, b1: list, q: float) -> float | None:
    """q-quantile of the window (bucket deltas), linear within the bucket."""
    delta = [(le, c1 - (dict(b0).get(le, 0.0))) for le, c1 in b1]
    total = delta[-1][1] if delta else 0
    if total <= 0:
        return None
    rank = q * total
    prev_le, prev_c = 0.0, 0.0
    for le, c in delta:
        if c >= rank:
            if le == float("inf"):
                return prev_le
            frac = (rank - prev_c) / (c - prev_c) if c > prev_c else 1.0
            return prev_le + (le - prev_le) * frac
        prev_le, prev_c = le, c
    return prev_le


# ----------------------------------------------------------------------------- the trading workload (--executor)
# Executed transactions must be real ones: on the devnet genesis chain every client key is
# funded by a faucet deposit, a feeder keeps both oracles fresh, and the orders come in pairs
# that trade: a DLP maker sells 1 lot GTC a few ticks above the mid, the next key buys it IOC at
# the same price, so the books stay bounded and every pair settles a fill.

BOOKS = ((2, 1, 60_000_000_000, 100_000), (3, 1, 60_000_000_000, 100_000), (4, 2, 3_000_000_000, 10_000))
FEEDER_SEED = "assetl2-devnet-feeder-0"


def client_keys(seed: int):
    from nacl.signing import SigningKey
    return [SigningKey(bytes([seed % 256, i % 256]) + bytes(30)) for i in range(16)]


def trade_order(i: int):
    """The i-th order of a client: even i rests a 1-lot ask, odd i lifts it with an IOC bid."""
    from proto.assetl2.v1 import tx_pb2
    slab, instr, mid, tick = BOOKS[(i // 2) % len(BOOKS)]
    price = mid + tick * (1 + (i // 6) % 3)
    if i % 2 == 0:
        return tx_pb2.PlaceOrder(slab_id=slab, instrument_id=instr, side=tx_pb2.SIDE_SELL, qty_lots=1,
                                 price_e6=price, time_in_force=tx_pb2.TIME_IN_FORCE_GTC,
                                 maker_class=tx_pb2.MAKER_CLASS_DLP)
    return tx_pb2.PlaceOrder(slab_id=slab, instrument_id=instr, side=tx_pb2.SIDE_BUY, qty_lots=1,
                             price_e6=price, time_in_force=tx_pb2.TIME_IN_FORCE_IOC,
                             maker_class=tx_pb2.MAKER_CLASS_DLP)


class Feeder:
    """Signs fresh oracle updates for both instruments (publish times strictly increasing)."""

    def __init__(self, chain: str) -> None:
        import hashlib

        from nacl.signing import SigningKey
        self.chain = chain
        self.key = SigningKey(hashlib.sha256(FEEDER_SEED.encode()).digest())
        self.last = 0
        self.nonce = 0

    def updates(self) -> list:
        from executor.tx import sign_payload
        from proto.assetl2.v1 import tx_pb2
        now = int(time.time() * 1000)
        self.last = max(self.last + 1, now - 100)
        out = []
        for instr, mid in ((1, 60_000_000_000), (2, 3_000_000_000)):
            self.nonce += 1
            p = tx_pb2.Payload(chain_id=self.chain, valid_until_ms=now + 60_000, client_nonce=self.nonce)
            p.oracle_update.CopyFrom(tx_pb2.OracleUpdate(oracle_id=1, instrument_id=instr, price_e6=mid,
                                                         publish_time_ms=self.last))
            out.append(sign_payload(self.key, self.chain, p))
        return out


def funding(chain: str, seeds: list[int]) -> list:
    """A faucet deposit for every client key (signed by the key itself)."""
    from executor.tx import sign_payload
    from proto.assetl2.v1 import tx_pb2
    out = []
    now = int(time.time() * 1000)
    for seed in seeds:
        for k in client_keys(seed):
            p = tx_pb2.Payload(chain_id=chain, valid_until_ms=now + 60_000, client_nonce=1)
            p.deposit.CopyFrom(tx_pb2.Deposit(user=bytes(k.verify_key), asset_id=0, amount_atoms=1_000_000_000_000,
                                              source=tx_pb2.DEPOSIT_SOURCE_FAUCET))
            out.append(sign_payload(k, chain, p))
    return out


def submit(target: str, envelopes: list) -> list:
    import grpc

    from proto.assetl2.v1 import client_pb2, client_pb2_grpc
    with grpc.insecure_channel(target) as ch:
        reply = client_pb2_grpc.ClientApiStub(ch).SubmitBatch(client_pb2.EnvelopeBatch(envelopes=envelopes), timeout=30)
    return list(reply.results)


def executed(text: str) -> tuple[float, float]:
    """(ok, rejected) transactions executed so far (executor_transactions_total)."""
    def one(outcome: str) -> float:
        m = re.search(rf'^executor_transactions_total{{outcome="{outcome}"}} ([0-9.e+-]+)$', text, re.M)
        return float(m.group(1)) if m else 0.0
    return one("ok"), one("rejected")


def rejection_codes(target: str, blocks: int = 5) -> dict[str, int]:
    """Error names of the rejected receipts in the last ``blocks`` executed blocks of a node."""
    import grpc

    from proto.assetl2.v1 import client_pb2, client_pb2_grpc
    codes: dict[str, int] = {}
    with grpc.insecure_channel(target) as ch:
        stub = client_pb2_grpc.ClientApiStub(ch)
        top = stub.GetBlock(client_pb2.GetBlockRequest(height=0), timeout=10).header.height
        for h in range(max(1, top - blocks + 1), top + 1):
            for r in stub.GetBlock(client_pb2.GetBlockRequest(height=h), timeout=10).receipts:
                if not r.ok:
                    codes[r.error_name] = codes.get(r.error_name, 0) + 1
    return codes


def prepare_trading(cluster: "BenchCluster", seeds: list[int], feeder: Feeder) -> None:
    """Fund every client key and price both instruments; wait until node 0 executed it."""
    setup = funding(cluster.chain, seeds) + feeder.updates()
    refused = [r for r in submit(cluster.members[0]["grpc"], setup) if not r.accepted]
    if refused:
        raise SystemExit(f"setup refused: {refused[0].error_name} {refused[0].message}")
    deadline = time.monotonic() + 60
    while executed(cluster.metrics(0))[0] < len(setup):
        if time.monotonic() > deadline:
            raise SystemExit(f"setup not executed within 60 s (ok, rejected = {executed(cluster.metrics(0))})")
        time.sleep(0.2)


def feed(cluster: "BenchCluster", feeder: Feeder, stop) -> None:
    """Keep the oracles fresh while the clients trade (every 0.5 s)."""
    while not stop.wait(0.5):
        try:
            submit(cluster.members[0]["grpc"], feeder.updates())
        except Exception as exc:  # noqa: BLE001 - the bench reports stale-oracle rejections instead
            log(f"feeder: {exc}")


# ----------------------------------------------------------------------------- clients


def client_main(targets: list[str], streams: int, count: int, seed: int, ready, go, result, rate: float = 0.0,
                mode: str = "batch", batch: int = 256, chain: str = CHAIN) -> None:
    """One client process: sign `count` orders up front, then send them over `streams`
    concurrent senders (each a SubmitStream, or a sequence of SubmitBatch calls of `batch`
    envelopes, one in flight per sender), as fast as the node answers or paced at `rate` tx/s
    for this process (0: unpaced)."""
    import grpc
    from nacl.signing import SigningKey

    from executor.tx import sign_payload
    from proto.assetl2.v1 import client_pb2, client_pb2_grpc, tx_pb2

    keys = client_keys(seed)
    until = int(time.time() * 1000) + 600_000
    envs = []
    for i in range(count):
        p = tx_pb2.Payload(chain_id=chain, valid_until_ms=until, client_nonce=seed * 10_000_000 + i)
        if chain == EXECUTOR_CHAIN:
            p.place_order.CopyFrom(trade_order(i))
        else:
            p.place_order.SetInParent()   # sequencer only: the body is never executed
        envs.append(sign_payload(keys[i % len(keys)], chain, p))
    per = [envs[i::streams] for i in range(streams)]
    ready.set()
    go.wait()

    async def run() -> tuple[int, int]:
        channels = [grpc.aio.insecure_channel(t) for t in targets]
        accepted = refused = 0

        per_stream_s = streams / rate if rate > 0 else 0.0

        async def pace(start: float, i: int) -> None:
            if per_stream_s:
                delay = start + i * per_stream_s - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)

        async def paced(envs):
            start = time.monotonic()
            for i, e in enumerate(envs):
                await pace(start, i)
                yield e

        async def one_stream(k: int) -> None:
            nonlocal accepted, refused
            stub = client_pb2_grpc.ClientApiStub(channels[k % len(channels)])
            try:
                async for r in stub.SubmitStream(paced(per[k])):
                    if r.accepted:
                        accepted += 1
                    else:
                        refused += 1
            except grpc.aio.AioRpcError:
                pass

        async def one_batcher(k: int) -> None:
            nonlocal accepted, refused
            stub = client_pb2_grpc.ClientApiStub(channels[k % len(channels)])
            mine = per[k]
            start = time.monotonic()
            step = batch
            if per_stream_s:  # paced: what this sender's orders over PACED_WINDOW_S add up to
                step = max(1, min(batch, int(PACED_WINDOW_S / per_stream_s)))
            for i in range(0, len(mine), step):
                await pace(start, i + step - 1)
                try:
                    reply = await stub.SubmitBatch(client_pb2.EnvelopeBatch(envelopes=mine[i:i + step]), timeout=60)
                except grpc.aio.AioRpcError:
                    return
                for r in reply.results:
                    if r.accepted:
                        accepted += 1
                    else:
                        refused += 1

        one = one_batcher if mode == "batch" else one_stream
        await asyncio.gather(*(one(k) for k in range(streams)))
        for ch in channels:
            await ch.close()
        return accepted, refused

    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    result.put(asyncio.run(run()))


# ----------------------------------------------------------------------------- one run


def run_cluster(n: int, args) -> dict:
    root = Path(tempfile.mkdtemp(prefix=f"bench-cluster{n}-"))
    cluster = BenchCluster(n, root, args.executor, args.block_txs, args.profile)
    log(f"{n} node(s): starting")
    cluster.start()
    try:
        targets = [m["grpc"] for m in cluster.members]
        per_client = args.txs // args.clients
        ctx = mp.get_context("spawn")
        go = ctx.Event()
        results = ctx.Queue()
        workers = []
        for c in range(args.clients):
            ready = ctx.Event()
            w = ctx.Process(target=client_main, args=(targets, args.streams, per_client, c + 1 + 100 * n, ready, go, results,
                                                             args.rate / args.clients, args.mode, args.batch, cluster.chain))
            w.start()
            workers.append((w, ready))
        for w, ready in workers:
            ready.wait(300)
        feeder_stop = threading.Event()
        if args.executor:
            feeder = Feeder(cluster.chain)
            prepare_trading(cluster, [c + 1 + 100 * n for c in range(args.clients)], feeder)
            threading.Thread(target=feed, args=(cluster, feeder, feeder_stop), daemon=True).start()
        log(f"{n} node(s): {per_client * args.clients} signed orders ready; sending with "
            f"{args.clients} client process(es) x {args.streams} "
            + (f"SubmitBatch senders ({args.batch} per call)" if args.mode == "batch" else "SubmitStreams"))
        go.set()
        time.sleep(args.warmup)
        m0 = cluster.metrics(0)
        t0 = time.monotonic()
        lat0 = [buckets(cluster.metrics(i), "consensus_decide_latency_seconds") for i in range(n)]
        time.sleep(args.seconds)
        m1 = cluster.metrics(0)
        t1 = time.monotonic()
        lat1 = [buckets(cluster.metrics(i), "consensus_decide_latency_seconds") for i in range(n)]
        feeder_stop.set()
        ok0, rej0 = executed(m0)
        ok1, rej1 = executed(m1)
        decided = sample(m1, "consensus_decided_txs") - sample(m0, "consensus_decided_txs")
        blocks = sample(m1, "consensus_block_height") - sample(m0, "consensus_block_height")
        views = sample(m1, "consensus_current_view") - sample(m0, "consensus_current_view")
        timeouts = sample(m1, "consensus_number_of_timeouts") - sample(m0, "consensus_number_of_timeouts")
        merged0 = _merge(lat0)
        merged1 = _merge(lat1)
        tps = decided / (t1 - t0)
        p50 = quantile(merged0, merged1, 0.50)
        p99 = quantile(merged0, merged1, 0.99)
        mempool = sample(m1, "sequencer_mempool_size")
        log(f"{n} node(s): {tps:,.0f} decided tx/s, {blocks / (t1 - t0):.1f} blocks/s, "
            f"{views / (t1 - t0):.1f} views/s, {timeouts:.0f} timeouts, "
            f"p50 {p50 and p50 * 1000:.0f} ms, p99 {p99 and p99 * 1000:.0f} ms, mempool {mempool:.0f}")
        go_done = time.monotonic() + 120
        accepted = refused = 0
        for w, _ in workers:
            w.join(max(1, go_done - time.monotonic()))
            if w.is_alive():
                w.terminate()
        while not results.empty():
            a, r = results.get()
            accepted += a
            refused += r
        codes = {}
        if args.executor:
            codes = rejection_codes(cluster.members[0]["grpc"])
            log(f"{n} node(s): node0 executed {(ok1 - ok0) / (t1 - t0):,.0f} ok tx/s and "
                f"{(rej1 - rej0) / (t1 - t0):,.0f} rejected tx/s in the window; "
                f"rejections in its last 5 blocks by code: {codes or 'none'}")
        return {"nodes": n, "decided_tx_per_s": round(tps, 1),
                "executed_ok_tx_per_s": round((ok1 - ok0) / (t1 - t0), 1) if args.executor else None,
                "executed_rejected_tx_per_s": round((rej1 - rej0) / (t1 - t0), 1) if args.executor else None,
                "rejections_last_blocks": codes, "blocks_per_s": round(blocks / (t1 - t0), 2),
                "views_per_s": round(views / (t1 - t0), 2), "timeouts": timeouts,
                "p50_ms": None if p50 is None else round(p50 * 1000, 1),
                "p99_ms": None if p99 is None else round(p99 * 1000, 1),
                "accepted": accepted, "refused": refused, "mempool_at_end": mempool,
                "window_s": round(t1 - t0, 2)}
    finally:
        cluster.stop()
        if args.profile:
            cluster.print_profiles()
        shutil.rmtree(root, ignore_errors=True)


def _merge(per_node: list[list]) -> list:
    acc: dict[float, float] = {}
    for b in per_node:
        for le, c in b:
            acc[le] = acc.get(le, 0.0) + c
    return sorted(acc.items())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", default="1,4")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--txs", type=int, default=300_000,
                    help="signed orders prepared in total (per cluster); enough that unpaced senders do not run dry before the window ends")
    ap.add_argument("--executor", action="store_true", help="also run the executor role (if built)")
    ap.add_argument("--block-txs", type=int, default=4000, help="sequencer.max_block_txs of the nodes")
    ap.add_argument("--mode", choices=("batch", "stream"), default="batch", help="SubmitBatch calls or SubmitStream")
    ap.add_argument("--batch", type=int, default=256, help="envelopes per SubmitBatch call (--mode batch)")
    ap.add_argument("--profile", action="store_true", help="cProfile every node; top functions printed per node")
    ap.add_argument("--rate", type=float, default=0.0, help="offered load in tx/s over all clients (0: as fast as answered)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.nodes.split(",")]
    covers = ("admission -> mempool -> consensus -> decide (persisted) -> execute" if args.executor
              else "admission (decode, signature, expiry, dedup) -> mempool -> consensus -> decide (persisted); no execution")
    rows = [run_cluster(n, args) for n in sizes]
    offered = f"offered load {args.rate:,.0f} tx/s" if args.rate else "unpaced (as fast as the nodes answer)"
    load = os.getloadavg()[0]
    print(f"\nSequencer cluster on this machine ({os.cpu_count()} CPUs, load average {load:.1f} at the end); "
          f"figure covers: {covers}; {offered}")
    print(f"{'nodes':>5} | {'decided tx/s':>12} | {'target':>7} | {'ratio':>6} | {'p50 ms':>7} | {'p99 ms':>7} | {'p99 target':>10} | {'ratio':>6}")
    for r in rows:
        tgt, p99_tgt = TARGETS.get(r["nodes"], (None, None))
        ratio = r["decided_tx_per_s"] / tgt if tgt else None
        lat_ratio = (p99_tgt * 1000) / r["p99_ms"] if p99_tgt and r["p99_ms"] else None
        r["target_tx_per_s"], r["ratio_vs_target"] = tgt, None if ratio is None else round(ratio, 3)
        r["p99_target_ms"] = None if p99_tgt is None else p99_tgt * 1000
        r["p99_ratio_target_over_measured"] = None if lat_ratio is None else round(lat_ratio, 2)
        print(f"{r['nodes']:>5} | {r['decided_tx_per_s']:>12,.0f} | {tgt or '-':>7} | "
              f"{(f'{ratio:.2f}x' if ratio else '-'):>6} | {r['p50_ms'] if r['p50_ms'] is not None else '-':>7} | "
              f"{r['p99_ms'] if r['p99_ms'] is not None else '-':>7} | {(p99_tgt * 1000 if p99_tgt else '-'):>10} | "
              f"{(f'{lat_ratio:.2f}x' if lat_ratio else '-'):>6}")
    if args.executor:
        print("executed at node 0 (trading workload: faucet-funded keys, 1-lot asks lifted by IOC bids, feeder every 0.5 s):")
        for r in rows:
            tgt = TARGETS.get(r["nodes"], (None, None))[0]
            print(f"{r['nodes']:>5} | ok {r['executed_ok_tx_per_s']:>10,.0f} tx/s"
                  + (f" ({r['executed_ok_tx_per_s'] / tgt:.2f}x of {tgt:,})" if tgt else "")
                  + f" | rejected {r['executed_rejected_tx_per_s']:>8,.0f} tx/s")
    if args.json:
        print(json.dumps({"covers": covers, "offered_tx_per_s": args.rate or None, "cpus": os.cpu_count(),
                          "load_average": load, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
