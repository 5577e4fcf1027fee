"""Consensus data types of the sequencer (DESIGN §7): blocks, votes, certificates, committee.

The types are plain frozen dataclasses with no dependency on protobuf or the network, so the
peer transport (gRPC, `proto/assetl2/v1/peer.proto`) maps them field by field and the safety
rules can be read and property-tested on their own (STYLE: relab/hotstuff keeps the rules small
and the data plain).

Identity and hashing:
- a block's hash covers its chain id, height, view, parent hash, the *view and block hash* of
  its justify QC (not the signatures, so which 2f+1 signatures a leader happened to collect
  never changes a block's identity), timestamp, proposer and the payload root;
- every signed message is signed over `signing_bytes(kind, chain_id, body)`: a per-kind domain
  tag and the chain id are always part of the signed bytes, so a signature can never be
  replayed as another kind of message or on another chain.

Units are in the names: `*_ms` is milliseconds of the rollup clock, `view` is a consensus view
number, `height` a block height, signer indices are positions in the ordered committee.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from functools import cached_property
from typing import Sequence, Union

HASH_BYTES = 32
SIGNATURE_BYTES = 64
PUBLIC_KEY_BYTES = 32
MAX_CHAIN_ID_BYTES = 64
ZERO_HASH = b"\x00" * HASH_BYTES
DOMAIN_PREFIX = b"assetl2/sequencer/v1/"


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _u64(value: int) -> bytes:
    return struct.pack(">Q", value)


def _chain_tag(chain_id: bytes) -> bytes:
    return bytes([len(chain_id)]) + chain_id


def signing_bytes(kind: bytes, chain_id: bytes, body: bytes) -> bytes:
    """Domain-separated bytes that a node signs: tag, kind, chain id, then the message body."""
    return DOMAIN_PREFIX + kind + b"\x00" + _chain_tag(chain_id) + body


def fetch_signing_bytes(chain_id: bytes, requester: int, from_height: int, max_blocks: int, issued_ms: int) -> bytes:
    """What a member signs to ask for decided blocks (`FetchBlocksRequest`), so a server can rate
    limit per authenticated member (issue 6 §5) rather than per claimed index."""
    return signing_bytes(b"fetch-blocks", chain_id, struct.pack(">IQIQ", requester, from_height, max_blocks, issued_ms))


def tx_hash(tx: bytes) -> bytes:
    """Default transaction identity used for payload roots and mempool dedup."""
    return hashlib.sha256(tx).digest()


def payload_root(payload: Sequence[bytes]) -> bytes:
    """Commitment to the ordered payload: hash of the count and every transaction hash."""
    return payload_root_of_hashes([tx_hash(tx) for tx in payload])


def payload_root_of_hashes(hashes: Sequence[bytes]) -> bytes:
    h = hashlib.sha256(DOMAIN_PREFIX + b"payload\x00")
    h.update(struct.pack(">I", len(hashes)))
    h.update(b"".join(hashes))
    return h.digest()


# ---------------------------------------------------------------------------------------------
# Signer bitmaps


def bitmap_from_indices(indices: Sequence[int], committee_size: int) -> bytes:
    """Signer bitmap: bit `i % 8` (LSB first) of byte `i // 8` set for committee member i."""
    out = bytearray((committee_size + 7) // 8)
    for i in indices:
        if not 0 <= i < committee_size:
            raise ValueError(f"signer index {i} outside committee of {committee_size}")
        out[i // 8] |= 1 << (i % 8)
    return bytes(out)


def indices_from_bitmap(bitmap: bytes) -> tuple[int, ...]:
    """Signer indices in ascending order; signatures in certificates follow this order."""
    return tuple(
        byte_index * 8 + bit
        for byte_index, byte in enumerate(bitmap)
        for bit in range(8)
        if byte >> bit & 1
    )


# ---------------------------------------------------------------------------------------------
# Certificates


@dataclass(frozen=True)
class QuorumCertificate:
    """A quorum (2f+1) of votes for `block_hash` in `view`; signatures in ascending signer order.

    The genesis QC (view 0, no signatures) certifies the genesis block by convention.
    """

    view: int
    block_hash: bytes
    signer_bitmap: bytes
    signatures: tuple[bytes, ...]

    @cached_property
    def signers(self) -> tuple[int, ...]:
        return indices_from_bitmap(self.signer_bitmap)

    @property
    def is_genesis(self) -> bool:
        return self.view == 0 and not self.signatures


@dataclass(frozen=True)
class TimeoutCertificate:
    """A quorum of timeout votes for `view`: everyone may leave the view (Jolteon/HotStuff-2 TC).

    Each signer signed `(view, its high QC view)`; `high_qc_views` lists those views in signer
    order, and `high_qc` is the highest of the reported QCs, carried so that whoever holds the TC
    also holds the QC the next leader must extend (DESIGN §7; the flow-go/DiemBFT TC shape).
    """

    view: int
    signer_bitmap: bytes
    high_qc_views: tuple[int, ...]
    signatures: tuple[bytes, ...]
    high_qc: QuorumCertificate

    @cached_property
    def signers(self) -> tuple[int, ...]:
        return indices_from_bitmap(self.signer_bitmap)

    @property
    def max_high_qc_view(self) -> int:
        return max(self.high_qc_views, default=0)


# ---------------------------------------------------------------------------------------------
# Blocks and messages


@dataclass(frozen=True)
class Block:
    """A proposed block. `payload` is a tuple of opaque transaction bytes in proposal order.

    `timestamp_ms` is the rollup clock (DESIGN §3): chosen by the leader, strictly increasing
    along the chain; `epoch(batch_ms)` is the reservation-batch window the block belongs to.
    """

    chain_id: bytes
    height: int
    view: int
    parent_hash: bytes
    justify: QuorumCertificate
    timestamp_ms: int
    proposer: int
    payload: tuple[bytes, ...] = ()

    @cached_property
    def hash(self) -> bytes:
        body = b"".join(
            (
                _u64(self.height),
                _u64(self.view),
                self.parent_hash,
                _u64(self.justify.view),
                self.justify.block_hash,
                _u64(self.timestamp_ms),
                struct.pack(">H", self.proposer),
                self.payload_root,
            )
        )
        return sha256(signing_bytes(b"block", self.chain_id, body))

    @cached_property
    def tx_hashes(self) -> tuple[bytes, ...]:
        sha = hashlib.sha256
        return tuple([sha(tx).digest() for tx in self.payload])  # = tx_hash, without a call per tx

    @cached_property
    def payload_root(self) -> bytes:
        return payload_root_of_hashes(self.tx_hashes)

    @cached_property
    def payload_bytes(self) -> int:
        return sum(len(tx) for tx in self.payload)

    def epoch(self, reservation_batch_ms: int) -> int:
        return epoch_of(self.timestamp_ms, reservation_batch_ms)


def epoch_of(timestamp_ms: int, reservation_batch_ms: int) -> int:
    """DESIGN §3: epoch = timestamp_ms // reservation_batch_ms."""
    return timestamp_ms // reservation_batch_ms


@dataclass(frozen=True)
class Proposal:
    """A leader's block for its view, signed over the block hash; `tc` justifies a view entered
    by timeout (present exactly when `block.justify.view + 1 != block.view`)."""

    block: Block
    tc: TimeoutCertificate | None
    signature: bytes

    @property
    def view(self) -> int:
        return self.block.view

    @property
    def sender(self) -> int:
        return self.block.proposer


@dataclass(frozen=True)
class Vote:
    """A replica's vote for `block_hash` in `view`, sent to the leader of `view + 1`."""

    view: int
    block_hash: bytes
    voter: int
    signature: bytes

    @property
    def sender(self) -> int:
        return self.voter


@dataclass(frozen=True)
class TimeoutVote:
    """A replica gives up on `view`; signed over `(view, high_qc.view)` and carries its high QC."""

    view: int
    high_qc: QuorumCertificate
    voter: int
    signature: bytes

    @property
    def sender(self) -> int:
        return self.voter


@dataclass(frozen=True)
class ViewSync:
    """View synchronisation after consecutive timeouts: a replica shares its highest certificates
    so that peers lagging behind (dropped messages, partition, restart) jump to the newest view."""

    sender: int
    view: int
    high_qc: QuorumCertificate
    high_tc: TimeoutCertificate | None
    signature: bytes


@dataclass(frozen=True)
class BlockRequest:
    """Ask a peer for a block and up to `max_blocks - 1` of its ancestors (unsigned: the answer
    is checked against a hash the requester already trusts)."""

    sender: int
    block_hash: bytes
    max_blocks: int


@dataclass(frozen=True)
class BlockResponse:
    """Blocks answering a `BlockRequest`, newest first."""

    sender: int
    blocks: tuple[Block, ...]


Message = Union[Proposal, Vote, TimeoutVote, ViewSync, BlockRequest, BlockResponse]


# ---------------------------------------------------------------------------------------------
# Signed bodies


def vote_signing_bytes(chain_id: bytes, view: int, block_hash: bytes) -> bytes:
    return signing_bytes(b"vote", chain_id, _u64(view) + block_hash)


def timeout_signing_bytes(chain_id: bytes, view: int, high_qc_view: int) -> bytes:
    return signing_bytes(b"timeout", chain_id, _u64(view) + _u64(high_qc_view))


def proposal_signing_bytes(chain_id: bytes, block_hash: bytes) -> bytes:
    return signing_bytes(b"proposal", chain_id, block_hash)


def view_sync_signing_bytes(
    chain_id: bytes, sender: int, view: int, high_qc_view: int, high_tc_view: int
) -> bytes:
    body = struct.pack(">H", sender) + _u64(view) + _u64(high_qc_view) + _u64(high_tc_view)
    return signing_bytes(b"view-sync", chain_id, body)


# ---------------------------------------------------------------------------------------------
# Genesis


def genesis_block(chain_id: bytes, timestamp_ms: int) -> Block:
    """The fixed root every replica starts from: height 0, view 0, justified by the genesis QC."""
    qc = QuorumCertificate(view=0, block_hash=ZERO_HASH, signer_bitmap=b"", signatures=())
    return Block(
        chain_id=chain_id,
        height=0,
        view=0,
        parent_hash=ZERO_HASH,
        justify=qc,
        timestamp_ms=timestamp_ms,
        proposer=0,
    )


def genesis_qc(genesis: Block) -> QuorumCertificate:
    return QuorumCertificate(view=0, block_hash=genesis.hash, signer_bitmap=b"", signatures=())


# ---------------------------------------------------------------------------------------------
# Committee


@dataclass(frozen=True)
class Committee:
    """The ordered membership (from config): n node public keys, f faults, quorum, leader(view).

    The quorum is the smallest size whose pairwise intersections hold f+1 members, so two
    quorums always share an honest node: `(n + f) // 2 + 1`, which is 2f+1 when n = 3f+1 and 1
    when n = 1 (the embedded single-node default runs the same code, DESIGN §7).
    """

    members: tuple[bytes, ...]
    _index: dict[bytes, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.members:
            raise ValueError("committee must have at least one member")
        if len(self.members) > 0xFFFF:
            raise ValueError("committee too large")
        for key in self.members:
            if len(key) != PUBLIC_KEY_BYTES:
                raise ValueError("committee member keys must be 32-byte ed25519 public keys")
        if len(set(self.members)) != len(self.members):
            raise ValueError("committee members must be distinct")
        object.__setattr__(self, "_index", {key: i for i, key in enumerate(self.members)})

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def f(self) -> int:
        return (self.size - 1) // 3

    @property
    def quorum(self) -> int:
        return (self.size + self.f) // 2 + 1

    @property
    def bitmap_bytes(self) -> int:
        return (self.size + 7) // 8

    def leader(self, view: int) -> int:
        """Round-robin leader rotation: every member leads one view in n."""
        return view % self.size

    def index_of(self, public_key: bytes) -> int | None:
        return self._index.get(public_key)

    def public_key(self, index: int) -> bytes:
        return self.members[index]

    def contains(self, index: int) -> bool:
        return 0 <= index < self.size
