"""Catch-up of decided history over `PeerApi.FetchBlocks` (DESIGN §7; issue 6 §5).

A node that was down or partitioned asks peers for the decided blocks above its own decided
tip, checks every certificate against the committee, and delivers the blocks in height order
to storage and the `DecidedSink` (the executor), exactly as if its replica had decided them.

Why a block received this way can be trusted (the two-chain rule of `safety.py`, applied to
the stream): a block `B` is decided once some QC certifies a child `C` of `B` with
`C.view == B.view + 1`; every ancestor of a decided block is decided. The client therefore
keeps received blocks *pending* until a later block of the stream proves them decided (a
certified child in the next view), or until the server's tip arrives with its decide proof
(`commit_block` + `commit_qc`). Every block must extend the previous one by hash, and carry a
QC for itself that verifies; anything else is a wrong answer. Pending blocks never proven are
dropped (and fetched again), never delivered.

Peers are scored: a wrong answer costs more than a silent one, a useful answer earns a point;
the best-scored peers are asked first, and per-peer metrics show who failed how
(`sequencer_catchup_requests_total{peer}`, `sequencer_catchup_failures_total{peer,reason}`).

Catch-up runs when the sequencer role starts, before its replica is built from storage, so the
replica resumes from the caught-up tip. It also runs while the node is running (issue 6), when
the replica has seen a proposal more than a few heights above its decided tip: then `tip`
reads the replica's decided tip, nothing is written here (`durable=False`), and each proven
`Decide` goes to the replica as a `CaughtUp` event, which stores and executes it exactly like
its own decisions. The in-protocol `BlockRequest` covers short gaps.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import AsyncIterator, Callable

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge

from proto.assetl2.v1 import peer_pb2, peer_pb2_grpc

from .certificates import verify_qc
from .codec import DecodeError, decode_block, decode_qc, encode_block, encode_qc
from .consensus import Decide, DecidedBlock
from .crypto import Verifier
from .storage import SafetyStore
from .types import Block, Committee, QuorumCertificate, epoch_of

log = logging.getLogger(__name__)

WRONG_ANSWER_PENALTY = 5
SILENCE_PENALTY = 1


class WrongAnswer(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# Serving


async def serve_fetch(store, request: peer_pb2.FetchBlocksRequest, limit: int = 256) -> AsyncIterator[peer_pb2.DecidedBlock]:
    """Decided blocks from `from_height` (at most `limit`), the last one at our tip carrying
    the decide proof. Reads are LevelDB point lookups; we yield to the loop between blocks."""
    tip = store.decided_height
    start = max(1, request.from_height)
    count = min(limit, request.max_blocks or limit)
    end = min(tip, start + count - 1)
    for height in range(start, end + 1):
        d = store.decided_block(height)
        if d is None:
            return
        out = peer_pb2.DecidedBlock(height=height, block=encode_block(d.block), qc=encode_qc(d.qc))
        if height == tip:
            commit_qc = store.tip_commit_qc()
            child = store.undecided_block(height + 1, commit_qc.block_hash) if commit_qc else None
            if child is not None:
                out.commit_block = encode_block(child)
                out.commit_qc = encode_qc(commit_qc)
        yield out
        await asyncio.sleep(0)


# ---------------------------------------------------------------------------------------------
# Verifying


class StreamVerifier:
    """Checks one FetchBlocks answer and releases blocks only once they are proven decided."""

    def __init__(self, chain_id: bytes, committee: Committee, verifier: Verifier, genesis_hash: bytes,
                 tip: Block, batch_ms: int) -> None:
        self.chain_id = chain_id
        self.committee = committee
        self.verifier = verifier
        self.genesis_hash = genesis_hash
        self.last = tip
        self.batch_ms = batch_ms
        self.pending: list[tuple[Block, QuorumCertificate]] = []

    def _qc_ok(self, qc: QuorumCertificate) -> bool:
        return verify_qc(qc, self.committee, self.chain_id, self.verifier, self.genesis_hash)

    def add(self, msg: peer_pb2.DecidedBlock) -> Decide | None:
        """Check one message; return the blocks it proves decided (with their commit QC)."""
        try:
            block = decode_block(msg.block)
            qc = decode_qc(msg.qc)
        except DecodeError as e:
            raise WrongAnswer(f"malformed:{e.reason}") from None
        if block.chain_id != self.chain_id:
            raise WrongAnswer("wrong_chain")
        if block.height != self.last.height + 1 or msg.height != block.height:
            raise WrongAnswer("wrong_height")
        if block.parent_hash != self.last.hash or block.justify.block_hash != block.parent_hash:
            raise WrongAnswer("not_extending")
        if block.view <= self.last.view or block.timestamp_ms <= self.last.timestamp_ms:
            raise WrongAnswer("not_increasing")
        if qc.block_hash != block.hash or qc.view != block.view or not self._qc_ok(qc):
            raise WrongAnswer("invalid_certificate")
        parent = self.last
        self.pending.append((block, qc))
        self.last = block
        released: Decide | None = None
        if block.view == parent.view + 1 and len(self.pending) >= 2:
            # qc certifies `block`, a child of `parent` in the next view: parent is decided.
            released = self._release(len(self.pending) - 1, qc)
        if msg.commit_qc:
            try:
                child = decode_block(msg.commit_block)
                commit_qc = decode_qc(msg.commit_qc)
            except DecodeError as e:
                raise WrongAnswer(f"malformed:{e.reason}") from None
            if (child.parent_hash != block.hash or child.view != block.view + 1 or child.chain_id != self.chain_id
                    or commit_qc.block_hash != child.hash or commit_qc.view != child.view or not self._qc_ok(commit_qc)):
                raise WrongAnswer("invalid_commit_proof")
            more = self._release(len(self.pending), commit_qc)
            if released is None:
                released = more
            elif more is not None:
                released = Decide(released.blocks + more.blocks, more.commit_qc)
        return released

    def _release(self, upto: int, commit_qc: QuorumCertificate) -> Decide | None:
        ready, self.pending = self.pending[:upto], self.pending[upto:]
        if not ready:
            return None
        blocks = tuple(DecidedBlock(b, q, epoch_of(b.timestamp_ms, self.batch_ms)) for b, q in ready)
        return Decide(blocks, commit_qc)


# ---------------------------------------------------------------------------------------------
# Fetching


@dataclass
class CatchUpResult:
    delivered: int
    height: int
    peers_tried: int


class CatchUp:
    """Fetches and delivers decided blocks from the best-scored peers until none has more."""

    def __init__(
        self,
        *,
        chain_id: bytes,
        committee: Committee,
        index: int,
        verifier: Verifier,
        genesis: Block,
        batch_ms: int,
        store: SafetyStore,
        deliver: Callable[[Decide], None],
        channel: Callable[[int], grpc.aio.Channel],
        registry: CollectorRegistry | None = None,
        request_blocks: int = 256,
        timeout_ms: int = 5_000,
        sign: Callable[[peer_pb2.FetchBlocksRequest, int], peer_pb2.FetchBlocksRequest] | None = None,
        tip: Callable[[], Block] | None = None,
        durable: bool = True,
    ) -> None:
        self.chain_id = chain_id
        self.committee = committee
        self.index = index
        self.verifier = verifier
        self.genesis = genesis
        self.batch_ms = batch_ms
        self.store = store
        self.deliver = deliver
        self.channel = channel
        self.request_blocks = request_blocks
        self.timeout_ms = timeout_ms
        self.sign = sign  # PeerTransport.sign_fetch: requests count against our own rate-limit bucket
        self.tip_source = tip
        self.durable = durable
        self._delivered: Block | None = None  # last block handed to `deliver` in this run
        self.scores: dict[int, int] = {i: 0 for i in range(committee.size) if i != index}
        kw = {"registry": registry}
        self.m_requests = Counter("sequencer_catchup_requests", "FetchBlocks requests sent, by peer.", ["peer"], **kw)
        self.m_failures = Counter("sequencer_catchup_failures", "FetchBlocks answers rejected or missing, by peer and reason.", ["peer", "reason"], **kw)
        self.m_blocks = Counter("sequencer_catchup_blocks", "Decided blocks delivered by catch-up, by peer.", ["peer"], **kw)
        self.m_score = Gauge("sequencer_catchup_peer_score", "Catch-up score of a peer (wrong answers cost more than silence).", ["peer"], **kw)
        self.progress = ""

    def _tip(self) -> Block:
        """Where the next request starts: our decided tip, or what this run already delivered."""
        tip = self.tip_source() if self.tip_source is not None else self._stored_tip()
        if self._delivered is not None and self._delivered.height > tip.height:
            return self._delivered
        return tip

    def _stored_tip(self) -> Block:
        h = self.store.decided_height
        if h == 0:
            return self.genesis
        d = self.store.decided_block(h)
        return d.block if d is not None else self.genesis

    def _score(self, peer: int, delta: int) -> None:
        self.scores[peer] += delta
        self.m_score.labels(str(peer)).set(self.scores[peer])

    async def fetch_from(self, peer: int) -> int:
        """One FetchBlocks round with `peer`; returns blocks delivered. Raises on failure."""
        tip = self._tip()
        sv = StreamVerifier(self.chain_id, self.committee, self.verifier, self.genesis.hash, tip, self.batch_ms)
        stub = peer_pb2_grpc.PeerApiStub(self.channel(peer))
        self.m_requests.labels(str(peer)).inc()
        req = peer_pb2.FetchBlocksRequest(from_height=tip.height + 1, max_blocks=self.request_blocks, requester=self.index)
        if self.sign is not None:
            req = self.sign(req, int(time.time() * 1000))
        delivered = 0
        call = stub.FetchBlocks(req, timeout=self.timeout_ms / 1000, wait_for_ready=False)
        try:
            async for msg in call:
                decide = sv.add(msg)
                if decide is not None:
                    if self.durable:
                        await asyncio.get_running_loop().run_in_executor(None, self.store.decide, decide)
                    self.deliver(decide)
                    self._delivered = decide.blocks[-1].block
                    delivered += len(decide.blocks)
                    self.m_blocks.labels(str(peer)).inc(len(decide.blocks))
                    self.progress = f"caught up to height {decide.blocks[-1].block.height} from peer {peer}"
        finally:
            call.cancel()
        return delivered

    async def run(self, max_rounds: int = 1_000) -> CatchUpResult:
        """Ask peers (best score first) until a full round brings nothing new; bounded rounds."""
        total = tried = 0
        self._delivered = None
        for _ in range(max_rounds):
            progressed = False
            for peer in sorted(self.scores, key=lambda p: -self.scores[p]):
                tried += 1
                try:
                    n = await self.fetch_from(peer)
                except WrongAnswer as e:
                    self.m_failures.labels(str(peer), e.reason).inc()
                    self._score(peer, -WRONG_ANSWER_PENALTY)
                    log.warning("catch-up: peer %d answered wrongly (%s)", peer, e.reason)
                    continue
                except (grpc.RpcError, asyncio.TimeoutError, OSError) as e:
                    reason = e.code().name.lower() if isinstance(e, grpc.aio.AioRpcError) else "unreachable"
                    self.m_failures.labels(str(peer), reason).inc()
                    self._score(peer, -SILENCE_PENALTY)
                    continue
                if n:
                    self._score(peer, +1)
                    total += n
                    progressed = True
                    break  # start the next round from the new tip, best peer first
            if not progressed:
                break
        return CatchUpResult(total, self._tip().height, tried)
