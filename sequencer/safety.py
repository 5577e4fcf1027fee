"""Pure safety rules of the sequencer: vote rule, lock update, timeout rule, decide rule.

No I/O, no clock, no randomness: every function maps values to values, so the rules can be read
against the papers line by line and property-tested in isolation (STYLE: relab/hotstuff's
`VoteRule`/`CommitRule`).

Decide rule chosen: **HotStuff-2 two-chain** (as made practical by Jolteon / DiemBFT v4, with
timeout certificates carrying each signer's high-QC view).

    A block B is decided when a QC certifies a block B' whose parent is B and whose view is
    exactly B.view + 1 ("two consecutive certified views").

Why two-chain rather than chained-HotStuff three-chain (DESIGN §7 asks us to say):
- latency: a block is decided one QC after it is certified (two round-trips from proposal)
  instead of two; with one block per view this is one view less of decide latency, which is
  what the 4-node p99 ≤ 500 ms target and the 50 ms epochs care about;
- the price of two-chain is that a view change must learn the highest QC of a quorum (the
  "unlock" problem HotStuff-2 solves by waiting and Jolteon solves with TCs that list high-QC
  views). Our committees are small (4, 7, …), so a TC of 2f+1 `(view, high_qc_view)`
  signatures costs nothing worth a third phase — the linear view change of three-chain
  HotStuff only pays off for large n;
- the rules stay small: one vote rule, one lock, one commit check.

Safety argument (sketch). Let B be decided by QC(B') with B'.view = B.view + 1 = r + 1. Each
honest replica votes at most once per view (`last_voted_view`), and a timeout for a view also
consumes that view's vote. The f+1 honest voters of B' saw QC(B), so every timeout they sign for
any view ≥ r+1 reports a high QC of view ≥ r. A block certified in a later view k is justified
either by QC(k-1) — certifying, by induction, a block that extends B — or by TC(k-1) with a
justify QC of view ≥ the TC's highest reported view ≥ r (2f+1 timeouts meet the f+1 voters in an
honest node); again by induction it extends B. So no conflicting block is ever certified in a
view ≥ r, hence none is ever decided.

The lock (`locked_qc`): the justify QC of the highest certified block, i.e. the first link of
the highest two-chain a replica has seen. Voting requires the proposal's justify QC to be at
least as high as the lock. For honest leaders this is implied by the rule above (the TC
intersection argument), so it costs no liveness; it is kept as the explicit, persisted lock
that DESIGN §7 names and as a second line of defence against a byzantine leader reusing an old
QC.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Optional

from .types import Block, QuorumCertificate, TimeoutCertificate

BlockLookup = Callable[[bytes], Optional[Block]]


@dataclass(frozen=True)
class SafetyState:
    """What a replica must never forget across a restart (persisted before every send)."""

    last_voted_view: int
    high_qc: QuorumCertificate
    locked_qc: QuorumCertificate
    high_tc: TimeoutCertificate | None = None

    @classmethod
    def initial(cls, genesis_qc: QuorumCertificate) -> "SafetyState":
        return cls(last_voted_view=0, high_qc=genesis_qc, locked_qc=genesis_qc, high_tc=None)


# Vote refusal reasons (stable labels).
ALREADY_VOTED = "already_voted"
UNJUSTIFIED_VIEW = "unjustified_view"
BELOW_LOCK = "below_lock"
NOT_EXTENDING_JUSTIFY = "not_extending_justify"


def proposal_justified(block: Block, tc: TimeoutCertificate | None) -> bool:
    """A proposal for view v is justified by QC(v-1), or by TC(v-1) plus a justify QC at least
    as high as every high QC the TC's signers reported (Jolteon's `safe_to_vote`)."""
    if block.justify.view + 1 == block.view:
        return True
    return tc is not None and tc.view + 1 == block.view and block.justify.view >= tc.max_high_qc_view


def vote_refusal(state: SafetyState, block: Block, tc: TimeoutCertificate | None) -> str | None:
    """None if it is safe to vote for `block`, else the reason it is not."""
    if block.view <= state.last_voted_view:
        return ALREADY_VOTED
    if block.parent_hash != block.justify.block_hash:
        return NOT_EXTENDING_JUSTIFY
    if not proposal_justified(block, tc):
        return UNJUSTIFIED_VIEW
    if block.justify.view < state.locked_qc.view:
        return BELOW_LOCK
    return None


def after_vote(state: SafetyState, view: int) -> SafetyState:
    """Voting consumes the view: never vote (or vote differently) in it again."""
    return replace(state, last_voted_view=max(state.last_voted_view, view))


def timeout_allowed(state: SafetyState, view: int) -> bool:
    """A replica may time out in a view it voted in, never in an earlier one."""
    return view >= state.last_voted_view


def after_timeout(state: SafetyState, view: int) -> SafetyState:
    """A timeout also consumes the view's vote: after giving up on view v the replica must not
    help certify a block of view v, or the TC's high-QC reports would lie."""
    return replace(state, last_voted_view=max(state.last_voted_view, view))


def after_qc(state: SafetyState, qc: QuorumCertificate, certified: Block | None) -> SafetyState:
    """Raise the high QC and the lock. The lock is the certified block's own justify QC (two-
    chain lock); it needs the block, so pass `certified=None` when it is not known yet and call
    again when it arrives."""
    high_qc = qc if qc.view > state.high_qc.view else state.high_qc
    locked = state.locked_qc
    if certified is not None and certified.hash == qc.block_hash and certified.justify.view > locked.view:
        locked = certified.justify
    if high_qc is state.high_qc and locked is state.locked_qc:
        return state
    return replace(state, high_qc=high_qc, locked_qc=locked)


def after_tc(state: SafetyState, tc: TimeoutCertificate) -> SafetyState:
    if state.high_tc is not None and state.high_tc.view >= tc.view:
        return state
    return replace(state, high_tc=tc)


def decide_target(qc: QuorumCertificate, lookup: BlockLookup) -> Block | None:
    """Two-chain decide rule: the block `qc` certifies is B'; if B' directly extends its parent B
    and B'.view == B.view + 1, B (and every ancestor) is decided. Returns B, or None."""
    certified = lookup(qc.block_hash)
    if certified is None or certified.height == 0:
        return None
    parent = lookup(certified.parent_hash)
    if parent is None:
        return None
    if certified.justify.block_hash != parent.hash:
        return None
    if certified.view == parent.view + 1:
        return parent
    return None


def extends(descendant: Block, ancestor_hash: bytes, ancestor_height: int, lookup: BlockLookup) -> bool | None:
    """Whether `descendant` has `ancestor_hash` at `ancestor_height` on its parent chain; None
    when a block on the way is missing locally."""
    block: Block | None = descendant
    while block is not None and block.height > ancestor_height:
        block = lookup(block.parent_hash)
    if block is None:
        return None
    return block.height == ancestor_height and block.hash == ancestor_hash
