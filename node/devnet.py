"""``assetl2 devnet``: a whole local rollup on one machine (issue 8 part 1, DESIGN §9).

What it does, in order, so that everything it shows is the real system:

1. writes keys (one node key per member, one poster wallet) and one ``node.toml`` per member
   under ``--dir`` (default ``./devnet-data``);
2. starts ``assetl2 solana-dev`` (LiteSVM) initialised with the chain's genesis state root,
   the program pair of the running manifest registered and the poster wallet funded;
3. starts ``--nodes`` members (4 by default, ``1`` for the embedded one-node default) as
   ``assetl2 run`` subprocesses with all three roles, and waits until every one is ready;
4. runs a demo workload through the client SDK (``node/client``): an oracle feeder, market
   makers quoting on the book slabs, takers reserving and committing across slabs, a
   funding crank, and one liquidation of an over-leveraged account;
5. shows live progress (height, view, epoch, tx/s, fills, batches anchored on Solana with
   their signatures): one refreshing line on a terminal, plain lines otherwise.

``Ctrl-C`` or SIGTERM (or ``--duration``) stops the workload, then the nodes, then the RPC,
and exits 0.  Each run starts a fresh chain: the Solana dev ledger lives in memory, so node
data of a previous run could not be anchored again; its node data are replaced, keys kept.
``--clean`` removes the whole directory at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from node import keys as keys_mod

PROG = "assetl2 devnet"
CHAIN_ID = "assetl2-devnet-1"
EXAMPLES = Path(__file__).resolve().parent.parent / "executor" / "curvescript" / "examples"
RPC_PORT, GRPC_PORT, ADMIN_PORT, PEER_PORT = 8899, 50051, 9100, 50061
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0

# The devnet exchange (executor/curvescript/examples/devnet.curve): ids are assigned in
# sorted order of names (slabs: amm:ETH, book:BTC-A, book:BTC-B, book:ETH-A).
AMM_ETH, BTC_A, BTC_B, ETH_A = 1, 2, 3, 4
BTC, ETH = 1, 2
ORACLE_ID = 1
BUY, SELL = 1, 2
START_PX = {BTC: 60_000_000_000, ETH: 3_000_000_000}
TICK = {BTC: 100_000, ETH: 10_000}
LOT_NOTIONAL_DIV = {BTC: 1_000, ETH: 100}   # base units per lot: price_e6 // div = atoms per lot


class DevnetError(Exception):
    """A failure the user can act on; printed as one line."""


class UsageError(DevnetError):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # noqa: D401 - argparse API
        raise UsageError(message)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="local Solana RPC + node cluster + demo workload with live progress")
    p.add_argument("--dir", default="./devnet-data", help="data directory (default %(default)s)")
    p.add_argument("--nodes", type=int, default=4, choices=(1, 4), help="cluster size: 4 (BFT, f=1) or 1")
    p.add_argument("--duration", type=float, default=0, help="stop by itself after this many seconds of running")
    p.add_argument("--clean", action="store_true", help="remove --dir when stopping")
    p.add_argument("--no-demo", action="store_true", help="start the chain only, no demo workload")
    p.add_argument("--auto-ports", action="store_true",
                   help="pick free loopback ports instead of the defaults (RPC 8899, gRPC 50051+i, admin 9100+i, peer 50061+i)")
    p.add_argument("--summary-json", default=None, help="write the final summary (JSON) to this file")
    return p


# ----------------------------------------------------------------------------- layout

@dataclass
class Member:
    index: int
    dir: Path
    key: keys_mod.NodeKey
    grpc: str
    admin: str
    peer: str
    proc: subprocess.Popen | None = None

    @property
    def config(self) -> Path:
        return self.dir / "node.toml"


@dataclass
class Layout:
    root: Path
    rpc_port: int
    poster: keys_mod.NodeKey
    members: list[Member] = field(default_factory=list)

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}"

    def describe(self) -> dict:
        return {"chain_id": CHAIN_ID, "dir": str(self.root), "rpc_url": self.rpc_url,
                "poster": self.poster.address,
                "nodes": [{"index": m.index, "node_id": m.key.address, "grpc": m.grpc, "admin": m.admin,
                           "peer": m.peer, "config": str(m.config)} for m in self.members]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _check_free(port: int, what: str) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise DevnetError(f"{what} port 127.0.0.1:{port} is in use (another devnet or node running?); "
                              "stop it or use --auto-ports") from None


def _key(path: Path) -> keys_mod.NodeKey:
    """Reuse a key written by an earlier run, else create one (mode 0600)."""
    if path.exists():
        try:
            return keys_mod.load(path)
        except keys_mod.KeyFileError as exc:
            raise DevnetError(str(exc)) from None
    key = keys_mod.NodeKey.generate()
    keys_mod.write(path, key)
    return key


def prepare(root: Path, n: int, auto_ports: bool) -> Layout:
    """Keys and per-node configs; a previous run's node data are replaced (fresh chain)."""
    root = root.resolve()
    try:
        (root / "keys").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DevnetError(f"--dir {root}: cannot create ({exc.strerror})") from None
    port = _free_port if auto_ports else None
    rpc_port = port() if port else RPC_PORT
    if not port:
        _check_free(RPC_PORT, "Solana RPC")
    layout = Layout(root, rpc_port, _key(root / "keys" / "poster.json"))
    for i in range(n):
        d = root / f"node{i}"
        shutil.rmtree(d / "data", ignore_errors=True)
        (d / "data").mkdir(parents=True, exist_ok=True)
        key = _key(root / "keys" / f"node{i}.json")
        shutil.copyfile(root / "keys" / f"node{i}.json", d / "data" / "node-key.json")
        os.chmod(d / "data" / "node-key.json", 0o600)
        if port:
            addrs = [f"127.0.0.1:{port()}" for _ in range(3)]
        else:
            for p, what in ((GRPC_PORT + i, "gRPC"), (ADMIN_PORT + i, "admin"), (PEER_PORT + i, "peer")):
                _check_free(p, f"node{i} {what}")
            addrs = [f"127.0.0.1:{GRPC_PORT + i}", f"127.0.0.1:{ADMIN_PORT + i}", f"127.0.0.1:{PEER_PORT + i}"]
        layout.members.append(Member(i, d, key, *addrs))
    for m in layout.members:
        committee = ""
        if n > 1:
            committee = (f"committee_keys = {json.dumps([x.key.address for x in layout.members])}\n"
                         f"committee_peers = {json.dumps([x.peer for x in layout.members])}\n")
        m.config.write_text(
            "# Written by `assetl2 devnet`; every key is documented in docs/config.md.\n"
            f'[node]\nchain_id = "{CHAIN_ID}"\ndata_dir = "data"\nlog_format = "json"\nlog_level = "info"\n'
            f"shutdown_grace_s = 2\n"
            f'[grpc]\nlisten = "{m.grpc}"\n[admin]\nlisten = "{m.admin}"\n[peer]\nlisten = "{m.peer}"\n'
            f"[sequencer]\n{committee}"
            f'[batchposter]\nrpc_url = "{layout.rpc_url}"\nwallet_key_file = "../keys/poster.json"\n'
            f"max_blocks = 50\nmax_age_ms = 2000\n")
    (root / "devnet.json").unlink(missing_ok=True)
    return layout


# ----------------------------------------------------------------------------- processes

def _die_with_parent() -> None:
    """Children get SIGTERM if the devnet dies without cleaning up (Linux prctl PDEATHSIG)."""
    os.setsid()
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def _spawn(args: list[str], log_path: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ASSETL2__")}
    log = open(log_path, "ab")
    try:
        return subprocess.Popen([sys.executable, "-m", "node.cli", *args], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, preexec_fn=_die_with_parent)
    finally:
        log.close()


def genesis_root_and_manifest() -> tuple[bytes, object]:
    """The genesis state root the anchor starts from, and the manifest whose pair it accepts."""
    from executor.block import Executor
    from executor.curvescript import compile_file
    from executor.genesis import load_genesis
    from executor.manifest import build_manifest

    genesis = load_genesis(EXAMPLES / "devnet.curve", EXAMPLES / "devnet-genesis.toml")
    with tempfile.TemporaryDirectory() as tmp:
        ex = Executor(Path(tmp) / "probe", genesis, governance=frozenset(genesis.governance),
                      bridge_relayers=frozenset(genesis.bridge_relayers), sync=False)
        root = ex.state_root(0)
        ex.close()
    return root, build_manifest(compile_file(EXAMPLES / "devnet.curve"))


def _rpc_healthy(url: str) -> bool:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "getHealth"}).encode()
    try:
        req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=2) as resp:
            return json.loads(resp.read()).get("result") == "ok"
    except (OSError, ValueError):
        return False


def _ready(admin: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{admin}/readyz", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def _tail(path: Path, n: int = 3) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(lines[-n:])


class Supervisor:
    """Owns the child processes; stops them in reverse data-flow order (nodes, then the RPC)."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self.rpc: subprocess.Popen | None = None

    async def start(self, say) -> None:
        lay = self.layout
        say("computing the genesis state root and program manifest …")
        root, man = await asyncio.to_thread(genesis_root_and_manifest)
        say(f"starting solana-dev on {lay.rpc_url} (genesis root {root.hex()[:16]}…)")
        self.rpc = _spawn(["solana-dev", "--host", "127.0.0.1", "--port", str(lay.rpc_port), "--slot-ms", "100",
                           "--poster", lay.poster.address, "--genesis-root", root.hex(),
                           "--register", f"{man.code_hash.hex()}:{man.proof_hash.hex()}:{man.config_fingerprint.hex()}",
                           "--airdrop", f"{lay.poster.address}=100"],
                          lay.root / "solana-dev.log")
        await self._wait(lambda: _rpc_healthy(lay.rpc_url), [(self.rpc, lay.root / "solana-dev.log", "solana-dev")],
                         "solana-dev")
        say(f"starting {len(lay.members)} node(s) with roles sequencer, executor, batchposter")
        for m in lay.members:
            m.proc = _spawn(["run", "--config", str(m.config)], m.dir / "node.log")
        await self._wait(lambda: all(_ready(m.admin) for m in lay.members),
                         [(m.proc, m.dir / "node.log", f"node{m.index}") for m in lay.members] +
                         [(self.rpc, lay.root / "solana-dev.log", "solana-dev")], "the nodes")

    async def _wait(self, check, procs, what: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            for proc, log, name in procs:
                if proc.poll() is not None:
                    raise DevnetError(f"{name} exited with status {proc.returncode}: {_tail(log)} (log: {log})")
            if await asyncio.to_thread(check):
                return
            await asyncio.sleep(0.25)
        raise DevnetError(f"{what} did not become ready within {READY_TIMEOUT_S:g} s (logs under {self.layout.root})")

    def check_alive(self) -> str | None:
        for m in self.layout.members:
            if m.proc is not None and m.proc.poll() is not None:
                return f"node{m.index} exited with status {m.proc.returncode}: {_tail(m.dir / 'node.log')}"
        if self.rpc is not None and self.rpc.poll() is not None:
            return f"solana-dev exited with status {self.rpc.returncode}"
        return None

    async def stop(self) -> dict[str, int | None]:
        codes: dict[str, int | None] = {}
        procs = [(f"node{m.index}", m.proc) for m in self.layout.members if m.proc is not None]
        for _, p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for name, p in procs:
            codes[name] = await self._reap(p)
        if self.rpc is not None:
            if self.rpc.poll() is None:
                self.rpc.send_signal(signal.SIGTERM)
            codes["solana-dev"] = await self._reap(self.rpc)
        return codes

    @staticmethod
    async def _reap(p: subprocess.Popen) -> int | None:
        try:
            return await asyncio.to_thread(p.wait, STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            p.kill()
            return await asyncio.to_thread(p.wait, 5)


# ----------------------------------------------------------------------------- demo workload

class Stats:
    def __init__(self):
        self.ok = Counter()
        self.rejected = Counter()
        self.fills = 0
        self.filled_lots = 0
        self.txs_executed = 0
        self.tx_times: list[tuple[float, int]] = []
        self.batches: dict[int, str] = {}
        self.liquidation = "not attempted"
        self.funding = "not attempted"
        self.notes: list[str] = []

    def count(self, what: str, err=None) -> None:
        if err is None:
            self.ok[what] += 1
        else:
            self.rejected[f"{what}:{getattr(err, 'name', type(err).__name__)}"] += 1


class Demo:
    """The scripted demo over the SDK; every step is a real signed transaction."""

    def __init__(self, clients, stats: Stats, say):
        from node.client import Wallet
        self.clients = clients               # one Client per node; makers/takers spread over them
        self.stats = stats
        self.say = say
        self.feeder = Wallet.dev("feeder-0", CHAIN_ID)
        self.makers = [(Wallet.dev("account-1", CHAIN_ID), BTC_A, BTC), (Wallet.dev("account-2", CHAIN_ID), BTC_B, BTC),
                       (Wallet.dev("account-2", CHAIN_ID), BTC_B, ETH)]
        self.takers = [Wallet.dev("account-0", CHAIN_ID)] + [Wallet.generate(CHAIN_ID) for _ in range(3)]
        self.px = dict(START_PX)
        self.target = dict(START_PX)
        self.last_publish = 0
        self.route = int(time.time()) * 1000
        self.rng = random.Random(7)
        self.oracle_ready = asyncio.Event()

    def client(self, i: int):
        return self.clients[i % len(self.clients)]

    async def tx(self, what: str, wallet, body, client=None, *, quiet_codes=()):
        from node.client import ClientError
        c = client or self.clients[0]
        try:
            block, _ = await c.execute(wallet.sign(body), timeout_s=30)
            self.stats.count(what)
            return block
        except ClientError as err:
            self.stats.count(what, err)
            if getattr(err, "name", None) not in quiet_codes:
                self.stats.notes.append(f"{what}: {err}")
            return None

    # -- oracle: fresh prices every 400 ms (STALENESS max_age_ms=2000 in devnet.curve)
    async def oracle(self) -> None:
        from node.client import txs
        while True:
            now = int(time.time() * 1000) - 5
            publish = max(now, self.last_publish + 1)
            self.last_publish = publish
            jobs = []
            for instr in (BTC, ETH):
                px = self.px[instr]
                step = px * 250 // 10_000    # 2.5 % per update at most (MAX_MOVE bps=300)
                tgt = self.target[instr]
                if tgt != px:
                    px = min(tgt, px + step) if tgt > px else max(tgt, px - step)
                else:
                    px += self.rng.randint(-2, 2) * TICK[instr]
                    px += (START_PX[instr] - px) // 50 // TICK[instr] * TICK[instr]
                px = px // TICK[instr] * TICK[instr]
                self.px[instr] = px
                jobs.append(self.tx("oracle update", self.feeder, txs.oracle_update(ORACLE_ID, instr, px, publish)))
            await asyncio.gather(*jobs)
            self.oracle_ready.set()
            await asyncio.sleep(0.4)

    # -- market makers: keep a 5-level ladder each side near the oracle; cancel the oldest
    async def maker(self, k: int, wallet, slab: int, instr: int) -> None:
        from node.client import txs
        client = self.client(k)
        live: list[int] = []

        async def track():
            async for ev in client.events(kinds=[3], user=wallet.public):
                o = ev.order_update
                if o.slab_id != slab or o.instrument_id != instr:
                    continue
                if o.state in (1, 2) and o.order_id not in live:
                    live.append(o.order_id)
                elif o.state in (3, 4) and o.order_id in live:
                    live.remove(o.order_id)
        tracker = asyncio.create_task(track())
        try:
            await self.oracle_ready.wait()
            ladder_mid = self.px[instr]
            while True:
                mid = self.px[instr]
                if abs(mid - ladder_mid) * 10_000 > 30 * ladder_mid:
                    # the oracle moved 0.3 %: pull the old ladder before quoting around the new mid
                    for oid in list(live):
                        await self.tx("cancel order", wallet, txs.cancel_order(slab, instr, oid), client,
                                      quiet_codes=("UNKNOWN_ORDER",))
                        with contextlib.suppress(ValueError):
                            live.remove(oid)
                    ladder_mid = mid
                book = await client.order_book(slab, instr, depth=10)
                tick = TICK[instr]
                for side, levels in ((SELL, book.asks), (BUY, book.bids)):
                    depth = sum(lv.qty_lots for lv in levels)
                    if depth >= 60:
                        continue
                    for lvl in range(1, 6):
                        off = (lvl * 3 + self.rng.randint(0, 2)) * tick * (10 if instr == BTC else 3)
                        px = mid + off if side == SELL else mid - off
                        await self.tx("place order", wallet, txs.place_order(slab, instr, side, 20, px), client)
                while len(live) > 40:
                    oid = live.pop(0)
                    await self.tx("cancel order", wallet, txs.cancel_order(slab, instr, oid), client,
                                  quiet_codes=("UNKNOWN_ORDER",))
                await asyncio.sleep(0.5)
        finally:
            tracker.cancel()

    # -- takers: reserve across slabs, commit in a later epoch; sometimes cancel instead
    async def taker(self, k: int, wallet) -> None:
        from node.client import new_reveal, txs
        client = self.client(k + 1)
        await self.oracle_ready.wait()
        await asyncio.sleep(2.0)  # let the makers quote first
        while True:
            self.route += 1
            instr = BTC if self.rng.random() < 0.75 else ETH
            side = self.rng.choice((BUY, SELL))
            qty = self.rng.randint(2, 12)
            px = self.px[instr]
            limit = px + px // 100 if side == BUY else px - px // 100
            limit = limit // TICK[instr] * TICK[instr]
            pending = new_reveal(self.route, instr, side, qty, limit)
            if await self.tx("reserve", wallet, txs.reserve(pending, ttl_ms=10_000), client,
                             quiet_codes=("ROUTE_UNFILLABLE",)) is None:
                await asyncio.sleep(0.3)
                continue
            await asyncio.sleep(0.06)  # the commit must land in a later epoch (50 ms)
            if self.rng.random() < 0.1:
                await self.tx("cancel hold", wallet, txs.cancel_hold(self.route), client)
            else:
                await self.tx("commit", wallet, txs.commit(pending), client)
            await asyncio.sleep(self.rng.uniform(0.1, 0.4))

    async def fund_takers(self) -> None:
        from node.client import txs
        await asyncio.gather(*(self.tx("faucet deposit", t, txs.deposit(t.public, 200_000_000_000))
                               for t in self.takers[1:]))

    async def funding(self) -> None:
        from node.client import txs
        self.stats.funding = "stopped before it finished"
        await self.oracle_ready.wait()
        await asyncio.sleep(4.0)  # cranked once the books have a mid (premium = mid vs oracle)
        outs = []
        for instr in (BTC, ETH):
            b = await self.tx("funding crank", self.takers[0], txs.funding_crank(instr),
                              quiet_codes=("FUNDING_NOT_DUE",))
            outs.append(f"{'BTC' if instr == BTC else 'ETH'}-PERP " + (f"at height {b.header.height}" if b else "not due"))
        self.stats.funding = "; ".join(outs)

    async def liquidation(self) -> None:
        """An account buys 40 lots BTC on ~6 % margin, the oracle falls 5 % in two steps
        (MAX_MOVE is 3 % per update), and a keeper liquidates it: first call opens the grace
        window (L1), a later one sweeps the books (L3)."""
        from node.client import ClientError, Wallet, new_reveal, txs
        self.stats.liquidation = "stopped before it finished"
        await self.oracle_ready.wait()
        await asyncio.sleep(6.0)
        degen = Wallet.generate(CHAIN_ID)
        keeper = self.takers[0]
        c = self.clients[0]
        st = self.stats
        if await self.tx("faucet deposit", degen, txs.deposit(degen.public, 135_000_000)) is None:
            st.liquidation = "deposit failed"
            return
        for attempt in range(8):
            self.route += 1
            px = self.px[BTC]
            pending = new_reveal(self.route, BTC, BUY, 40, (px + px // 200) // TICK[BTC] * TICK[BTC])
            if await self.tx("reserve", degen, txs.reserve(pending, ttl_ms=10_000)) is None:
                await asyncio.sleep(1.0)
                continue
            await asyncio.sleep(0.06)
            if await self.tx("commit", degen, txs.commit(pending)) is not None:
                break
            await asyncio.sleep(1.0)
        else:
            st.liquidation = "the levered position could not be opened (see notes)"
            return
        self.say("liquidation demo: an account holds 40 lots BTC on ~6 % margin; the oracle falls 5 %")
        self.target[BTC] = START_PX[BTC] * 95 // 100 // TICK[BTC] * TICK[BTC]
        deadline = time.monotonic() + 40
        started = False
        sweeps_without_fill = 0
        try:
            while time.monotonic() < deadline:
                await asyncio.sleep(1.0)
                acc = await c.account(degen.public)
                if acc.equity_atoms >= acc.maintenance_margin_atoms and not started:
                    continue
                try:
                    block, _ = await c.execute(keeper.sign(txs.liquidate(degen.public)))
                except ClientError as err:
                    if getattr(err, "name", "") in ("LIQUIDATION_GRACE", "NOT_LIQUIDATABLE"):
                        continue
                    if getattr(err, "name", "") == "LIQUIDATION_NO_DEPTH":
                        sweeps_without_fill += 1   # no bids inside the band yet; a keeper retries
                        continue
                    st.count("liquidate", err)
                    st.notes.append(f"liquidate: {err}")
                    continue
                st.count("liquidate")
                if not started:
                    started = True
                    self.say(f"liquidation demo: equity below maintenance margin; grace window opened at height {block.header.height}")
                    continue
                after = await c.account(degen.public)
                open_lots = sum(abs(p.qty_lots) for p in after.positions)
                if open_lots >= 40 and time.monotonic() < deadline - 2:
                    sweeps_without_fill += 1
                    continue  # no depth inside the band yet (makers re-quoting); a keeper retries
                st.liquidation = (f"liquidated at height {block.header.height}: 40 lots -> {open_lots} lots open, "
                                  f"equity {after.equity_atoms / 1e6:,.2f} USDC"
                                  + (f" ({sweeps_without_fill} earlier sweeps found no depth in the band)"
                                     if sweeps_without_fill else ""))
                self.say(f"liquidation demo: {st.liquidation}")
                return
            st.liquidation = "grace window opened but not swept in time" if started else "equity never fell below MM"
        finally:
            self.target[BTC] = START_PX[BTC]

    def tasks(self) -> list:
        ts = [self.oracle(), self.funding(), self.liquidation()]
        ts += [self.maker(k, w, s, i) for k, (w, s, i) in enumerate(self.makers)]
        ts += [self.taker(k, w) for k, w in enumerate(self.takers)]
        return ts


# ----------------------------------------------------------------------------- progress

class Progress:
    """Live view: one refreshing line on a TTY, a plain line every few seconds otherwise."""

    def __init__(self, layout: Layout, clients, stats: Stats, tty: bool):
        self.layout = layout
        self.clients = clients
        self.stats = stats
        self.tty = tty
        self.status = None
        self.started = time.monotonic()

    def say(self, text: str) -> None:
        if self.tty:
            sys.stdout.write("\r\033[K")
        print(f"[devnet] {text}", flush=True)

    async def follow_blocks(self) -> None:
        """Counts executed transactions and fills from node0's event stream."""
        async for ev in self.clients[0].events():
            kind = ev.WhichOneof("kind")
            if kind == "block":
                n = len(ev.block.tx_hashes)
                self.stats.txs_executed += n
                self.stats.tx_times.append((time.monotonic(), n))
            elif kind == "fill":
                self.stats.fills += 1
                self.stats.filled_lots += ev.fill.qty_lots

    def tps(self) -> float:
        now = time.monotonic()
        recent = [(t, n) for t, n in self.stats.tx_times if t > now - 5]
        self.stats.tx_times = recent
        return sum(n for _, n in recent) / 5.0

    async def follow_batches(self) -> None:
        """Reports each confirmed batch once, with the Solana signature of the node whose
        transaction landed (the other posters see it as already posted and hold no signature)."""
        from node.client import ClientError
        nxt = 1
        while True:
            found = None
            for c in self.clients:
                try:
                    b = await c.batch(nxt)
                except ClientError:
                    continue
                if b.status == 3 and (found is None or b.solana_signature):
                    found = b
                if found is not None and found.solana_signature:
                    break
            if found is not None:
                sig = found.solana_signature or "(landed by another poster)"
                self.stats.batches[found.batch_index] = sig
                self.say(f"batch {found.batch_index} anchored: heights {found.first_height}..{found.last_height} "
                         f"root {found.state_root.hex()[:16]}… solana {sig}")
                nxt += 1
                continue
            await asyncio.sleep(0.5)

    async def render(self) -> None:
        last_plain = 0.0
        while True:
            try:
                self.status = await self.clients[0].status()
            except Exception:  # noqa: BLE001 - the view must outlive a slow answer
                pass
            st = self.status
            if st is not None:
                line = (f"height {st.height}  view {st.view}  epoch {st.epoch}  tx/s {self.tps():.0f}  "
                        f"fills {self.stats.fills}  batches anchored {len(self.stats.batches)}  "
                        f"peers {st.peers_connected}  up {time.monotonic() - self.started:.0f}s")
                if self.tty:
                    sys.stdout.write("\r\033[K" + line)
                    sys.stdout.flush()
                elif time.monotonic() - last_plain >= 5:
                    print(f"[devnet] {line}", flush=True)
                    last_plain = time.monotonic()
            await asyncio.sleep(0.5)


# ----------------------------------------------------------------------------- main

async def agreement(clients) -> dict:
    """Every node's state root at the highest height all of them executed."""
    sts = [await c.status() for c in clients]
    h = min(s.height for s in sts)
    roots = []
    for c in clients:
        b = await c.block(h)
        roots.append(b.state_root.hex())
    return {"height": h, "roots": roots, "agree": len(set(roots)) == 1}


async def audit(layout: Layout, clients) -> dict:
    """The auditor's check, in process: account-0's vault as served by a node (proof verified
    by the SDK) at the last height of the latest confirmed batch, verified against the state
    root anchored on the Solana RPC (the same check as `assetl2 verify-anchor`)."""
    from batchposter.audit import ProofClaim, verify_anchor
    from node.client import Wallet

    c = clients[-1]
    latest = await c.batch()
    index = latest.batch_index
    while index > 0:
        b = await c.batch(index)
        if b.status == 3:
            break
        index -= 1
    else:
        return {"ok": False, "detail": "no confirmed batch yet"}
    acc = await c.account(Wallet.dev("account-0", CHAIN_ID).public)
    key = bytes(acc.proofs[0].key)
    sv = await c.state_value(key, height=b.last_height)
    claim = ProofClaim(key, bytes(sv.value.value) if sv.value.present else None, bytes(sv.value.proof), b.last_height)
    report = await verify_anchor(layout.rpc_url, proof=claim, timeout_s=10)
    return {"ok": report.ok, "batch": b.batch_index, "height": b.last_height,
            "state_root": b.state_root.hex(), "batches_checked": report.batches_checked,
            "detail": report.proof.detail if report.proof else "; ".join(report.problems)}


async def run(args) -> int:
    tty = sys.stdout.isatty()
    layout = prepare(Path(args.dir), args.nodes, args.auto_ports)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sup = Supervisor(layout)
    stats = Stats()
    progress = None
    tasks: list[asyncio.Task] = []
    clients = []
    failure = None
    summary: dict = {}
    say = lambda text: print(f"[devnet] {text}", flush=True)  # noqa: E731

    async def until_stopped(coro):
        t = asyncio.create_task(coro)
        s = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({t, s}, return_when=asyncio.FIRST_COMPLETED)
        if t in done:
            s.cancel()
            return t.result()
        t.cancel()
        with contextlib.suppress(BaseException):
            await t
        return None

    try:
        await until_stopped(sup.start(say))
        if not stop.is_set():
            from node.client import Client
            for m in layout.members:
                clients.append(await Client.connect(m.grpc, CHAIN_ID))
            (layout.root / "devnet.json").write_text(json.dumps(layout.describe(), indent=2))
            n0 = layout.members[0]
            say(f"ready: {len(layout.members)} node(s), chain {CHAIN_ID}, node0 gRPC {n0.grpc} admin http://{n0.admin}, "
                f"Solana RPC {layout.rpc_url}; details in {layout.root / 'devnet.json'}")
            progress = Progress(layout, clients, stats, tty)
            say = progress.say
            tasks += [asyncio.create_task(progress.follow_blocks()), asyncio.create_task(progress.follow_batches()),
                      asyncio.create_task(progress.render())]
            if not args.no_demo:
                demo = Demo(clients, stats, progress.say)
                await demo.fund_takers()
                tasks += [asyncio.create_task(c) for c in demo.tasks()]
                say("demo workload running: oracle feeder, 3 market makers, 4 takers (reserve→commit across slabs), "
                    "funding crank, one liquidation")
            deadline = time.monotonic() + args.duration if args.duration else None
            while not stop.is_set():
                problem = sup.check_alive()
                if problem:
                    failure = problem
                    break
                for t in tasks:
                    if t.done() and not t.cancelled() and t.exception() is not None:
                        stats.notes.append(f"task failed: {t.exception()!r}")
                        tasks.remove(t)
                        break
                if deadline and time.monotonic() >= deadline:
                    break
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)
            if tty:
                print()
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(BaseException):
                    await t
            if failure is None:
                with contextlib.suppress(Exception):
                    summary["agreement"] = await agreement(clients)
                try:
                    summary["audit"] = await asyncio.wait_for(audit(layout, clients), 20)
                except Exception as exc:  # noqa: BLE001 - reported, not fatal to a demo
                    summary["audit"] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
            with contextlib.suppress(Exception):
                progress.status = await clients[0].status()
            st = progress.status
            summary.update({
                "nodes": len(layout.members), "height": st.height if st else 0,
                "fills": stats.fills, "filled_lots": stats.filled_lots, "txs_executed": stats.txs_executed,
                "ok": dict(stats.ok), "rejected": dict(stats.rejected),
                "batches_anchored": len(stats.batches),
                "batch_signatures": {str(k): v for k, v in sorted(stats.batches.items())},
                "funding": stats.funding, "liquidation": stats.liquidation, "notes": stats.notes[-20:],
            })
    except DevnetError as exc:
        failure = str(exc)
    finally:
        for c in clients:
            with contextlib.suppress(Exception):
                await c.close()
        say("stopping: nodes, then solana-dev …")
        codes = await sup.stop()
        summary["exit_codes"] = codes
    if summary.get("height") is not None and "fills" in summary:
        ag = summary.get("agreement")
        print(f"[devnet] summary: height {summary['height']}, {summary['txs_executed']} txs executed, "
              f"{summary['fills']} fills ({summary['filled_lots']} lots), {summary['batches_anchored']} batches anchored"
              + (f", {len(ag['roots'])} node(s) agree on the state root at height {ag['height']}" if ag and ag["agree"]
                 else (", NODES DISAGREE on the state root" if ag else "")), flush=True)
        print(f"[devnet] funding: {summary['funding']}; liquidation: {summary['liquidation']}", flush=True)
        au = summary.get("audit")
        if au:
            print("[devnet] audit: " + (f"account-0's vault at height {au['height']} verifies against the state root "
                                        f"anchored on Solana in batch {au['batch']} ({au['batches_checked']} batches checked)"
                                        if au["ok"] else f"FAILED: {au['detail']}"), flush=True)
        if summary["rejected"]:
            print(f"[devnet] rejections: {', '.join(f'{k} x{v}' for k, v in sorted(summary['rejected'].items()))}", flush=True)
    if failure:
        summary["failure"] = failure
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(summary, indent=2))
    if args.clean:
        shutil.rmtree(layout.root, ignore_errors=True)
        print(f"[devnet] removed {layout.root}", flush=True)
    else:
        print(f"[devnet] data kept in {layout.root} (logs: solana-dev.log, node*/node.log)", flush=True)
    if failure:
        raise DevnetError(failure)
    print("[devnet] stopped", flush=True)
    return 0


def main(argv: list[str]) -> int:
    try:
        args = parser().parse_args(argv)
        if args.duration < 0:
            raise UsageError(f"--duration must be >= 0, got {args.duration:g}")
        import uvloop
        return uvloop.run(run(args))
    except DevnetError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr, flush=True)
        return 2 if isinstance(exc, UsageError) else 1
    except KeyboardInterrupt:
        return 0
