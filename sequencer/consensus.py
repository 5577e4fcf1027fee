"""The replica state machine: typed events in, typed actions out (DESIGN §3, §7).

`Replica.handle(event)` is the whole interface. It never performs I/O, never reads the wall
clock (only the injected `Clock`), never raises, and returns the actions the driver must carry
out *in order* (STYLE: HotShot's tasks exchanging typed events; relab/hotstuff's modules behind
narrow interfaces). The driver contract:

- `Persist` — write synchronously (LevelDB `sync=True`) before executing any later action. The
  replica always emits it *before* a `Send`/`Broadcast` of a vote, timeout vote or proposal
  that depends on it (DESIGN §7: Espresso's restart deadlock came from skipping this);
- `Decide` — persist the decided blocks with their certificates, then hand them to the
  executor in order;
- `Send` / `Broadcast` — best effort delivery to one / all *other* members (messages to
  ourselves never leave the replica);
- `SetTimer(kind, at_ms)` — (re)arm the single timer of that kind; when it fires, deliver
  `TimerFired(kind)`;
- `TxsAdmitted` — admission results for a `NewTransactions` event (to answer clients).

Bad input (invalid signature, vote for an unknown block, proposal from a non-leader, stale or
future view, duplicates and equivocation, oversized or malformed bytes, timestamp outside the
skew, …) is dropped and counted by reason in `Replica.rejections`; the state is unchanged.

Rollup clock (DESIGN §3): the leader stamps `max(now, parent + 1)`; a voter accepts a block only
if its timestamp is above its parent's and within `max_clock_skew_ms` of its own clock. The
leader of an idle chain proposes an empty block after `empty_block_delay_ms`, so time and
epochs (`timestamp_ms // reservation_batch_ms`) keep advancing; it proposes at once when it has
transactions or when an undecided ancestor still carries transactions (so the two-chain that
decides them completes without waiting — this is what lets n = 1 decide every block within the
event that created it).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Union

from . import safety as rules
from .certificates import TimeoutCollector, VoteCollector, verify_qc, verify_tc
from .codec import DEFAULT_LIMITS, CodecLimits, DecodeError, decode_message
from .crypto import Signer, Verifier
from .mempool import Admission, Mempool
from .pacemaker import Clock, Pacemaker, PacemakerConfig
from .safety import SafetyState
from .types import (
    Block,
    BlockRequest,
    BlockResponse,
    Committee,
    Message,
    Proposal,
    QuorumCertificate,
    TimeoutCertificate,
    TimeoutVote,
    ViewSync,
    Vote,
    epoch_of,
    genesis_block,
    genesis_qc,
    proposal_signing_bytes,
    timeout_signing_bytes,
    tx_hash,
    view_sync_signing_bytes,
    vote_signing_bytes,
)

log = logging.getLogger(__name__)

TIMER_VIEW = "view"
TIMER_PROPOSE = "propose"


# ---------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class ConsensusConfig:
    chain_id: bytes
    genesis_timestamp_ms: int = 0
    reservation_batch_ms: int = 50
    max_clock_skew_ms: int = 1_000
    empty_block_delay_ms: int = 50
    max_block_txs: int = 10_000
    max_block_bytes: int = 4 * 1024 * 1024
    retain_decided_blocks: int = 256
    max_fetch_blocks: int = 32
    max_pending_proposals: int = 64
    max_wanted_blocks: int = 1_024
    pacemaker: PacemakerConfig = field(default_factory=PacemakerConfig)
    codec_limits: CodecLimits = DEFAULT_LIMITS


# ---------------------------------------------------------------------------------------------
# Events


@dataclass(frozen=True)
class Start:
    """First event after construction (fresh or recovered): arms timers, resumes the view."""


@dataclass(frozen=True)
class MessageReceived:
    """A decoded message; `sender` is the committee index the transport authenticated."""

    sender: int
    message: Message


@dataclass(frozen=True)
class RawMessageReceived:
    """Undecoded bytes from an authenticated peer (decoded under the codec limits)."""

    sender: int
    data: bytes


@dataclass(frozen=True)
class TimerFired:
    kind: str


@dataclass(frozen=True)
class NewTransactions:
    txs: tuple[bytes, ...]
    client_id: str = ""


@dataclass(frozen=True)
class CaughtUp:
    """Blocks a running node fetched over `FetchBlocks` and `catchup.StreamVerifier` proved
    decided (two-chain, verified QCs). The replica adopts those that extend its decided tip and
    emits them as its own `Decide`, so storage and the executor see them exactly once, through
    the same path as blocks it decided itself (issue 6: catch-up while running)."""

    decide: "Decide"


Event = Union[Start, MessageReceived, RawMessageReceived, TimerFired, NewTransactions, CaughtUp]


# ---------------------------------------------------------------------------------------------
# Actions


@dataclass(frozen=True)
class DecidedBlock:
    """A decided block with the QC that certifies it (for storage, catch-up and the executor)."""

    block: Block
    qc: QuorumCertificate
    epoch: int


@dataclass(frozen=True)
class Persist:
    """The safety record plus blocks accepted since the last `Persist` (undecided proposals)."""

    safety: SafetyState
    last_vote: Vote | None
    last_timeout: TimeoutVote | None
    last_proposal: Proposal | None
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Send:
    to: int
    message: Message


@dataclass(frozen=True)
class Broadcast:
    message: Message


@dataclass(frozen=True)
class Decide:
    """Blocks decided by `commit_qc` (two-chain), in height order."""

    blocks: tuple[DecidedBlock, ...]
    commit_qc: QuorumCertificate


@dataclass(frozen=True)
class SetTimer:
    kind: str
    at_ms: int


@dataclass(frozen=True)
class TxsAdmitted:
    results: tuple[Admission, ...]


Action = Union[Persist, Send, Broadcast, Decide, SetTimer, TxsAdmitted]


@dataclass(frozen=True)
class RecoveredState:
    """What `storage.SafetyStore.load()` returns for a restart."""

    safety: SafetyState
    last_vote: Vote | None
    last_timeout: TimeoutVote | None
    last_proposal: Proposal | None
    undecided: tuple[Block, ...]
    decided_tip: DecidedBlock | None


class Rejected(Exception):
    """Internal control flow for a dropped input; never escapes `Replica.handle`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Internal:
    """A message from this replica to itself (trusted: already signed and checked here)."""

    message: Message


# ---------------------------------------------------------------------------------------------
# The replica


class Replica:
    """One consensus participant (or an observer if its key is not in the committee)."""

    def __init__(
        self,
        config: ConsensusConfig,
        committee: Committee,
        signer: Signer,
        clock: Clock,
        mempool: Mempool,
        verifier: Verifier | None = None,
        recovered: RecoveredState | None = None,
        archive: Callable[[bytes], Block | None] | None = None,
    ) -> None:
        """`archive` looks up decided blocks no longer held in memory (storage), to answer
        peers' block requests after a restart."""
        index = committee.index_of(signer.public_key)
        if index is None:
            raise ValueError("signer's public key is not a committee member")
        self.config = config
        self.committee = committee
        self.signer = signer
        self.index = index
        self.clock = clock
        self.mempool = mempool
        self.verifier = verifier or Verifier()
        self.archive = archive
        self.genesis = genesis_block(config.chain_id, config.genesis_timestamp_ms)
        self.genesis_qc = genesis_qc(self.genesis)

        self.blocks: dict[bytes, Block] = {self.genesis.hash: self.genesis}
        self.decided_tip = DecidedBlock(self.genesis, self.genesis_qc, self.genesis.epoch(config.reservation_batch_ms))
        self.safety = SafetyState.initial(self.genesis_qc)
        self.last_vote: Vote | None = None
        self.last_timeout: TimeoutVote | None = None
        self.last_proposal: Proposal | None = None
        if recovered is not None:
            self._restore(recovered)

        self.votes = VoteCollector(committee)
        self.timeouts = TimeoutCollector(committee)
        self.highest_timeout_view: dict[int, int] = {}
        self.proposals_by_view: dict[int, bytes] = {}
        self.pending_proposals: dict[int, Proposal] = {}
        self.pending_qcs: dict[bytes, QuorumCertificate] = {}
        self.wanted: dict[bytes, int] = {}
        self.highest_seen_height = 0  # of any verified proposal: how far behind we may be
        self._fetch_rr = 0
        self._helped: dict[int, int] = {}
        self._tx_hash_cache: dict[bytes, tuple[bytes, ...]] = {}
        self._propose_deadline: int | None = None

        start_view = max(
            1,
            self.safety.high_qc.view + 1,
            (self.safety.high_tc.view + 1) if self.safety.high_tc else 1,
            self.safety.last_voted_view,
        )
        self.pacemaker = Pacemaker(config.pacemaker, clock, start_view, self.safety.high_qc.view)

        self.rejections: dict[str, int] = {}
        self.metrics: dict[str, int] = {
            "consensus_current_view": start_view,
            "consensus_last_decided_view": self.decided_tip.block.view,
            "consensus_block_height": self.decided_tip.block.height,
            "consensus_number_of_timeouts": 0,
            "consensus_number_of_timeouts_as_leader": 0,
            "consensus_view_duration_as_leader_ms": 0,
            "consensus_decided_txs": 0,
            "internal_errors": 0,
        }
        self._queue: deque = deque()
        self._out: list[Action] = []
        self._dirty = False
        self._new_blocks: list[Block] = []

    # -- restart -------------------------------------------------------------------------------

    def _restore(self, r: RecoveredState) -> None:
        self.safety = r.safety
        self.last_vote = r.last_vote
        self.last_timeout = r.last_timeout
        self.last_proposal = r.last_proposal
        if r.decided_tip is not None:
            self.decided_tip = r.decided_tip
            self.blocks[r.decided_tip.block.hash] = r.decided_tip.block
        for block in r.undecided:
            if block.height > self.decided_tip.block.height:
                self.blocks[block.hash] = block

    # -- public API ----------------------------------------------------------------------------

    @property
    def view(self) -> int:
        return self.pacemaker.view

    @property
    def decided_height(self) -> int:
        return self.decided_tip.block.height

    def is_leader(self, view: int) -> bool:
        return self.committee.leader(view) == self.index

    def handle(self, event: Event) -> list[Action]:
        """Process one event (and the messages it makes us send ourselves); never raises."""
        self._out = []
        self._queue.append(event)
        while self._queue:
            item = self._queue.popleft()
            try:
                self._dispatch(item)
            except Rejected as r:
                self._count(r.reason)
            except Exception:  # noqa: BLE001 - the node must survive any input (issue 6)
                self.metrics["internal_errors"] += 1
                log.exception("replica %d: internal error handling %s", self.index, type(item).__name__)
        self._flush()
        self.metrics["consensus_current_view"] = self.view
        out, self._out = self._out, []
        return out

    def snapshot(self) -> tuple:
        """Everything that must not change when an input is rejected (used by tests)."""
        return (
            self.view,
            self.safety,
            self.last_vote,
            self.last_timeout,
            self.last_proposal,
            tuple(sorted(self.blocks)),
            self.decided_tip,
        )

    # -- dispatch ------------------------------------------------------------------------------

    def _count(self, reason: str) -> None:
        self.rejections[reason] = self.rejections.get(reason, 0) + 1

    def _dispatch(self, item) -> None:
        if isinstance(item, _Internal):
            self._on_message(self.index, item.message, trusted=True)
        elif isinstance(item, MessageReceived):
            self._on_message(item.sender, item.message, trusted=False)
        elif isinstance(item, RawMessageReceived):
            try:
                message = decode_message(item.data, self.config.codec_limits)
            except DecodeError as e:
                raise Rejected(e.reason) from None
            self._on_message(item.sender, message, trusted=False)
        elif isinstance(item, TimerFired):
            self._on_timer(item.kind)
        elif isinstance(item, NewTransactions):
            self._on_new_transactions(item)
        elif isinstance(item, Start):
            self._on_start()
        elif isinstance(item, CaughtUp):
            self._on_caught_up(item.decide)
        else:
            raise Rejected("unknown_event")

    def _on_message(self, sender: int, message: Message, trusted: bool) -> None:
        if not self.committee.contains(sender):
            raise Rejected("unknown_sender")
        if not trusted and sender == self.index:
            raise Rejected("sender_mismatch")
        if isinstance(message, Proposal):
            self._on_proposal(sender, message, trusted)
        elif isinstance(message, Vote):
            self._on_vote(sender, message, trusted)
        elif isinstance(message, TimeoutVote):
            self._on_timeout_vote(sender, message, trusted)
        elif isinstance(message, ViewSync):
            self._on_view_sync(sender, message)
        elif isinstance(message, BlockRequest):
            self._on_block_request(sender, message)
        elif isinstance(message, BlockResponse):
            self._on_block_response(sender, message)
        else:
            raise Rejected("malformed")

    # -- output helpers ------------------------------------------------------------------------

    def _flush(self) -> None:
        if self._dirty or self._new_blocks:
            self._out.append(
                Persist(
                    safety=self.safety,
                    last_vote=self.last_vote,
                    last_timeout=self.last_timeout,
                    last_proposal=self.last_proposal,
                    blocks=tuple(self._new_blocks),
                )
            )
            self._dirty = False
            self._new_blocks = []

    def _send(self, to: int, message: Message) -> None:
        """Persist-then-send: whatever a message leaving the process depends on hits the disk
        first. Messages to ourselves never leave the process, so they need no flush: the
        end-of-event `Persist` covers them."""
        if to == self.index:
            self._queue.append(_Internal(message))
        else:
            self._flush()
            self._out.append(Send(to, message))

    def _broadcast(self, message: Message) -> None:
        if self.committee.size > 1:
            self._flush()
            self._out.append(Broadcast(message))
        self._queue.append(_Internal(message))

    def _set_safety(self, new: SafetyState) -> None:
        if new is not self.safety:
            self.safety = new
            self._dirty = True

    # -- certificates --------------------------------------------------------------------------

    def _check_qc(self, qc: QuorumCertificate) -> None:
        if not verify_qc(qc, self.committee, self.config.chain_id, self.verifier, self.genesis.hash):
            raise Rejected("invalid_certificate")

    def _check_tc(self, tc: TimeoutCertificate) -> None:
        if not verify_tc(tc, self.committee, self.config.chain_id, self.verifier, self.genesis.hash):
            raise Rejected("invalid_certificate")

    def _check_sig(self, signer: int, message: bytes, signature: bytes) -> None:
        if not self.verifier.verify(self.committee.public_key(signer), message, signature):
            raise Rejected("invalid_signature")

    def _learn_qc(self, qc: QuorumCertificate, hint: int | None = None) -> None:
        """A verified QC: raise high QC / lock and try the decide rule (fetching what is missing)."""
        certified = self.blocks.get(qc.block_hash)
        self._set_safety(rules.after_qc(self.safety, qc, certified))
        if certified is None:
            if qc.view > self.decided_tip.block.view:
                self._remember_qc(qc)
                self._want(qc.block_hash, hint if hint is not None else self._qc_peer(qc))
        else:
            self._try_decide(qc)

    def _remember_qc(self, qc: QuorumCertificate) -> None:
        if qc.block_hash in self.pending_qcs or len(self.pending_qcs) < self.config.max_wanted_blocks:
            self.pending_qcs[qc.block_hash] = qc

    def _on_qc(self, qc: QuorumCertificate, hint: int | None = None) -> None:
        self._learn_qc(qc, hint)
        self._advance(qc.view + 1)

    def _on_tc(self, tc: TimeoutCertificate, hint: int | None = None) -> None:
        self._learn_qc(tc.high_qc, hint)
        self._set_safety(rules.after_tc(self.safety, tc))
        self._advance(max(tc.view, tc.high_qc.view) + 1)

    def _qc_peer(self, qc: QuorumCertificate) -> int:
        others = [i for i in qc.signers if i != self.index]
        return others[self._fetch_rr % len(others)] if others else self.committee.leader(qc.view)

    # -- view changes --------------------------------------------------------------------------

    def _advance(self, new_view: int) -> None:
        old_view = self.view
        old_duration = self.pacemaker.view_duration_ms()
        if not self.pacemaker.advance(new_view, self.safety.high_qc.view):
            return
        if self.is_leader(old_view):
            self.metrics["consensus_view_duration_as_leader_ms"] = old_duration
        self._out.append(SetTimer(TIMER_VIEW, self.pacemaker.deadline_ms))
        self._propose_deadline = None
        floor = min(new_view, self.safety.high_qc.view + 1) - 1
        self.votes.prune_below(floor)
        self.timeouts.prune_below(new_view)
        for v in [v for v in self.proposals_by_view if v < floor]:
            del self.proposals_by_view[v]
        for v in [v for v in self.pending_proposals if v < new_view]:
            del self.pending_proposals[v]
        for h in [h for h, since in self.wanted.items() if since + 64 < new_view]:
            del self.wanted[h]
        self._try_propose()

    def _on_start(self) -> None:
        self._out.append(SetTimer(TIMER_VIEW, self.pacemaker.deadline_ms))
        if self.committee.size > 1:
            self._broadcast_view_sync()  # peers that are ahead answer with their certificates
        v = self.view
        if self.last_proposal is not None and self.last_proposal.view == v:
            self._broadcast(self.last_proposal)
        if self.last_vote is not None and self.last_vote.view == v:
            self._send(self.committee.leader(v + 1), self.last_vote)
        if self.last_timeout is not None and self.last_timeout.view == v:
            self._broadcast(self.last_timeout)
        self._try_propose()
        for qc in sorted(self.pending_qcs.values(), key=lambda q: q.view):
            self._want(qc.block_hash, self._qc_peer(qc))

    def _on_timer(self, kind: str) -> None:
        now = self.clock.now_ms()
        if kind == TIMER_VIEW:
            if not self.pacemaker.expired():
                self._out.append(SetTimer(TIMER_VIEW, self.pacemaker.deadline_ms))
                return
            self._local_timeout()
        elif kind == TIMER_PROPOSE:
            if self._propose_deadline is not None and now >= self._propose_deadline:
                self._try_propose(idle_expired=True)
            elif self._propose_deadline is not None:
                # a real timer may fire a little early (ms rounding, loop vs wall clock): re-arm
                self._out.append(SetTimer(TIMER_PROPOSE, self._propose_deadline))
        else:
            raise Rejected("unknown_timer")

    def _local_timeout(self) -> None:
        """Give up on the current view: sign (once) and broadcast a timeout vote; re-arm."""
        v = self.view
        fresh = None
        if (self.last_timeout is None or self.last_timeout.view != v) and rules.timeout_allowed(self.safety, v):
            self._set_safety(rules.after_timeout(self.safety, v))
            hqc = self.safety.high_qc
            sig = self.signer.sign(timeout_signing_bytes(self.config.chain_id, v, hqc.view))
            fresh = self.last_timeout = TimeoutVote(v, hqc, self.index, sig)
            self._dirty = True
            self.metrics["consensus_number_of_timeouts"] += 1
            if self.is_leader(v):
                self.metrics["consensus_number_of_timeouts_as_leader"] += 1
        self.pacemaker.on_local_timeout()
        self._out.append(SetTimer(TIMER_VIEW, self.pacemaker.deadline_ms))
        if fresh is not None:
            self._broadcast(fresh)
        elif self.last_timeout is not None and self.last_timeout.view == v and self.committee.size > 1:
            self._flush()
            self._out.append(Broadcast(self.last_timeout))  # repair drops; we already hold it
        if self.pacemaker.in_view_sync() and self.committee.size > 1:
            self._broadcast_view_sync()
        for h in list(self.wanted)[:8]:
            self._fetch_rr += 1
            self._request(h, self._round_robin_peer())

    def _view_sync_message(self) -> ViewSync:
        tc = self.safety.high_tc
        body = view_sync_signing_bytes(
            self.config.chain_id, self.index, self.view, self.safety.high_qc.view, tc.view if tc else 0
        )
        return ViewSync(self.index, self.view, self.safety.high_qc, tc, self.signer.sign(body))

    def _broadcast_view_sync(self) -> None:
        self._flush()
        self._out.append(Broadcast(self._view_sync_message()))

    def _help_lagging_peer(self, peer: int) -> None:
        """A peer showed us a view below ours (a restart, a healed partition): send it our
        certificates directly, once per peer and view, instead of waiting for our own timer."""
        if peer == self.index or self._helped.get(peer) == self.view:
            return
        self._helped[peer] = self.view
        self._flush()
        self._out.append(Send(peer, self._view_sync_message()))

    def _round_robin_peer(self) -> int:
        n = self.committee.size
        peer = (self.index + 1 + self._fetch_rr % max(1, n - 1)) % n
        return peer

    # -- proposing -----------------------------------------------------------------------------

    def _undecided_chain(self, tip: Block) -> list[Block] | None:
        """Blocks from `tip` back to (excluding) the decided tip; None if a link is missing."""
        chain = []
        block: Block | None = tip
        floor = self.decided_tip.block.height
        while block is not None and block.height > floor:
            chain.append(block)
            block = self.blocks.get(block.parent_hash)
        return chain if block is not None else None

    def _try_propose(self, idle_expired: bool = False) -> None:
        v = self.view
        if not self.is_leader(v):
            return
        if self.last_proposal is not None and self.last_proposal.view >= v:
            return
        justify = self.safety.high_qc
        tc = None
        if justify.view + 1 != v:
            tc = self.safety.high_tc
            if tc is None or tc.view + 1 != v or justify.view < tc.max_high_qc_view:
                return  # entered by view sync without a certificate for v-1: wait for one
        parent = self.blocks.get(justify.block_hash)
        if parent is None:
            self._want(justify.block_hash, self._qc_peer(justify))
            return
        chain = self._undecided_chain(parent)
        if chain is None:
            self._want_missing_ancestor(parent, self._qc_peer(justify))
            return
        in_flight = {h for b in chain for h in self._tx_hashes(b)}
        payload, ids = self.mempool.select_with_hashes(self.config.max_block_txs, self.config.max_block_bytes, in_flight)
        now = self.clock.now_ms()
        if not payload and not idle_expired and not any(b.payload for b in chain):
            if self._propose_deadline is None:
                self._propose_deadline = now + self.config.empty_block_delay_ms
                self._out.append(SetTimer(TIMER_PROPOSE, self._propose_deadline))
            return
        block = Block(
            chain_id=self.config.chain_id,
            height=parent.height + 1,
            view=v,
            parent_hash=parent.hash,
            justify=justify,
            timestamp_ms=max(now, parent.timestamp_ms + 1),
            proposer=self.index,
            payload=tuple(payload),
        )
        if self.mempool.tx_hash is tx_hash:
            block.__dict__["tx_hashes"] = tuple(ids)  # prime the cached ids: hashed once, at admission
        sig = self.signer.sign(proposal_signing_bytes(self.config.chain_id, block.hash))
        self.last_proposal = Proposal(block, tc, sig)
        self._dirty = True
        self._propose_deadline = None
        self._broadcast(self.last_proposal)

    def _on_new_transactions(self, ev: NewTransactions) -> None:
        if not ev.txs:
            self._try_propose()  # a poke: the node admitted into the mempool directly
            return
        results = tuple(self.mempool.submit_many(ev.txs, ev.client_id))
        self._out.append(TxsAdmitted(results))
        if any(r.accepted for r in results):
            self._try_propose()

    # -- proposals -----------------------------------------------------------------------------

    def _on_proposal(self, sender: int, p: Proposal, trusted: bool) -> None:
        b = p.block
        if sender != b.proposer:
            raise Rejected("sender_mismatch")
        if b.chain_id != self.config.chain_id:
            raise Rejected("wrong_chain")
        if self.committee.leader(b.view) != b.proposer:
            raise Rejected("not_leader")
        if b.view < self.view:
            raise Rejected("stale_view")
        if len(b.payload) > self.config.max_block_txs or b.payload_bytes > self.config.max_block_bytes:
            raise Rejected("oversized")
        if b.height == 0 or b.view <= b.justify.view or b.parent_hash != b.justify.block_hash:
            raise Rejected("malformed")
        if p.tc is not None and p.tc.view >= b.view:
            raise Rejected("malformed")
        if not trusted:
            self._check_sig(b.proposer, proposal_signing_bytes(self.config.chain_id, b.hash), p.signature)
            self._check_qc(b.justify)
            if p.tc is not None:
                self._check_tc(p.tc)
        if b.height > self.highest_seen_height:
            self.highest_seen_height = b.height  # signed by its leader over a verified QC
        known = self.proposals_by_view.get(b.view)
        if known is not None:
            raise Rejected("duplicate" if known == b.hash else "equivocation")
        if p.tc is not None:
            self._learn_qc(b.justify, hint=sender)
            self._on_tc(p.tc, hint=sender)
        else:
            self._on_qc(b.justify, hint=sender)
        if b.view > self.view:
            raise Rejected("future_view")
        if b.view < self.view:
            raise Rejected("stale_view")
        self._accept_proposal(p)

    def _accept_proposal(self, p: Proposal) -> None:
        """Checks that need the parent block, then store and (maybe) vote."""
        b = p.block
        parent = self.blocks.get(b.parent_hash)
        if parent is None:
            if b.height - 1 <= self.decided_height:
                raise Rejected("conflicts_with_decided")
            if len(self.pending_proposals) >= self.config.max_pending_proposals:
                del self.pending_proposals[min(self.pending_proposals)]
            self.pending_proposals[b.view] = p
            self.proposals_by_view[b.view] = b.hash
            self._want(b.parent_hash, b.proposer)
            return
        if b.height != parent.height + 1:
            raise Rejected("malformed")
        if parent.height < self.decided_height:
            raise Rejected("conflicts_with_decided")
        if b.timestamp_ms <= parent.timestamp_ms:
            raise Rejected("timestamp_not_increasing")
        if abs(b.timestamp_ms - self.clock.now_ms()) > self.config.max_clock_skew_ms:
            raise Rejected("timestamp_skew")
        refusal = rules.vote_refusal(self.safety, b, p.tc) if b.view == self.view else None
        if refusal is not None and refusal != rules.ALREADY_VOTED:
            raise Rejected(refusal)  # unjustified / below our lock: an honest quorum never certifies it
        self.proposals_by_view[b.view] = b.hash
        self._add_block(b)
        if b.view != self.view or refusal == rules.ALREADY_VOTED:
            return  # we timed out (or voted) in this view already: not bad input
        self._set_safety(rules.after_vote(self.safety, b.view))
        sig = self.signer.sign(vote_signing_bytes(self.config.chain_id, b.view, b.hash))
        self.last_vote = Vote(b.view, b.hash, self.index, sig)
        self._dirty = True
        self._send(self.committee.leader(b.view + 1), self.last_vote)

    def _add_block(self, b: Block) -> None:
        """Store a validated block, then re-run whatever was waiting for it."""
        if b.hash in self.blocks:
            return
        self.blocks[b.hash] = b
        self._new_blocks.append(b)
        self.wanted.pop(b.hash, None)
        self._resume_children({b.hash})

    def _resume_children(self, parents: set[bytes]) -> None:
        """Blocks in ``parents`` became known: accept the proposals that waited for them (in
        view order), then retry waiting QCs and proposing."""
        for view in sorted(self.pending_proposals):
            pending = self.pending_proposals[view]
            if pending.block.parent_hash in parents:
                del self.pending_proposals[view]
                try:
                    self._accept_proposal(pending)
                except Rejected as r:
                    self._count(r.reason)
        self._retry_pending_qcs()
        self._try_propose()

    def _retry_pending_qcs(self) -> None:
        """Re-run lock and decide for QCs that were waiting for a block or an ancestor."""
        for qc in sorted(self.pending_qcs.values(), key=lambda q: q.view):
            certified = self.blocks.get(qc.block_hash)
            if certified is None:
                continue
            self._set_safety(rules.after_qc(self.safety, qc, certified))
            if not self._try_decide(qc):
                self.pending_qcs.pop(qc.block_hash, None)

    # -- deciding ------------------------------------------------------------------------------

    def _want_missing_ancestor(self, block: Block, peer: int) -> None:
        while block.parent_hash in self.blocks:
            block = self.blocks[block.parent_hash]
        self._want(block.parent_hash, peer)

    def _try_decide(self, qc: QuorumCertificate) -> bool:
        """Apply the two-chain rule to `qc`; True while it is blocked on a missing block."""
        certified = self.blocks.get(qc.block_hash)
        if certified is not None and certified.height > self.decided_height + 1:
            parent = self.blocks.get(certified.parent_hash)
            if parent is None:
                self._remember_qc(qc)
                self._want(certified.parent_hash, self._qc_peer(qc))
                return True
        target = rules.decide_target(qc, self.blocks.get)
        if target is None or target.height <= self.decided_height:
            return False
        chain = self._undecided_chain(target)
        if chain is None:
            self._remember_qc(qc)
            self._want_missing_ancestor(target, self._qc_peer(qc))
            return True
        base = self.blocks[chain[-1].parent_hash]
        if base.hash != self.decided_tip.block.hash:
            self._count("conflicting_decide")
            log.critical("replica %d: QC %d would decide a fork of the decided chain", self.index, qc.view)
            return False
        chain.reverse()
        certified = self.blocks[qc.block_hash]
        batch = self.config.reservation_batch_ms
        decided = []
        for i, block in enumerate(chain):
            cert = chain[i + 1].justify if i + 1 < len(chain) else certified.justify
            decided.append(DecidedBlock(block, cert, epoch_of(block.timestamp_ms, batch)))
        self._out.append(Decide(tuple(decided), qc))
        self.decided_tip = decided[-1]
        self.metrics["consensus_last_decided_view"] = self.decided_tip.block.view
        self.metrics["consensus_block_height"] = self.decided_tip.block.height
        self.metrics["consensus_decided_txs"] += sum(len(d.block.payload) for d in decided)
        self.mempool.remove_decided(h for d in decided for h in self._tx_hashes(d.block))
        self._prune()
        return False

    def _on_caught_up(self, decide: "Decide") -> None:
        """Adopt caught-up decided blocks above our tip; they must extend it (else `wrong_chain`)."""
        fresh = [d for d in decide.blocks if d.block.height > self.decided_height]
        if not fresh:
            return
        prev = self.decided_tip.block
        for d in fresh:
            if d.block.height != prev.height + 1 or d.block.parent_hash != prev.hash:
                raise Rejected("wrong_chain")
            prev = d.block
        self._out.append(Decide(tuple(fresh), decide.commit_qc))
        self.decided_tip = fresh[-1]
        self.metrics["consensus_last_decided_view"] = self.decided_tip.block.view
        self.metrics["consensus_block_height"] = self.decided_tip.block.height
        self.metrics["consensus_decided_txs"] += sum(len(d.block.payload) for d in fresh)
        for d in fresh:
            self.blocks.setdefault(d.block.hash, d.block)  # stored by the Decide above
            self.wanted.pop(d.block.hash, None)
        self.mempool.remove_decided(h for d in fresh for h in self._tx_hashes(d.block))
        self._prune()
        self._resume_children({d.block.hash for d in fresh})

    def _tx_hashes(self, block: Block) -> tuple[bytes, ...]:
        """Transaction ids as the mempool keys them, computed once per block."""
        if self.mempool.tx_hash is tx_hash:
            return block.tx_hashes  # the same ids the block hash already computed
        hashes = self._tx_hash_cache.get(block.hash)
        if hashes is None:
            hashes = self._tx_hash_cache[block.hash] = tuple(self.mempool.tx_hash(tx) for tx in block.payload)
        return hashes

    def _prune(self) -> None:
        """Forget forks below the decided tip and decided blocks beyond the retention window."""
        tip = self.decided_tip.block
        keep_from = tip.height - self.config.retain_decided_blocks
        on_chain: set[bytes] = set()
        block: Block | None = tip
        while block is not None and block.height >= max(0, keep_from):
            on_chain.add(block.hash)
            block = self.blocks.get(block.parent_hash)
        for h, b in list(self.blocks.items()):
            if b.height <= tip.height and h not in on_chain:
                del self.blocks[h]
        for h in [h for h in self._tx_hash_cache if h not in self.blocks or self.blocks[h].height <= tip.height]:
            del self._tx_hash_cache[h]
        for h in [h for h, q in self.pending_qcs.items() if q.view <= tip.view]:
            del self.pending_qcs[h]

    # -- votes ---------------------------------------------------------------------------------

    def _on_vote(self, sender: int, vote: Vote, trusted: bool) -> None:
        if sender != vote.voter:
            raise Rejected("sender_mismatch")
        if self.committee.leader(vote.view + 1) != self.index:
            raise Rejected("misdirected")
        if vote.view <= self.safety.high_qc.view:
            raise Rejected("late_vote")  # benign: the quorum formed without it
        if vote.view + 1 < self.view:
            raise Rejected("stale_view")
        if self.pacemaker.is_future(vote.view):
            raise Rejected("future_view")
        if not trusted:
            self._check_sig(vote.voter, vote_signing_bytes(self.config.chain_id, vote.view, vote.block_hash), vote.signature)
        known = self.proposals_by_view.get(vote.view)
        if known is not None and known != vote.block_hash:
            raise Rejected("unknown_block")
        previous = self.votes.vote_of(vote.view, vote.voter)
        if previous is not None:
            raise Rejected("duplicate" if previous.block_hash == vote.block_hash else "equivocation")
        qc = self.votes.add(vote)
        if qc is not None:
            self._on_qc(qc)

    # -- timeouts ------------------------------------------------------------------------------

    def _on_timeout_vote(self, sender: int, t: TimeoutVote, trusted: bool) -> None:
        if sender != t.voter:
            raise Rejected("sender_mismatch")
        if t.high_qc.view >= t.view:
            raise Rejected("malformed")
        if t.view < self.view:
            self._help_lagging_peer(sender)
            raise Rejected("stale_timeout")  # benign: we left that view already
        if self.pacemaker.is_future(t.view):
            raise Rejected("future_view")
        if not trusted:
            self._check_sig(t.voter, timeout_signing_bytes(self.config.chain_id, t.view, t.high_qc.view), t.signature)
        if self.timeouts.timeout_of(t.view, t.voter) is not None:
            raise Rejected("duplicate")
        if not trusted:
            self._check_qc(t.high_qc)
        self._on_qc(t.high_qc, hint=sender)
        if t.view < self.view:
            return  # the QC it carried moved us past it
        if self.highest_timeout_view.get(t.voter, 0) < t.view:
            self.highest_timeout_view[t.voter] = t.view
        tc = self.timeouts.add(t)
        if tc is not None:
            self._on_tc(tc)
            return
        self._maybe_join_timeouts()

    def _maybe_join_timeouts(self) -> None:
        """f+1 replicas timed out at views ≥ w: an honest one is at w or beyond, so join it."""
        need = self.committee.f + 1
        views = sorted(self.highest_timeout_view.values(), reverse=True)
        if len(views) < need:
            return
        w = views[need - 1]
        if w < self.view:
            return
        if w > self.view:
            self._advance(w)
        if self.view == w and (self.last_timeout is None or self.last_timeout.view < w):
            self._local_timeout()

    # -- view sync and block fetching --------------------------------------------------------

    def _on_view_sync(self, sender: int, m: ViewSync) -> None:
        if sender != m.sender:
            raise Rejected("sender_mismatch")
        tc_view = m.high_tc.view if m.high_tc else 0
        self._check_sig(
            m.sender,
            view_sync_signing_bytes(self.config.chain_id, m.sender, m.view, m.high_qc.view, tc_view),
            m.signature,
        )
        if m.view < self.view:
            self._help_lagging_peer(sender)
        if m.high_qc.view <= self.safety.high_qc.view and tc_view < self.view:
            return  # nothing new for us
        self._check_qc(m.high_qc)
        if m.high_tc is not None:
            self._check_tc(m.high_tc)
        self._on_qc(m.high_qc, hint=sender)
        if m.high_tc is not None:
            self._on_tc(m.high_tc, hint=sender)

    def _want(self, block_hash: bytes, peer: int) -> None:
        if block_hash in self.blocks or block_hash in self.wanted:
            return
        if len(self.wanted) >= self.config.max_wanted_blocks:
            return
        self.wanted[block_hash] = self.view
        self._request(block_hash, peer)

    def _request(self, block_hash: bytes, peer: int) -> None:
        if peer == self.index:
            peer = self._round_robin_peer()
        if peer == self.index:
            return
        self._out.append(Send(peer, BlockRequest(self.index, block_hash, self.config.max_fetch_blocks)))

    def _on_block_request(self, sender: int, req: BlockRequest) -> None:
        if req.sender != sender:
            raise Rejected("sender_mismatch")
        limit = max(1, min(req.max_blocks, self.config.max_fetch_blocks, self.config.codec_limits.max_response_blocks))
        out = []
        block = self._lookup(req.block_hash)
        while block is not None and len(out) < limit:
            out.append(block)
            block = self._lookup(block.parent_hash) if block.height > 0 else None
        if out:
            self._out.append(Send(sender, BlockResponse(self.index, tuple(out))))

    def _lookup(self, block_hash: bytes) -> Block | None:
        block = self.blocks.get(block_hash)
        if block is None and self.archive is not None:
            block = self.archive(block_hash)
        return block

    def _on_block_response(self, sender: int, resp: BlockResponse) -> None:
        if resp.sender != sender:
            raise Rejected("sender_mismatch")
        # Newest first. A block is wanted because a verified QC or a stored child names its
        # hash, so the hash alone authenticates it; its parent then becomes wanted in turn.
        accepted = 0
        follow_up: bytes | None = None
        for b in resp.blocks:
            if b.hash in self.blocks:
                continue
            if b.hash not in self.wanted:
                if accepted == 0:
                    raise Rejected("unsolicited")
                break
            if b.chain_id != self.config.chain_id or b.height == 0 or b.parent_hash != b.justify.block_hash:
                raise Rejected("malformed")
            accepted += 1
            del self.wanted[b.hash]
            follow_up = None
            if b.parent_hash not in self.blocks and b.height - 1 > self.decided_height:
                if len(self.wanted) < self.config.max_wanted_blocks:
                    self.wanted[b.parent_hash] = self.view
                    follow_up = b.parent_hash
            self._add_block(b)
        if follow_up is not None and follow_up in self.wanted and accepted == len(resp.blocks):
            self._request(follow_up, sender)
