"""Deterministic in-memory network and cluster simulator for consensus tests.

N replicas run the production `Replica` code against a virtual clock; a seeded RNG decides every
delay, drop and reordering, so a failing schedule replays exactly from its seed (STYLE: HotShot's
scripted test harness, relab/hotstuff's `twins`). Faults are data:

- `NetConfig`: per-message delay range and drop rate before and after GST; partitions as
  time windows with groups that can only talk among themselves;
- `Crash`: take a node down at a time (optionally cutting its current action list after a
  number of actions, i.e. crashing between a `Persist` and the sends that follow it) and
  restart it later from its storage — several at once for the all-nodes restart;
- byzantine behaviours (`byzantine.py`) swap the output of a node's honest replica.

The driver obeys the replica's action contract exactly as the node must: `Persist` and
`Decide` go to the node's `SafetyStore` before any later action of the same list runs. The
simulator records every signed vote honest nodes put on the wire and every decided block, and
`check_safety()` asserts the two properties of issue 6: no conflicting decisions at any height,
and no honest node signs two votes in one view — across crashes and restarts.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

from .codec import decode_message, encode_message
from .consensus import (
    Action,
    Broadcast,
    ConsensusConfig,
    Decide,
    Event,
    MessageReceived,
    NewTransactions,
    Persist,
    RawMessageReceived,
    Replica,
    Send,
    SetTimer,
    Start,
    TimerFired,
)
from .crypto import Signer, Verifier
from .mempool import Mempool, MempoolConfig
from .pacemaker import PacemakerConfig
from .storage import MemorySafetyStore, SafetyStore
from .types import Committee, Message, Proposal, TimeoutVote, Vote


@dataclass
class VirtualClock:
    t_ms: int = 0

    def now_ms(self) -> int:
        return self.t_ms


@dataclass
class NodeClock:
    """A node's view of the virtual clock, with a fixed skew (rollup-clock tests)."""

    base: VirtualClock
    offset_ms: int = 0

    def now_ms(self) -> int:
        return self.base.t_ms + self.offset_ms


@dataclass(frozen=True)
class Partition:
    start_ms: int
    end_ms: int
    groups: tuple[frozenset[int], ...]

    def blocks(self, now: int, a: int, b: int) -> bool:
        if not self.start_ms <= now < self.end_ms:
            return False
        return not any(a in g and b in g for g in self.groups)


@dataclass(frozen=True)
class NetConfig:
    min_delay_ms: int = 1
    max_delay_ms: int = 20
    drop_rate: float = 0.0
    gst_ms: int = 0
    pre_gst_max_delay_ms: int = 400
    pre_gst_drop_rate: float = 0.2
    partitions: tuple[Partition, ...] = ()


@dataclass(frozen=True)
class Crash:
    node: int
    at_ms: int
    restart_at_ms: int | None
    cut_after_actions: int | None = None


def make_signers(n: int, salt: int = 0) -> list[Signer]:
    return [Signer.from_seed(bytes([salt % 256, i % 256, i // 256]) + bytes(29)) for i in range(n)]


def default_config(**overrides) -> ConsensusConfig:
    base = ConsensusConfig(
        chain_id=b"assetl2-sim",
        genesis_timestamp_ms=0,
        max_clock_skew_ms=2_000,
        empty_block_delay_ms=50,
        pacemaker=PacemakerConfig(base_timeout_ms=300, max_timeout_ms=5_000, view_sync_after=2),
    )
    return replace(base, **overrides)


class SafetyViolation(AssertionError):
    pass


@dataclass
class SimNode:
    index: int
    signer: Signer
    clock: NodeClock
    store: SafetyStore
    replica: Replica | None = None
    up: bool = True
    behaviour: object | None = None
    timer_gen: dict[str, int] = field(default_factory=dict)
    decided: list[bytes] = field(default_factory=list)  # block hash per height (index = height-1)
    decided_txs: list[bytes] = field(default_factory=list)
    persisted_voted_view: int = 0
    persisted_proposal_view: int = 0
    restarts: int = 0
    pending_cut: int | None = None
    pending_restart_at: int | None = None


class Simulation:
    """A seeded cluster of `n` replicas on an in-memory network."""

    def __init__(
        self,
        n: int,
        seed: int,
        net: NetConfig = NetConfig(),
        config: ConsensusConfig | None = None,
        byzantine: dict[int, Callable[["Simulation", int], object]] | None = None,
        crashes: Iterable[Crash] = (),
        wire: bool = False,
        clock_offsets_ms: dict[int, int] | None = None,
        mempool_config: MempoolConfig | None = None,
        store_factory: Callable[[int], SafetyStore] | None = None,
    ) -> None:
        self.n = n
        self.rng = random.Random(seed)
        self.net = net
        self.config = config or default_config()
        self.wire = wire
        self.clock = VirtualClock(0)
        self.signers = make_signers(n)
        self.committee = Committee(tuple(s.public_key for s in self.signers))
        self.mempool_config = mempool_config or MempoolConfig()
        self._heap: list = []
        self._seq = 0
        offsets = clock_offsets_ms or {}
        self.nodes = [
            SimNode(
                i,
                self.signers[i],
                NodeClock(self.clock, offsets.get(i, 0)),
                store_factory(i) if store_factory else MemorySafetyStore(),
            )
            for i in range(n)
        ]
        self.byzantine = set((byzantine or {}).keys())
        self.honest_votes: dict[tuple[int, int], bytes] = {}
        self.messages_sent = 0
        self.messages_dropped = 0
        for node in self.nodes:
            node.replica = self._new_replica(node)
            if byzantine and node.index in byzantine:
                node.behaviour = byzantine[node.index](self, node.index)
        for c in crashes:
            self._push(c.at_ms, "crash", c)
        for node in self.nodes:
            self._deliver(node, Start())

    # -- construction --------------------------------------------------------------------------

    def _new_replica(self, node: SimNode) -> Replica:
        return Replica(
            self.config,
            self.committee,
            node.signer,
            node.clock,
            Mempool(self.mempool_config, node.clock),
            verifier=Verifier(),
            recovered=node.store.load(),
            archive=node.store.block_by_hash,
        )

    def honest(self) -> list[SimNode]:
        return [n for n in self.nodes if n.index not in self.byzantine]

    # -- scheduling ----------------------------------------------------------------------------

    def _push(self, at_ms: int, kind: str, payload) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at_ms, self._seq, kind, payload))

    def run_until(self, t_ms: int, stop: Callable[[], bool] | None = None) -> None:
        while self._heap and self._heap[0][0] <= t_ms:
            at, _, kind, payload = heapq.heappop(self._heap)
            self.clock.t_ms = max(self.clock.t_ms, at)
            if kind == "msg":
                sender, dest, msg = payload
                node = self.nodes[dest]
                if node.up:
                    if self.wire:
                        self._deliver(node, RawMessageReceived(sender, msg))
                    else:
                        self._deliver(node, MessageReceived(sender, msg))
            elif kind == "timer":
                index, timer_kind, gen = payload
                node = self.nodes[index]
                if node.up and node.timer_gen.get(timer_kind) == gen:
                    self._deliver(node, TimerFired(timer_kind))
            elif kind == "crash":
                self._crash(payload)
            elif kind == "restart":
                self._restart(self.nodes[payload])
            elif kind == "call":
                payload()
            if stop is not None and stop():
                return
        self.clock.t_ms = max(self.clock.t_ms, t_ms)

    def at(self, t_ms: int, fn: Callable[[], None]) -> None:
        self._push(t_ms, "call", fn)

    # -- faults --------------------------------------------------------------------------------

    def _crash(self, c: Crash) -> None:
        node = self.nodes[c.node]
        if c.cut_after_actions is not None and node.up:
            node.pending_cut = c.cut_after_actions
            node.pending_restart_at = c.restart_at_ms
            return  # crashes while handling its next event, after that many actions
        self._go_down(node)
        if c.restart_at_ms is not None:
            self._push(c.restart_at_ms, "restart", c.node)

    def _go_down(self, node: SimNode) -> None:
        node.up = False
        node.timer_gen = {k: v + 1 for k, v in node.timer_gen.items()}
        node.replica = None

    def crash_now(self, index: int, restart_at_ms: int | None = None) -> None:
        self._crash(Crash(index, self.clock.t_ms, restart_at_ms))

    def restart_now(self, index: int) -> None:
        self._restart(self.nodes[index])

    def _restart(self, node: SimNode) -> None:
        if node.up:
            return
        node.up = True
        node.restarts += 1
        node.replica = self._new_replica(node)
        if node.behaviour is not None and hasattr(node.behaviour, "on_restart"):
            node.behaviour.on_restart(node.replica)
        self._deliver(node, Start())

    # -- transactions --------------------------------------------------------------------------

    def submit(self, txs: list[bytes], to: Iterable[int] | None = None) -> None:
        """Gossip model: the client's transactions reach every listed (default: every) node."""
        for i in to if to is not None else range(self.n):
            node = self.nodes[i]
            if node.up:
                self._deliver(node, NewTransactions(tuple(txs), "client"))

    # -- the driver ----------------------------------------------------------------------------

    def _deliver(self, node: SimNode, event: Event) -> None:
        intercept = getattr(node.behaviour, "intercept", None)
        if intercept is not None:
            actions = intercept(node.replica, event)
        else:
            actions = node.replica.handle(event)
            if node.behaviour is not None:
                actions = node.behaviour.transform(node.replica, event, actions)
        cut = node.pending_cut
        if cut is not None:
            node.pending_cut = None
            actions = actions[: cut % (len(actions) + 1)]
        self._apply(node, actions)
        if cut is not None:
            self._go_down(node)
            if node.pending_restart_at is not None:
                self._push(max(node.pending_restart_at, self.clock.t_ms + 1), "restart", node.index)

    def _apply(self, node: SimNode, actions: list[Action]) -> None:
        honest = node.index not in self.byzantine
        for a in actions:
            if isinstance(a, Persist):
                node.store.persist(a)
                node.persisted_voted_view = a.safety.last_voted_view
                if a.last_proposal is not None:
                    node.persisted_proposal_view = a.last_proposal.view
            elif isinstance(a, Decide):
                node.store.decide(a)
                for d in a.blocks:
                    self._record_decide(node, d.block)
            elif isinstance(a, Send):
                if honest:
                    self._check_persisted(node, a.message)
                self._send(node.index, a.to, a.message)
            elif isinstance(a, Broadcast):
                if honest:
                    self._check_persisted(node, a.message)
                for to in range(self.n):
                    if to != node.index:
                        self._send(node.index, to, a.message)
            elif isinstance(a, SetTimer):
                gen = node.timer_gen.get(a.kind, 0) + 1
                node.timer_gen[a.kind] = gen
                self._push(max(a.at_ms - node.clock.offset_ms, self.clock.t_ms), "timer", (node.index, a.kind, gen))

    def _check_persisted(self, node: SimNode, msg: Message) -> None:
        """Issue 6 §2: a vote, timeout vote or proposal leaves only after its state is on disk."""
        if isinstance(msg, Vote):
            key = (node.index, msg.view)
            previous = self.honest_votes.get(key)
            if previous is not None and previous != msg.block_hash:
                raise SafetyViolation(f"node {node.index} voted twice in view {msg.view}")
            self.honest_votes[key] = msg.block_hash
            if node.persisted_voted_view < msg.view:
                raise SafetyViolation(f"node {node.index} sent a vote for view {msg.view} before persisting it")
        elif isinstance(msg, TimeoutVote):
            if node.persisted_voted_view < msg.view:
                raise SafetyViolation(f"node {node.index} sent a timeout for view {msg.view} before persisting it")
        elif isinstance(msg, Proposal):
            if node.persisted_proposal_view < msg.view:
                raise SafetyViolation(f"node {node.index} sent a proposal for view {msg.view} before persisting it")

    def _record_decide(self, node: SimNode, block) -> None:
        height = block.height
        if height <= len(node.decided):
            if node.decided[height - 1] != block.hash:
                raise SafetyViolation(f"node {node.index} re-decided height {height} differently")
            return
        if height != len(node.decided) + 1 and node.decided:
            raise SafetyViolation(f"node {node.index} decided height {height} after {len(node.decided)}")
        if not node.decided and height != 1:
            # a node restarted from storage resumes after its stored tip
            node.decided.extend([b""] * (height - 1))
        node.decided.append(block.hash)
        node.decided_txs.extend(block.payload)

    def _send(self, sender: int, to: int, msg: Message) -> None:
        self.messages_sent += 1
        now = self.clock.t_ms
        net = self.net
        if any(p.blocks(now, sender, to) for p in net.partitions):
            self.messages_dropped += 1
            return
        before_gst = now < net.gst_ms
        drop = net.pre_gst_drop_rate if before_gst else net.drop_rate
        if drop and self.rng.random() < drop:
            self.messages_dropped += 1
            return
        hi = net.pre_gst_max_delay_ms if before_gst else net.max_delay_ms
        delay = self.rng.randint(net.min_delay_ms, max(net.min_delay_ms, hi))
        payload = encode_message(msg) if self.wire else msg
        self._push(now + delay, "msg", (sender, to, payload))

    # -- checks --------------------------------------------------------------------------------

    def check_safety(self) -> None:
        """No two honest nodes decided different blocks at the same height."""
        chains = [n.decided for n in self.honest()]
        longest = max((len(c) for c in chains), default=0)
        for h in range(longest):
            seen = {c[h] for c in chains if len(c) > h and c[h]}
            if len(seen) > 1:
                raise SafetyViolation(f"conflicting blocks decided at height {h + 1}")
        for node in self.honest():
            if node.replica is not None and node.replica.rejections.get("conflicting_decide"):
                raise SafetyViolation(f"node {node.index} saw a QC deciding a fork")

    def min_honest_height(self) -> int:
        return min(len(n.decided) for n in self.honest())

    def decided_tx_sets(self) -> list[set[bytes]]:
        return [set(n.decided_txs) for n in self.honest()]


def decode_roundtrip(msg: Message) -> Message:
    return decode_message(encode_message(msg))
