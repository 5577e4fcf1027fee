"""Building and verifying quorum and timeout certificates (DESIGN §7).

A certificate is valid when its signer bitmap has the committee's width, names at least a
quorum of distinct members, carries exactly one signature per named signer, and every
signature verifies over the domain-separated bytes of its kind. Collectors aggregate
individually verified votes per (view, value) and produce a certificate once a quorum agrees;
they keep at most one entry per signer and view, so a flood of duplicates cannot grow them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .crypto import Verifier
from .types import (
    Committee,
    QuorumCertificate,
    TimeoutCertificate,
    TimeoutVote,
    Vote,
    bitmap_from_indices,
    timeout_signing_bytes,
    vote_signing_bytes,
)


def _signers_ok(bitmap: bytes, signers: tuple[int, ...], sig_count: int, committee: Committee) -> bool:
    return (
        len(bitmap) == committee.bitmap_bytes
        and len(signers) == sig_count
        and len(signers) >= committee.quorum
        and all(committee.contains(i) for i in signers)
    )


def verify_qc(
    qc: QuorumCertificate,
    committee: Committee,
    chain_id: bytes,
    verifier: Verifier,
    genesis_hash: bytes,
) -> bool:
    """True iff `qc` is the genesis QC or a quorum of valid vote signatures."""
    if qc.view == 0:
        return qc.block_hash == genesis_hash and not qc.signatures and not any(qc.signer_bitmap)
    if not _signers_ok(qc.signer_bitmap, qc.signers, len(qc.signatures), committee):
        return False
    message = vote_signing_bytes(chain_id, qc.view, qc.block_hash)
    return all(
        verifier.verify(committee.public_key(i), message, sig)
        for i, sig in zip(qc.signers, qc.signatures)
    )


def verify_tc(
    tc: TimeoutCertificate,
    committee: Committee,
    chain_id: bytes,
    verifier: Verifier,
    genesis_hash: bytes,
) -> bool:
    """True iff a quorum signed timeouts for `tc.view` with the listed high-QC views, each below
    the timed-out view, and the carried QC is valid and is the highest of them."""
    if tc.view == 0:
        return False
    if not _signers_ok(tc.signer_bitmap, tc.signers, len(tc.signatures), committee):
        return False
    if len(tc.high_qc_views) != len(tc.signatures):
        return False
    if any(v >= tc.view for v in tc.high_qc_views):
        return False
    if tc.high_qc.view != tc.max_high_qc_view:
        return False
    for i, hqc_view, sig in zip(tc.signers, tc.high_qc_views, tc.signatures):
        if not verifier.verify(committee.public_key(i), timeout_signing_bytes(chain_id, tc.view, hqc_view), sig):
            return False
    return verify_qc(tc.high_qc, committee, chain_id, verifier, genesis_hash)


@dataclass
class VoteCollector:
    """Votes per view, keyed by block hash; forms a QC at the first quorum for one hash."""

    committee: Committee
    by_view: dict[int, dict[int, Vote]] = field(default_factory=dict)
    done_views: set[int] = field(default_factory=set)

    def vote_of(self, view: int, voter: int) -> Vote | None:
        return self.by_view.get(view, {}).get(voter)

    def add(self, vote: Vote) -> QuorumCertificate | None:
        """Record a verified vote; return a QC when this vote completes a quorum."""
        votes = self.by_view.setdefault(vote.view, {})
        votes[vote.voter] = vote
        if vote.view in self.done_views:
            return None
        agreeing = sorted(v.voter for v in votes.values() if v.block_hash == vote.block_hash)
        if len(agreeing) < self.committee.quorum:
            return None
        self.done_views.add(vote.view)
        chosen = agreeing[: self.committee.quorum]
        return QuorumCertificate(
            view=vote.view,
            block_hash=vote.block_hash,
            signer_bitmap=bitmap_from_indices(chosen, self.committee.size),
            signatures=tuple(votes[i].signature for i in chosen),
        )

    def prune_below(self, view: int) -> None:
        for v in [v for v in self.by_view if v < view]:
            del self.by_view[v]
        self.done_views = {v for v in self.done_views if v >= view}


@dataclass
class TimeoutCollector:
    """Timeout votes per view; forms a TC at the first quorum (any high QCs may differ)."""

    committee: Committee
    by_view: dict[int, dict[int, TimeoutVote]] = field(default_factory=dict)
    done_views: set[int] = field(default_factory=set)

    def timeout_of(self, view: int, voter: int) -> TimeoutVote | None:
        return self.by_view.get(view, {}).get(voter)

    def count(self, view: int) -> int:
        return len(self.by_view.get(view, {}))

    def add(self, timeout: TimeoutVote) -> TimeoutCertificate | None:
        votes = self.by_view.setdefault(timeout.view, {})
        votes[timeout.voter] = timeout
        if timeout.view in self.done_views or len(votes) < self.committee.quorum:
            return None
        self.done_views.add(timeout.view)
        chosen = sorted(votes)[: self.committee.quorum]
        picked = [votes[i] for i in chosen]
        high_qc = max((t.high_qc for t in picked), key=lambda qc: qc.view)
        return TimeoutCertificate(
            view=timeout.view,
            signer_bitmap=bitmap_from_indices(chosen, self.committee.size),
            high_qc_views=tuple(t.high_qc.view for t in picked),
            signatures=tuple(t.signature for t in picked),
            high_qc=high_qc,
        )

    def prune_below(self, view: int) -> None:
        for v in [v for v in self.by_view if v < view]:
            del self.by_view[v]
        self.done_views = {v for v in self.done_views if v >= view}
