"""Execution attestations and state certificates (DESIGN §3, §7; issue 6 §6).

After the executor applies a decided block, every node signs
`(height, state_root, tx_log_size, tx_log_root)` and broadcasts it. `2f+1` attestations with
identical contents form the height's **state certificate** (signer bitmap + signatures in
signer order, the same shape as a QC), which is persisted (LevelDB) for the batch poster.

Honest nodes must reach bit-identical roots (DESIGN §3). When a certificate forms for a height
at which this node's own root differs, the node is the odd one out: it stops attesting for good
(an attestation from a diverged executor would be a lie), sets `executor_state_divergence 1`,
logs it at CRITICAL and reports it in /status. It keeps sequencing — ordering does not depend
on execution — so the cluster keeps its quorum while the operator investigates.
"""

from __future__ import annotations

import logging
import struct
from collections import OrderedDict
from pathlib import Path
from typing import Callable

import plyvel
from prometheus_client import CollectorRegistry, Counter, Gauge

from proto.assetl2.v1 import peer_pb2

from .crypto import Signer, Verifier
from .types import Committee, bitmap_from_indices, signing_bytes

log = logging.getLogger(__name__)

KIND = b"state-attestation"
P_CERT = b"c:"
KEEP_OPEN_HEIGHTS = 4_096


def attestation_signing_bytes(chain_id: bytes, height: int, state_root: bytes, tx_log_size: int, tx_log_root: bytes) -> bytes:
    body = struct.pack(">Q", height) + struct.pack(">B", len(state_root)) + state_root
    body += struct.pack(">Q", tx_log_size) + struct.pack(">B", len(tx_log_root)) + tx_log_root
    return signing_bytes(KIND, chain_id, body)


def verify_state_certificate(cert: peer_pb2.StateCertificate, committee: Committee, chain_id: bytes,
                             verifier: Verifier) -> bool:
    """True iff a quorum of distinct members signed exactly the certificate's contents."""
    from .types import indices_from_bitmap

    signers = indices_from_bitmap(cert.signer_bitmap)
    if (len(cert.signer_bitmap) != committee.bitmap_bytes or len(signers) != len(cert.signatures)
            or len(signers) < committee.quorum or not all(committee.contains(i) for i in signers)):
        return False
    msg = attestation_signing_bytes(chain_id, cert.height, cert.state_root, cert.tx_log_size, cert.tx_log_root)
    return all(verifier.verify(committee.public_key(i), msg, s) for i, s in zip(signers, cert.signatures))


class Attestor:
    """Signs this node's execution results, collects peers', forms and stores certificates."""

    def __init__(
        self,
        *,
        chain_id: bytes,
        committee: Committee,
        signer: Signer,
        verifier: Verifier,
        path: Path | str | None,
        broadcast: Callable[[peer_pb2.StateAttestation], None],
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.chain_id = chain_id
        self.committee = committee
        self.signer = signer
        self.index = committee.index_of(signer.public_key)
        self.verifier = verifier
        self.broadcast = broadcast
        self.db = plyvel.DB(str(path), create_if_missing=True) if path is not None else None
        self._mem: dict[int, bytes] = {}
        self.own: OrderedDict[int, tuple] = OrderedDict()
        self.collected: OrderedDict[int, dict[tuple, dict[int, bytes]]] = OrderedDict()
        self.certified: OrderedDict[int, tuple] = OrderedDict()
        self.diverged_at: int | None = None
        self.last_certified = self._load_last()
        kw = {"registry": registry}
        self.m_divergence = Gauge("executor_state_divergence", "1 when this node's state root differs from the certified one.", **kw)
        self.m_signed = Counter("sequencer_attestations_signed", "Execution attestations this node signed.", **kw)
        self.m_received = Counter("sequencer_attestations_received", "Peer attestations, by outcome.", ["outcome"], **kw)
        self.m_certs = Gauge("sequencer_state_certificate_height", "Highest height with a state certificate.", **kw)
        self.m_certs.set(self.last_certified)

    def _load_last(self) -> int:
        if self.db is None:
            return 0
        with self.db.iterator(prefix=P_CERT, reverse=True, include_value=False) as it:
            for key in it:
                return struct.unpack(">Q", key[len(P_CERT):])[0]
        return 0

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    # -- inputs --------------------------------------------------------------------------------

    def on_executed(self, height: int, state_root: bytes, tx_log_size: int, tx_log_root: bytes) -> None:
        """The executor finished `height`: remember our result, and attest unless diverged."""
        key = (bytes(state_root), int(tx_log_size), bytes(tx_log_root))
        self.own[height] = key
        while len(self.own) > KEEP_OPEN_HEIGHTS:
            self.own.popitem(last=False)
        cert = self.certified.get(height)
        if cert is not None:
            self._compare(height, cert)
        if self.diverged:
            return
        sig = self.signer.sign(attestation_signing_bytes(self.chain_id, height, *key))
        self.m_signed.inc()
        att = peer_pb2.StateAttestation(height=height, state_root=key[0], tx_log_size=key[1], tx_log_root=key[2],
                                        signer=self.index, signature=sig)
        self._add(height, key, self.index, sig)
        self.broadcast(att)

    def on_attestation(self, sender: int, att: peer_pb2.StateAttestation) -> None:
        if att.signer != sender or not self.committee.contains(sender):
            self.m_received.labels("sender_mismatch").inc()
            return
        if att.height <= self.last_certified - KEEP_OPEN_HEIGHTS:
            self.m_received.labels("stale").inc()
            return
        key = (bytes(att.state_root), int(att.tx_log_size), bytes(att.tx_log_root))
        msg = attestation_signing_bytes(self.chain_id, att.height, *key)
        if not self.verifier.verify(self.committee.public_key(sender), msg, att.signature):
            self.m_received.labels("invalid_signature").inc()
            return
        self.m_received.labels("ok").inc()
        self._add(att.height, key, sender, att.signature)

    # -- certificates --------------------------------------------------------------------------

    def _add(self, height: int, key: tuple, signer: int, sig: bytes) -> None:
        if height in self.certified or self._stored(height):
            return
        by_key = self.collected.setdefault(height, {})
        if any(signer in sigs for sigs in by_key.values()):
            return  # one attestation per signer and height
        sigs = by_key.setdefault(key, {})
        sigs[signer] = sig
        while len(self.collected) > KEEP_OPEN_HEIGHTS:
            self.collected.popitem(last=False)
        if len(sigs) >= self.committee.quorum:
            signers = sorted(sigs)
            cert = peer_pb2.StateCertificate(
                height=height, state_root=key[0], tx_log_size=key[1], tx_log_root=key[2],
                signer_bitmap=bitmap_from_indices(signers, self.committee.size),
                signatures=[sigs[i] for i in signers],
            )
            self._store(height, cert)
            self.collected.pop(height, None)
            self.certified[height] = key
            while len(self.certified) > KEEP_OPEN_HEIGHTS:
                self.certified.popitem(last=False)
            self._compare(height, key)

    def _compare(self, height: int, certified: tuple) -> None:
        own = self.own.get(height)
        if own is not None and own != certified and not self.diverged:
            self.diverged_at = height
            self.m_divergence.set(1)
            log.critical(
                "executor state divergence at height %d: our root %s, certified root %s; "
                "this node stops signing state attestations", height, own[0].hex(), certified[0].hex(),
            )

    def _key(self, height: int) -> bytes:
        return P_CERT + struct.pack(">Q", height)

    def _stored(self, height: int) -> bool:
        if self.db is None:
            return height in self._mem
        return False  # `certified` covers recent heights; older ones are final anyway

    def _store(self, height: int, cert: peer_pb2.StateCertificate) -> None:
        raw = cert.SerializeToString()
        if self.db is not None:
            # Not synced: this runs on the event loop once per block. A process crash loses
            # nothing (the OS holds the write); a certificate lost to a power cut can be fetched
            # from any peer that formed it (PeerApi.GetStateCertificate).
            self.db.put(self._key(height), raw)
        else:
            self._mem[height] = raw
        self.last_certified = max(self.last_certified, height)
        self.m_certs.set(self.last_certified)

    def get_state_certificate(self, height: int) -> peer_pb2.StateCertificate | None:
        """The state certificate of `height` (for the batch poster and peers), if formed here."""
        raw = self.db.get(self._key(height)) if self.db is not None else self._mem.get(height)
        return peer_pb2.StateCertificate.FromString(raw) if raw is not None else None
