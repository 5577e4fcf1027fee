"""Cutting executed blocks into batches: close on size or age, heartbeat after long idle (DESIGN §8).

Arbitrum's batch poster closes a batch at a maximum size or after a maximum delay
(`max-size`, `max-delay`); DESIGN §8 takes the same rule.  The heartbeat is this project's
(issue 7): an empty batch after long idle lets a watcher tell a quiet chain from a dead poster.
Here:

- **size**: a batch closes as soon as it holds `max_blocks` blocks;
- **age**: it closes when the rollup clock reaches `max_age_ms` after its first block's
  timestamp — observed either on a block (its timestamp) or on `tick(now_ms)`;
- **heartbeat**: with no open block and no batch closed for `heartbeat_ms` of rollup time,
  `tick` closes an empty batch (`last_height = first_height - 1`, roots unchanged).

Every decision reads only the block records, the certificates and the rollup-clock values
passed in — never the poster's wall clock — so every node cuts the same batches from the same
chain, and a restarted batcher (its `BatcherCursor` rebuilt from the outbox) continues exactly
where an uninterrupted one would have (DESIGN §3: the rollup clock is the block timestamp).

A batch is handed out only once the state certificate of its last height is known (DESIGN §3:
the 2f+1 attestation of `(height, state root)`; in one-node mode the node's own, see
`StateCertificate.attest`).  Waiting for it delays the batch, never moves its boundary.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass, replace

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from batchposter import program_abi as abi
from batchposter.outbox import ClosedBatch, OutboxEntry

ZERO_HASH = bytes(32)
ATTESTATION_DOMAIN = b"assetl2/state-attestation/v1"


class BatcherError(ValueError):
    """Block input the batcher cannot accept (a height gap, a shrinking log, bad sizes)."""


@dataclass(frozen=True)
class BlockRecord:
    """What the executor reports for one executed block: the batcher's only input about it."""

    height: int
    timestamp_ms: int
    state_root: bytes
    tx_log_size: int
    tx_log_root: bytes


@dataclass(frozen=True)
class StateCertificate:
    """A certificate that `state_root` is the state after `height` (DESIGN §3).

    `signatures` is opaque here: the sequencer's 2f+1 certificate encoding, or in one-node
    mode `attest`'s `pubkey ‖ ed25519 signature`.  The poster stores it with the batch; the
    on-chain check (DESIGN §8, "later ... with the Ed25519 precompile") is not done yet.
    """

    height: int
    state_root: bytes
    signatures: bytes

    _HEAD = struct.Struct(">Q32sI")

    def to_bytes(self) -> bytes:
        return self._HEAD.pack(self.height, self.state_root, len(self.signatures)) + self.signatures

    @classmethod
    def from_bytes(cls, data: bytes) -> "StateCertificate":
        height, root, size = cls._HEAD.unpack_from(data)
        body = bytes(data[cls._HEAD.size :])
        if len(body) != size:
            raise ValueError("state certificate: length mismatch")
        return cls(height, root, body)

    @staticmethod
    def message(chain_id: str, height: int, state_root: bytes) -> bytes:
        """What a node signs: domain tag, chain id, height, root (no ambiguity across chains)."""
        chain = chain_id.encode()
        return ATTESTATION_DOMAIN + struct.pack(">H", len(chain)) + chain + struct.pack(">Q", height) + state_root

    @classmethod
    def attest(cls, keypair: Keypair, chain_id: str, height: int, state_root: bytes) -> "StateCertificate":
        """One-node mode: the node's own attestation, `pubkey ‖ signature` over `message`."""
        sig = keypair.sign_message(cls.message(chain_id, height, state_root))
        return cls(height, state_root, bytes(keypair.pubkey()) + bytes(sig))

    def verify_self_attestation(self, chain_id: str) -> bool:
        if len(self.signatures) != 96:
            return False
        pubkey, sig = Pubkey(self.signatures[:32]), Signature(self.signatures[32:])
        return sig.verify(pubkey, self.message(chain_id, self.height, self.state_root))


@dataclass(frozen=True)
class BatchPolicy:
    """When a batch closes (rollup-clock milliseconds; DESIGN §8 "full or old")."""

    max_blocks: int = 100
    max_age_ms: int = 10_000
    heartbeat_ms: int = 600_000

    def __post_init__(self) -> None:
        if self.max_blocks < 1 or self.max_age_ms < 0 or self.heartbeat_ms < 1:
            raise ValueError(f"invalid batch policy {self}")


@dataclass(frozen=True)
class BatcherCursor:
    """Where the next batch starts: rebuilt from the outbox's last batch, or from the chain tip."""

    next_batch_index: int
    next_height: int
    prev_state_root: bytes
    tx_log_size: int
    tx_log_root: bytes
    last_close_ms: int | None  # rollup time the previous batch closed; None = unknown (first tick sets it)
    last_certificate: bytes = b""  # the previous batch's, for a heartbeat straight after a restart

    @classmethod
    def after(cls, entry: OutboxEntry) -> "BatcherCursor":
        h = entry.header
        return cls(h.batch_index + 1, h.last_height + 1, h.state_root, h.tx_log_size, h.tx_log_root,
                   entry.batch.closed_at_ms, entry.batch.certificate)

    @classmethod
    def from_chain(cls, config: abi.ConfigAccount, genesis_height: int = 1) -> "BatcherCursor":
        """After the on-chain tip (an empty outbox, or a chain ahead of it)."""
        next_height = config.last_height + 1 if config.last_batch_index else genesis_height
        return cls(config.last_batch_index + 1, next_height, config.last_state_root, config.tx_log_size,
                   config.tx_log_root, None)


class Batcher:
    """Deterministic batch boundaries over a stream of executed blocks (see module docstring)."""

    def __init__(self, policy: BatchPolicy, cursor: BatcherCursor, code_hash: bytes, proof_hash: bytes):
        self.policy = policy
        self.cursor = cursor
        self.code_hash = code_hash
        self.proof_hash = proof_hash
        self._open: list[BlockRecord] = []
        self._sealed: deque[tuple[abi.BatchHeader, int]] = deque()  # closed, waiting for a certificate
        self._certificates: dict[int, bytes] = {}
        self._last_certificate = cursor.last_certificate

    @property
    def next_height(self) -> int:
        """The height the batcher expects next; the node replays executed blocks from here after a restart."""
        return self.cursor.next_height + len(self._open)

    @property
    def open_blocks(self) -> int:
        return len(self._open)

    @property
    def waiting_for_certificate(self) -> int:
        return len(self._sealed)

    def set_program(self, code_hash: bytes, proof_hash: bytes) -> None:
        """A newly registered program pair, used from the next batch that closes (DESIGN §6)."""
        self.code_hash, self.proof_hash = code_hash, proof_hash

    def add_block(self, block: BlockRecord) -> list[ClosedBatch]:
        """Append one executed block; return the batches that are now closed and certified.

        A block below `next_height` was already batched (a replay after a restart) and is
        ignored; one above it is a gap and refused.
        """
        expected = self.next_height
        if block.height < expected:
            return []
        if block.height != expected:
            raise BatcherError(f"block {block.height} does not follow height {expected - 1}")
        last_size = self._open[-1].tx_log_size if self._open else self.cursor.tx_log_size
        if block.tx_log_size < last_size:
            raise BatcherError(f"block {block.height}: tx log shrank from {last_size} to {block.tx_log_size}")
        if len(block.state_root) != 32 or len(block.tx_log_root) != 32:
            raise BatcherError(f"block {block.height}: roots must be 32 bytes")
        self._open.append(block)
        if len(self._open) >= self.policy.max_blocks or self._aged(block.timestamp_ms):
            self._seal(block.timestamp_ms)
        return self._ready()

    def add_certificate(self, certificate: StateCertificate | bytes, height: int | None = None) -> list[ClosedBatch]:
        """The state certificate of one height; releases the batch ending there, if it was waiting."""
        if isinstance(certificate, StateCertificate):
            height, raw = certificate.height, certificate.to_bytes()
            executed = self._root_at(height)
            if executed is not None and executed != certificate.state_root:
                # DESIGN §3: honest nodes reach bit-identical roots; a mismatch is fatal and loud.
                raise BatcherError(f"certificate for height {height} names root {certificate.state_root.hex()}, "
                                   f"this node executed {executed.hex()}")
        else:
            if height is None:
                raise ValueError("raw certificate bytes need their height")
            raw = bytes(certificate)
        if height >= self.cursor.next_height - 1 or any(h.last_height == height for h, _ in self._sealed):
            self._certificates[height] = raw
        return self._ready()

    def _root_at(self, height: int) -> bytes | None:
        for block in self._open:
            if block.height == height:
                return block.state_root
        for header, _ in self._sealed:
            if header.last_height == height and header.first_height <= height:
                return header.state_root
        return None

    def tick(self, now_ms: int) -> list[ClosedBatch]:
        """The rollup clock reads `now_ms`: close an aged batch, or a heartbeat after idle."""
        if self._open:
            if self._aged(now_ms):
                self._seal(now_ms)
        elif self.cursor.last_close_ms is None:
            self.cursor = replace(self.cursor, last_close_ms=now_ms)
        elif now_ms - self.cursor.last_close_ms >= self.policy.heartbeat_ms:
            self._seal(now_ms)
        return self._ready()

    def _aged(self, now_ms: int) -> bool:
        return bool(self._open) and now_ms - self._open[0].timestamp_ms >= self.policy.max_age_ms

    def _seal(self, now_ms: int) -> None:
        c = self.cursor
        if self._open:
            first, last = self._open[0], self._open[-1]
            header = abi.BatchHeader(c.next_batch_index, first.height, last.height, c.prev_state_root,
                                     last.state_root, last.tx_log_size, last.tx_log_root, self.code_hash,
                                     self.proof_hash)
        else:  # heartbeat: an empty height range, nothing new anchored
            header = abi.BatchHeader(c.next_batch_index, c.next_height, c.next_height - 1, c.prev_state_root,
                                     c.prev_state_root, c.tx_log_size, c.tx_log_root, self.code_hash,
                                     self.proof_hash)
        self._sealed.append((header, now_ms))
        self.cursor = BatcherCursor(c.next_batch_index + 1, header.last_height + 1, header.state_root,
                                    header.tx_log_size, header.tx_log_root, now_ms)
        self._open = []

    def _ready(self) -> list[ClosedBatch]:
        out = []
        while self._sealed:
            header, closed_at = self._sealed[0]
            if header.last_height == header.first_height - 1:
                # A heartbeat re-states the previous root, so it carries that root's certificate.
                certificate = self._last_certificate
            else:
                certificate = self._certificates.get(header.last_height)
                if certificate is None:
                    break
            self._sealed.popleft()
            self._last_certificate = certificate
            out.append(ClosedBatch(header, certificate, closed_at))
        if out:
            floor = out[-1].header.last_height
            self._certificates = {h: c for h, c in self._certificates.items() if h >= floor}
        return out
