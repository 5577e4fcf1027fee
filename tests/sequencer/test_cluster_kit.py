"""Harness for the real-process sequencer cluster tests (issue 6 "a real 4-node cluster").

Each node is `assetl2 run --config nodeN.toml` in its own process on loopback ports from
`support.free_port()`, with its own key and data directory, the sequencer role only, and short
consensus timeouts so faults resolve in seconds. Everything that waits is bounded in time.
Decided chains are compared by opening each stopped node's LevelDB safety store.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from nacl.signing import SigningKey

from executor.tx import tx_hash
from node import keys
from proto.assetl2.v1 import client_pb2_grpc, tx_pb2
from sequencer.storage import LevelDBSafetyStore
import support
from support import free_port

CHAIN = "assetl2-cluster"
REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0
SEQUENCER = {
    "base_timeout_ms": 400,
    "max_timeout_ms": 1600,
    "empty_block_delay_ms": 25,
    "catchup_timeout_ms": 3000,
}


@dataclass
class Member:
    index: int
    dir: Path
    key: keys.NodeKey
    grpc: str
    admin: str
    peer: str
    proc: subprocess.Popen | None = None
    log: object = None
    log_started: bool = False

    @property
    def config(self) -> Path:
        return self.dir / "node.toml"

    def http(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://{self.admin}{path}", timeout=3) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def status(self) -> dict | None:
        try:
            return json.loads(self.http("/status")[1])
        except (OSError, ValueError):
            return None

    def metric(self, name: str) -> float:
        """Sum of every sample of `name` (any labels) in /metrics; 0 when absent."""
        try:
            text = self.http("/metrics")[1].decode()
        except OSError:
            return 0.0
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and (line[len(name)] in " {"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def height(self) -> int:
        st = self.status()
        return int(st.get("height", 0)) if st else -1

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class Cluster:
    root: Path
    members: list[Member] = field(default_factory=list)

    @classmethod
    def create(cls, root: Path, n: int, sequencer: dict | None = None, roles: tuple[str, ...] = ("sequencer",),
               chain: str = CHAIN, committee_dir: Path | None = None) -> "Cluster":
        """``committee_dir``: members find each other there (node/committee.py) instead of
        listing the committee in their configs."""
        c = cls(root)
        for i in range(n):
            d = root / f"node{i}"
            (d / "data").mkdir(parents=True)
            key = keys.NodeKey.generate()
            keys.write(d / "data" / "node-key.json", key)
            c.members.append(Member(i, d, key, f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}",
                                    f"127.0.0.1:{free_port()}"))
        settings = dict(SEQUENCER, **(sequencer or {}))
        for m in c.members:
            committee = ""
            if committee_dir is not None:
                committee = (f'committee_dir = "{committee_dir}"\ncommittee_size = {n}\n'
                             f'advertise_peer = "{m.peer}"\ncommittee_wait_s = 60\n')
            elif n > 1:
                committee = (f"committee_keys = {json.dumps([x.key.address for x in c.members])}\n"
                             f"committee_peers = {json.dumps([x.peer for x in c.members])}\n")
            extra = "".join(f"{k} = {v}\n" for k, v in settings.items())
            m.config.write_text(
                f'[node]\nchain_id = "{chain}"\ndata_dir = "data"\nroles = {json.dumps(list(roles))}\n'
                f'log_format = "text"\nlog_level = "warning"\nshutdown_grace_s = 1\n'
                f'[grpc]\nlisten = "{m.grpc}"\n[admin]\nlisten = "{m.admin}"\n[peer]\nlisten = "{m.peer}"\n'
                f"[sequencer]\n{committee}{extra}"
            )
        return c

    # -- processes -----------------------------------------------------------------------------

    def start(self, *indices: int) -> None:
        """Start members (all by default) and wait until each is ready."""
        targets = [self.members[i] for i in (indices or range(len(self.members)))]
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ASSETL2__")}
        for m in targets:
            if m.log_started:
                # node/app.py binds admin without SO_REUSEADDR, so a restarted node cannot rebind
                # while the old port sits in TIME_WAIT; move it (the admin port is not consensus).
                old, m.admin = m.admin, f"127.0.0.1:{free_port()}"
                m.config.write_text(m.config.read_text().replace(f'"{old}"', f'"{m.admin}"'))
            m.log_started = True
            m.log = open(m.dir / "node.log", "ab")
            m.proc = subprocess.Popen([sys.executable, "-m", "node.cli", "run", "--config", str(m.config)],
                                      stdout=m.log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        deadline = time.monotonic() + START_TIMEOUT_S
        for m in targets:
            while True:
                if m.proc.poll() is not None:
                    raise RuntimeError(f"node{m.index} exited {m.proc.returncode}: {self.tail(m)}")
                try:
                    if m.http("/readyz")[0] == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"node{m.index} not ready in {START_TIMEOUT_S}s: {self.tail(m)}")
                time.sleep(0.1)

    def tail(self, m: Member) -> str:
        try:
            return (m.dir / "node.log").read_text()[-2000:]
        except OSError:
            return ""

    def stop(self, *indices: int, sig: int = signal.SIGTERM) -> None:
        targets = [self.members[i] for i in (indices or range(len(self.members)))]
        for m in targets:
            if m.alive:
                m.proc.send_signal(sig)
        for m in targets:
            if m.proc is not None:
                try:
                    m.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    m.proc.kill()
                    m.proc.wait(timeout=10)
                m.proc = None
            if m.log is not None:
                m.log.close()
                m.log = None

    def kill(self, *indices: int) -> None:
        self.stop(*indices, sig=signal.SIGKILL)

    def running(self) -> list[Member]:
        return [m for m in self.members if m.alive]

    # -- observations --------------------------------------------------------------------------

    def heights(self) -> dict[int, int]:
        return {m.index: m.height() for m in self.running()}

    def wait_heights(self, target: int, timeout_s: float, members: list[Member] | None = None) -> dict[int, int]:
        """Wait until every given (default: running) member decided `target`; returns heights."""
        members = members if members is not None else self.running()
        deadline = time.monotonic() + timeout_s
        while True:
            hs = {m.index: m.height() for m in members}
            if all(h >= target for h in hs.values()):
                return hs
            if time.monotonic() > deadline:
                raise AssertionError(f"heights {hs} did not reach {target} within {timeout_s}s")
            time.sleep(0.1)

    def leader_index(self) -> int:
        views = [int(s["view"]) for m in self.running() if (s := m.status())]
        return max(views) % len(self.members)

    def decided_chains(self) -> dict[int, list[bytes]]:
        """Decided block hashes by height of every (stopped) member, read from its store."""
        out = {}
        for m in self.members:
            store = LevelDBSafetyStore(str(m.dir / "data" / "sequencer" / "consensus"))
            try:
                out[m.index] = [store.decided_block(h).block.hash for h in range(1, store.decided_height + 1)]
            finally:
                store.close()
        return out

    def decided_tx_hashes(self, index: int) -> set[bytes]:
        store = LevelDBSafetyStore(str(self.members[index].dir / "data" / "sequencer" / "consensus"))
        try:
            out = set()
            for h in range(1, store.decided_height + 1):
                for raw in store.decided_block(h).block.payload:
                    out.add(tx_hash(tx_pb2.Envelope.FromString(raw).payload))
            return out
        finally:
            store.close()


def assert_one_chain(chains: dict[int, list[bytes]]) -> int:
    """Every pair of members agrees at every height both decided (no fork); returns min height."""
    longest = max(chains.values(), key=len)
    for idx, chain in chains.items():
        assert chain == longest[: len(chain)], f"node{idx} decided a different block at some height"
    return min(len(c) for c in chains.values())


def signed_orders(n: int, key: SigningKey | None = None, nonce0: int = 0, chain: str = CHAIN) -> list[tx_pb2.Envelope]:
    """``support.signed_orders`` for this harness's chain."""
    return support.signed_orders(n, chain, key, nonce0)


def submit(member: Member, envelopes: list[tx_pb2.Envelope], timeout_s: float = 10.0) -> list:
    with grpc.insecure_channel(member.grpc) as ch:
        stub = client_pb2_grpc.ClientApiStub(ch)
        return list(stub.SubmitStream(iter(envelopes), timeout=timeout_s))


def test_harness_writes_one_committee_for_all_members(tmp_path):
    c = Cluster.create(tmp_path, 4)
    texts = [m.config.read_text() for m in c.members]
    lines = [t.split("committee_keys")[1].splitlines()[0] for t in texts]
    assert len(set(lines)) == 1 and all(m.key.address in lines[0] for m in c.members)
