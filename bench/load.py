"""Load generator: many simulated clients over gRPC at a target rate (issue 8 part 4).

    python bench/load.py --node 127.0.0.1:50051 --clients 50 --rate 500 --duration 20
    assetl2 bench load …            (same options)

Every simulated client has its own key and its own bidirectional ``SubmitStream`` (or, with
``--batch-ms``, a ``BatchSender`` that groups what it sends within that many milliseconds into
one ``SubmitBatch`` — the node's fast path, issue 6) and sends real signed transactions on an open-loop schedule (a client does not wait for one answer
before sending the next, as a market maker would not), so the node's admission and
consensus are what limits the rate, not the generator.  Measured:

- **admission latency**: send → ``SubmitResult`` (decode, signature, dedup, mempool);
- **decide latency**: send → the transaction's receipt in an executed block (a follower on
  the first node's event stream), i.e. what a client waits for before it knows the outcome;
- achieved rates and rejections by stable code, at admission and at execution.

Transaction kinds: ``deposit`` (dev faucet credit to the client's own vault — changes state;
needs a chain whose genesis enables the faucet, as the devnet's does) or ``cancel-hold`` (a
cancel of an unknown hold: valid and idempotent, no state change beyond deduplication).

A progress bar goes to stderr; the report to stdout (``--json``: one JSON object, last line).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from node.client import Client, ClientError, Wallet, txs  # noqa: E402

PROG = "assetl2 bench load"


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # noqa: D401 - argparse API
        raise UsageError(message)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="many gRPC clients at a target rate against a node or devnet")
    p.add_argument("--node", action="append", default=[], help="client API host:port; repeatable (clients spread); "
                   "default 127.0.0.1:50051")
    p.add_argument("--chain-id", default="assetl2-devnet-1")
    p.add_argument("--clients", type=int, default=50, help="simulated clients (default %(default)s)")
    p.add_argument("--rate", type=float, default=500.0, help="target transactions per second, total (default %(default)s)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of sending (default %(default)s)")
    p.add_argument("--drain", type=float, default=15.0, help="seconds to wait for outstanding decisions (default %(default)s)")
    p.add_argument("--tx", choices=("deposit", "cancel-hold"), default="deposit", help="transaction kind")
    p.add_argument("--batch-ms", type=float, default=0.0, help="group each client's sends over this many ms into "
                   "SubmitBatch calls (0: one SubmitStream message per transaction)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object (last line)")
    p.add_argument("--seed", type=int, default=1)
    return p


def percentiles(xs: list[float]) -> dict:
    if not xs:
        return {"n": 0}
    s = sorted(xs)

    def q(p: float) -> float:
        return round(s[min(len(s) - 1, int(p * len(s)))] * 1000, 2)
    return {"n": len(s), "p50_ms": q(0.50), "p90_ms": q(0.90), "p99_ms": q(0.99), "max_ms": round(s[-1] * 1000, 2)}


class Load:
    def __init__(self, args):
        self.args = args
        self.sent = 0
        self.admitted = 0
        self.decided = 0
        self.executed_ok = 0
        self.rejected: Counter = Counter()
        self.admission: list[float] = []
        self.decide: list[float] = []
        self.sent_at: dict[bytes, float] = {}
        self.t0 = 0.0
        self.t_send_end = 0.0
        self.last = {"sent": 0.0, "admitted": 0.0, "decided": 0.0}

    async def follow(self, client: Client, stop: asyncio.Event) -> None:
        async for ev in client.events(kinds=[1]):
            now = time.monotonic()
            for r in ev.block.receipts:
                t = self.sent_at.pop(bytes(r.tx_hash), None)
                if t is None:
                    continue
                self.decided += 1
                self.last["decided"] = now
                self.decide.append(now - t)
                if r.ok:
                    self.executed_ok += 1
                else:
                    self.rejected[f"execution:{r.error_name or r.error_code}"] += 1
            if stop.is_set() and not self.sent_at:
                return

    async def one_client(self, k: int, client: Client, rng: random.Random) -> None:
        a = self.args
        w = Wallet.generate(a.chain_id)
        stream = client.batcher(flush_ms=a.batch_ms) if a.batch_ms > 0 else await client.stream()
        interval = a.clients / a.rate
        next_at = self.t0 + rng.uniform(0, interval)
        pending = []
        while True:
            now = time.monotonic()
            if now >= self.t_send_end:
                break
            if next_at > now:
                await asyncio.sleep(next_at - now)
            next_at += interval
            body = txs.deposit(w.public, 1_000_000) if a.tx == "deposit" else txs.cancel_hold(rng.getrandbits(62) + 1)
            env = w.sign(body)
            h = txs.envelope_hash(env)
            t = time.monotonic()
            self.sent_at[h] = t
            self.sent += 1
            self.last["sent"] = t
            fut = stream.send(env)
            fut.add_done_callback(lambda f, h=h, t=t: self._admitted(f, h, t))
            pending.append(fut)
        await asyncio.gather(*pending, return_exceptions=True)
        await stream.close()

    def _admitted(self, fut: asyncio.Future, h: bytes, t: float) -> None:
        if fut.cancelled() or fut.exception() is not None:
            self.rejected["admission:STREAM_ERROR"] += 1
            self.sent_at.pop(h, None)
            return
        res = fut.result()
        now = time.monotonic()
        self.admission.append(now - t)
        self.last["admitted"] = now
        if res.accepted:
            self.admitted += 1
        else:
            self.rejected[f"admission:{res.error_name or res.grpc_status}"] += 1
            self.sent_at.pop(h, None)

    async def progress(self, stop: asyncio.Event) -> None:
        tty = sys.stderr.isatty()
        a = self.args
        last_line = 0.0
        while not stop.is_set():
            el = time.monotonic() - self.t0
            frac = min(1.0, el / a.duration)
            bar = "#" * int(frac * 30) + "-" * (30 - int(frac * 30))
            line = (f"[{bar}] {min(el, a.duration):5.1f}/{a.duration:g}s sent {self.sent} admitted {self.admitted} "
                    f"decided {self.decided} ({self.sent / max(el, 1e-9):.0f} tx/s sent)")
            if tty:
                sys.stderr.write("\r\033[K" + line)
                sys.stderr.flush()
            elif time.monotonic() - last_line >= 2:
                print(line, file=sys.stderr, flush=True)
                last_line = time.monotonic()
            await asyncio.sleep(0.2)
        if tty:
            sys.stderr.write("\n")

    async def run(self) -> dict:
        a = self.args
        nodes = a.node or ["127.0.0.1:50051"]
        clients = [await Client.connect(n, a.chain_id) for n in nodes]
        stop = asyncio.Event()
        follower = asyncio.create_task(self.follow(clients[0], stop))
        await asyncio.sleep(0.3)  # subscribed before the first transaction can be decided
        rng = random.Random(a.seed)
        self.t0 = time.monotonic()
        self.t_send_end = self.t0 + a.duration
        prog_stop = asyncio.Event()
        prog = asyncio.create_task(self.progress(prog_stop))
        await asyncio.gather(*(self.one_client(k, clients[k % len(clients)], random.Random(rng.random()))
                               for k in range(a.clients)))
        send_s = time.monotonic() - self.t0
        stop.set()
        try:
            await asyncio.wait_for(follower, a.drain)
        except asyncio.TimeoutError:
            pass
        prog_stop.set()
        await prog
        undecided = len(self.sent_at)

        def rate(n: int, what: str) -> float:
            """Per second over the window from the start to the last such event."""
            span = self.last[what] - self.t0
            return round(n / span, 1) if span > 0 else 0.0
        for c in clients:
            await c.close()
        return {
            "nodes": nodes, "clients": a.clients, "tx": a.tx, "target_tps": a.rate, "duration_s": a.duration, "wall_s": round(send_s, 2),
            "sent": self.sent, "admitted": self.admitted, "decided": self.decided, "executed_ok": self.executed_ok,
            "undecided_after_drain": undecided,
            "sent_tps": rate(self.sent, "sent"), "admitted_tps": rate(self.admitted, "admitted"),
            "decided_tps": rate(self.decided, "decided"),
            "admission_latency": percentiles(self.admission), "decide_latency": percentiles(self.decide),
            "rejections": dict(self.rejected),
        }


def report(r: dict) -> str:
    rows = [("target tx/s", r["target_tps"]), ("sent tx/s", r["sent_tps"]), ("admitted tx/s", r["admitted_tps"]),
            ("decided tx/s", r["decided_tps"]), ("sent / admitted / decided", f"{r['sent']} / {r['admitted']} / {r['decided']}"),
            ("undecided after drain", r["undecided_after_drain"])]
    for name in ("admission_latency", "decide_latency"):
        p = r[name]
        rows.append((name.replace("_", " "), "n=0" if not p["n"] else
                     f"p50 {p['p50_ms']} ms  p90 {p['p90_ms']} ms  p99 {p['p99_ms']} ms  max {p['max_ms']} ms"))
    rows.append(("rejections", ", ".join(f"{k} x{v}" for k, v in sorted(r["rejections"].items())) or "none"))
    w = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(w)}  {v}" for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parser().parse_args(argv)
        if args.clients < 1 or args.rate <= 0 or args.duration <= 0 or args.drain < 0:
            raise UsageError("--clients, --rate and --duration must be positive (and --drain >= 0)")
        r = asyncio.run(Load(args).run())
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except ClientError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print(json.dumps(r) if args.json else report(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
