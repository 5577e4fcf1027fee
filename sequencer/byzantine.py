"""Byzantine behaviours, swapped in as modules around an honest replica (relab/hotstuff `twins`
and `byzantine` style): the faulty node runs the same `Replica` and a behaviour rewrites its
output, so the test exercises real signatures and real messages rather than a forked protocol.

Each behaviour is constructed as `Behaviour(sim, index)` and implements
`transform(replica, event, actions) -> actions`.
"""

from __future__ import annotations

from dataclasses import replace

from .codec import DecodeError, decode_message
from .consensus import (
    Action,
    Broadcast,
    Decide,
    Event,
    MessageReceived,
    Persist,
    RawMessageReceived,
    Replica,
    Send,
    SetTimer,
    TimerFired,
)
from .crypto import Verifier
from .mempool import Mempool
from .types import (
    Block,
    Proposal,
    TimeoutVote,
    Vote,
    proposal_signing_bytes,
    timeout_signing_bytes,
    vote_signing_bytes,
)


class _Behaviour:
    def __init__(self, sim, index: int) -> None:
        self.index = index
        self.n = sim.n
        self.signer = sim.signers[index]
        self.chain_id = sim.config.chain_id
        self.committee = sim.committee

    def _sign_proposal(self, block: Block, tc) -> Proposal:
        return Proposal(block, tc, self.signer.sign(proposal_signing_bytes(self.chain_id, block.hash)))

    def _others(self) -> list[int]:
        return [i for i in range(self.n) if i != self.index]


class EquivocatingLeader(_Behaviour):
    """As leader, sends one block to half of the peers and a conflicting one to the rest."""

    def transform(self, replica: Replica, event: Event, actions: list[Action]) -> list[Action]:
        out: list[Action] = []
        for a in actions:
            if isinstance(a, Broadcast) and isinstance(a.message, Proposal):
                p = a.message
                twin_block = replace(p.block, payload=p.block.payload + (b"equivocation-%d" % p.view,))
                twin = self._sign_proposal(twin_block, p.tc)
                others = self._others()
                first_half = set(others[: len(others) // 2])
                out.extend(Send(i, p if i in first_half else twin) for i in others)
            else:
                out.append(a)
        return out


class StaleQCLeader(_Behaviour):
    """As leader, re-proposes on top of an old QC (its lock's parent or genesis), without a TC."""

    def transform(self, replica: Replica, event: Event, actions: list[Action]) -> list[Action]:
        out: list[Action] = []
        for a in actions:
            if isinstance(a, Broadcast) and isinstance(a.message, Proposal) and a.message.block.justify.view > 0:
                b = a.message.block
                old_qc = replica.safety.locked_qc if replica.safety.locked_qc.view < b.justify.view else replica.genesis_qc
                parent = replica.blocks.get(old_qc.block_hash)
                if parent is None:
                    old_qc, parent = replica.genesis_qc, replica.genesis
                stale = Block(
                    chain_id=b.chain_id,
                    height=parent.height + 1,
                    view=b.view,
                    parent_hash=parent.hash,
                    justify=old_qc,
                    timestamp_ms=max(b.timestamp_ms, parent.timestamp_ms + 1),
                    proposer=b.proposer,
                    payload=b.payload,
                )
                out.append(Broadcast(self._sign_proposal(stale, None)))
            else:
                out.append(a)
        return out


class BadVoter(_Behaviour):
    """Votes for every proposal it receives — stale, unjustified, equivocating — bypassing the
    vote rule (its honest replica may vote too, so it also double-votes)."""

    def transform(self, replica: Replica, event: Event, actions: list[Action]) -> list[Action]:
        message = None
        if isinstance(event, MessageReceived):
            message = event.message
        elif isinstance(event, RawMessageReceived):
            try:
                message = decode_message(event.data)
            except DecodeError:
                message = None
        out = list(actions)
        if isinstance(message, Proposal):
            b = message.block
            sig = self.signer.sign(vote_signing_bytes(self.chain_id, b.view, b.hash))
            vote = Vote(b.view, b.hash, self.index, sig)
            leader = self.committee.leader(b.view + 1)
            if leader != self.index:
                out.insert(0, Send(leader, vote))
        return out


class FutureViewSpammer(_Behaviour):
    """Floods peers with validly signed timeouts, votes and proposals for views far ahead (and a
    few just ahead, where one faulty node alone must not be able to drag the view forward)."""

    FAR = 10**9

    def __init__(self, sim, index: int) -> None:
        super().__init__(sim, index)
        self.clock = sim.clock
        self.last_spam_ms = -(10**9)

    def transform(self, replica: Replica, event: Event, actions: list[Action]) -> list[Action]:
        now = self.clock.now_ms()
        if now - self.last_spam_ms < 50:
            return actions
        self.last_spam_ms = now
        out = list(actions)
        hqc = replica.safety.high_qc
        for view in (replica.view + 3, replica.view + self.FAR):
            sig = self.signer.sign(timeout_signing_bytes(self.chain_id, view, hqc.view))
            out.append(Broadcast(TimeoutVote(view, hqc, self.index, sig)))
        view = replica.view + self.FAR
        while self.committee.leader(view) != self.index:
            view += 1
        parent = replica.blocks.get(hqc.block_hash) or replica.genesis
        block = Block(
            chain_id=self.chain_id,
            height=parent.height + 1,
            view=view,
            parent_hash=parent.hash,
            justify=hqc if parent.hash == hqc.block_hash else replica.genesis_qc,
            timestamp_ms=now,
            proposer=self.index,
        )
        out.append(Broadcast(self._sign_proposal(block, None)))
        vote_sig = self.signer.sign(vote_signing_bytes(self.chain_id, view, block.hash))
        out.append(Send(self.committee.leader(view + 1), Vote(view, block.hash, self.index, vote_sig)))
        return [a for a in out if not (isinstance(a, Send) and a.to == self.index)]


class Twins(_Behaviour):
    """relab/hotstuff `twins`: two honest replicas run with the *same* key, each talking to half
    of the peers. Neither does anything dishonest on its own, yet together they double-vote and
    equivocate exactly the way a buggy or cloned deployment would."""

    def __init__(self, sim, index: int) -> None:
        super().__init__(sim, index)
        node = sim.nodes[index]
        self.clock = node.clock
        self.twin = Replica(
            sim.config, sim.committee, self.signer, node.clock, Mempool(sim.mempool_config, node.clock), Verifier()
        )
        others = self._others()
        self.side_a = set(others[: len(others) // 2])
        self.side_b = set(others) - self.side_a
        self.deadlines: dict[str, dict[str, int]] = {"a": {}, "b": {}}

    def on_restart(self, replica: Replica) -> None:
        pass

    def intercept(self, replica: Replica, event: Event) -> list[Action]:
        sender = getattr(event, "sender", None)
        if isinstance(event, TimerFired):
            for side in self.deadlines.values():
                side.pop(event.kind, None)  # fired: each twin re-arms what it still needs
        out: list[Action] = []
        if sender is None or sender in self.side_a:
            out += self._route(replica.handle(event), self.side_a, "a", keep_storage=True)
        if sender is None or sender in self.side_b:
            out += self._route(self.twin.handle(event), self.side_b, "b", keep_storage=False)
        timers = {}
        for side in self.deadlines.values():
            for kind, at in side.items():
                timers[kind] = min(at, timers.get(kind, at))
        return out + [SetTimer(kind, at) for kind, at in sorted(timers.items())]

    def _route(self, actions: list[Action], side: set[int], name: str, keep_storage: bool) -> list[Action]:
        out: list[Action] = []
        for a in actions:
            if isinstance(a, Broadcast):
                out.extend(Send(i, a.message) for i in sorted(side))
            elif isinstance(a, Send):
                if a.to in side:
                    out.append(a)
            elif isinstance(a, SetTimer):
                self.deadlines[name][a.kind] = a.at_ms
            elif isinstance(a, (Persist, Decide)):
                if keep_storage:
                    out.append(a)
            else:
                out.append(a)
        return out
