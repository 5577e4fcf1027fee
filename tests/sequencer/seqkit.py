"""Builders for hand-made consensus messages: the tests play the other committee members."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sequencer.consensus import (
    Broadcast,
    ConsensusConfig,
    MessageReceived,
    Persist,
    Replica,
    Send,
    Start,
)
from sequencer.crypto import Signer, Verifier
from sequencer.mempool import Mempool, MempoolConfig
from sequencer.pacemaker import ManualClock, PacemakerConfig
from sequencer.sim import make_signers
from sequencer.types import (
    Block,
    Committee,
    Proposal,
    QuorumCertificate,
    TimeoutCertificate,
    TimeoutVote,
    Vote,
    bitmap_from_indices,
    genesis_block,
    genesis_qc,
    proposal_signing_bytes,
    timeout_signing_bytes,
    vote_signing_bytes,
)

CHAIN = b"assetl2-test"
T0 = 1_000_000


def config(**overrides) -> ConsensusConfig:
    base = ConsensusConfig(
        chain_id=CHAIN,
        genesis_timestamp_ms=T0 - 1_000,
        max_clock_skew_ms=500,
        empty_block_delay_ms=50,
        pacemaker=PacemakerConfig(base_timeout_ms=1_000, max_timeout_ms=8_000),
    )
    return replace(base, **overrides)


@dataclass
class Cluster:
    """The signing keys of an n-member committee plus helpers to forge their messages."""

    n: int
    cfg: ConsensusConfig

    def __post_init__(self) -> None:
        self.signers: list[Signer] = make_signers(self.n)
        self.committee = Committee(tuple(s.public_key for s in self.signers))
        self.genesis = genesis_block(self.cfg.chain_id, self.cfg.genesis_timestamp_ms)
        self.gqc = genesis_qc(self.genesis)

    def replica(self, index: int, clock: ManualClock | None = None, recovered=None, mempool=None) -> Replica:
        clock = clock or ManualClock(T0)
        mempool = mempool or Mempool(MempoolConfig(), clock)
        return Replica(self.cfg, self.committee, self.signers[index], clock, mempool, Verifier(), recovered)

    def block(self, view: int, parent: Block, justify: QuorumCertificate, ts: int | None = None, payload=(), proposer=None, **kw) -> Block:
        return Block(
            chain_id=kw.get("chain_id", self.cfg.chain_id),
            height=kw.get("height", parent.height + 1),
            view=view,
            parent_hash=kw.get("parent_hash", parent.hash),
            justify=justify,
            timestamp_ms=ts if ts is not None else max(parent.timestamp_ms + 1, T0),
            proposer=self.committee.leader(view) if proposer is None else proposer,
            payload=tuple(payload),
        )

    def proposal(self, block: Block, tc: TimeoutCertificate | None = None, signer: int | None = None) -> Proposal:
        s = self.signers[block.proposer if signer is None else signer]
        return Proposal(block, tc, s.sign(proposal_signing_bytes(self.cfg.chain_id, block.hash)))

    def vote(self, voter: int, view: int, block_hash: bytes) -> Vote:
        return Vote(view, block_hash, voter, self.signers[voter].sign(vote_signing_bytes(self.cfg.chain_id, view, block_hash)))

    def qc(self, block: Block, signers: list[int] | None = None) -> QuorumCertificate:
        signers = sorted(signers if signers is not None else range(self.committee.quorum))
        votes = [self.vote(i, block.view, block.hash) for i in signers]
        return QuorumCertificate(
            block.view, block.hash, bitmap_from_indices(signers, self.n), tuple(v.signature for v in votes)
        )

    def timeout(self, voter: int, view: int, high_qc: QuorumCertificate) -> TimeoutVote:
        sig = self.signers[voter].sign(timeout_signing_bytes(self.cfg.chain_id, view, high_qc.view))
        return TimeoutVote(view, high_qc, voter, sig)

    def tc(self, view: int, high_qcs: dict[int, QuorumCertificate]) -> TimeoutCertificate:
        signers = sorted(high_qcs)
        ts = [self.timeout(i, view, high_qcs[i]) for i in signers]
        best = max(high_qcs.values(), key=lambda q: q.view)
        return TimeoutCertificate(
            view,
            bitmap_from_indices(signers, self.n),
            tuple(t.high_qc.view for t in ts),
            tuple(t.signature for t in ts),
            best,
        )


def msg(sender: int, message) -> MessageReceived:
    return MessageReceived(sender, message)


def sends(actions) -> list:
    return [a for a in actions if isinstance(a, (Send, Broadcast))]


def votes_in(actions) -> list[Vote]:
    return [a.message for a in actions if isinstance(a, Send) and isinstance(a.message, Vote)]


def persists(actions) -> list[Persist]:
    return [a for a in actions if isinstance(a, Persist)]


def started(replica: Replica) -> Replica:
    replica.handle(Start())
    return replica
