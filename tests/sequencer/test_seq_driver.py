"""The asyncio driver: persist-then-send on real LevelDB, timers, and an in-process cluster."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from seqkit import Cluster, config

from sequencer.consensus import Decide
from sequencer.crypto import Verifier
from sequencer.driver import ReplicaDriver, SystemClock
from sequencer.mempool import Mempool, MempoolConfig
from sequencer.consensus import Replica
from sequencer.pacemaker import PacemakerConfig
from sequencer.storage import LevelDBSafetyStore
from sequencer.types import Proposal, TimeoutVote, Vote


class LoopbackNet:
    """Delivers to the other in-process drivers and checks what the sender had on disk."""

    def __init__(self) -> None:
        self.drivers: dict[int, ReplicaDriver] = {}
        self.violations: list[str] = []

    def endpoint(self, index: int) -> "Endpoint":
        return Endpoint(self, index)


class Endpoint:
    def __init__(self, net: LoopbackNet, index: int) -> None:
        self.net, self.index = net, index

    def _check(self, message) -> None:
        rec = self.net.drivers[self.index].store.load()
        if isinstance(message, (Vote, TimeoutVote)) and (rec is None or rec.safety.last_voted_view < message.view):
            self.net.violations.append(f"{self.index} sent {type(message).__name__} {message.view} before persisting")
        if isinstance(message, Proposal) and (rec is None or rec.last_proposal is None or rec.last_proposal.view < message.view):
            self.net.violations.append(f"{self.index} sent proposal {message.view} before persisting")

    def send(self, to, message) -> None:
        self._check(message)
        self.net.drivers[to].deliver(self.index, message)

    def broadcast(self, message) -> None:
        self._check(message)
        for i, d in self.net.drivers.items():
            if i != self.index:
                d.deliver(self.index, message)


class Sink:
    def __init__(self) -> None:
        self.blocks = []
        self.event = asyncio.Event()

    def on_decided(self, decide: Decide) -> None:
        self.blocks.extend(d.block for d in decide.blocks)
        self.event.set()


def _cluster(n, tmp_path):
    cfg = replace(
        config(),
        genesis_timestamp_ms=SystemClock().now_ms() - 1_000,
        max_clock_skew_ms=5_000,
        empty_block_delay_ms=20,
        pacemaker=PacemakerConfig(base_timeout_ms=400, max_timeout_ms=2_000),
    )
    c = Cluster(n, cfg)
    net = LoopbackNet()
    sinks = []
    for i in range(n):
        clock = SystemClock()
        store = LevelDBSafetyStore(str(tmp_path / f"n{i}"))
        replica = Replica(cfg, c.committee, c.signers[i], clock, Mempool(MempoolConfig(), clock), Verifier(), store.load(), store.block_by_hash)
        sink = Sink()
        sinks.append(sink)
        net.drivers[i] = ReplicaDriver(replica, store, net.endpoint(i), sink)
    return net, sinks


async def _wait_for(pred, timeout_s=30.0):
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not pred():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_single_node_driver_decides_submitted_transactions_on_leveldb(tmp_path):
    net, sinks = _cluster(1, tmp_path)
    driver = net.drivers[0]
    driver.start()
    driver.submit((b"alpha", b"beta"))
    await _wait_for(lambda: any(b.payload == (b"alpha", b"beta") for b in sinks[0].blocks))
    await driver.stop()
    assert driver.store.decided_height >= 1
    driver.store.close()


async def test_four_in_process_replicas_decide_the_same_blocks_persisting_before_sending(tmp_path):
    net, sinks = _cluster(4, tmp_path)
    for d in net.drivers.values():
        d.start()
    for k in range(5):
        for d in net.drivers.values():
            d.submit((b"tx-%d" % k,))
        await asyncio.sleep(0.02)
    wanted = {b"tx-%d" % k for k in range(5)}
    await _wait_for(lambda: all(wanted <= {tx for b in s.blocks for tx in b.payload} for s in sinks))
    for d in net.drivers.values():
        await d.stop()
    assert net.violations == []
    h = min(len(s.blocks) for s in sinks)
    assert len({tuple(b.hash for b in s.blocks[:h]) for s in sinks}) == 1
    for d in net.drivers.values():
        d.store.close()
