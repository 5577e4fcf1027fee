"""The poster's persistent outbox: every closed batch, keyed by index, until Solana confirms it.

DESIGN §8 ("a persistent outbox in LevelDB"): Arbitrum's and Optimism's batch posters learnt
that a poster which keeps its queue only in memory either loses batches or double-posts after
a crash.  Here a batch is written (fsync'd, `sync=True`) before anything is sent, its status
moves `pending → sent(signature, blockhash, last valid height, fee) → confirmed`, and each
transition is one synchronous LevelDB write.  The on-chain rule `batch_index == last + 1`
makes a re-post after a crash a no-op, so the outbox never needs to know whether a send
landed; it only must never lose a closed batch or change its content.

Invariants the outbox enforces (each a `OutboxError` when broken):
- indices are contiguous: a new batch is exactly `last + 1` (no gap can be queued);
- a batch's content never changes once written (re-adding the same content is idempotent);
- status only moves forward (a confirmed batch stays confirmed).
"""

from __future__ import annotations

import enum
import json
import os
import struct
from dataclasses import dataclass, replace
from typing import Iterator

import plyvel

from batchposter import program_abi as abi

BATCH_PREFIX = b"b"
META_PREFIX = b"m"
META_FORMAT = META_PREFIX + b"format"
OUTBOX_FORMAT = b"1"
_INDEX = struct.Struct(">Q")


class OutboxError(Exception):
    """A write that would break an outbox invariant (gap, changed content, status going back)."""


class BatchStatus(enum.Enum):
    PENDING = "pending"
    SENT = "sent"
    CONFIRMED = "confirmed"


_ORDER = {BatchStatus.PENDING: 0, BatchStatus.SENT: 1, BatchStatus.CONFIRMED: 2}


@dataclass(frozen=True)
class ClosedBatch:
    """A batch as the batcher closed it: the `post_batch` arguments plus what they rest on.

    `certificate` is the state certificate of `last_height` (the sequencer's 2f+1 signatures,
    or in one-node mode the node's own attestation; DESIGN §3), kept with the batch so the
    on-chain Ed25519 check planned in DESIGN §8 can be added without re-deriving it.
    `closed_at_ms` is the rollup-clock time the batch closed at (block timestamp), which the
    batcher needs after a restart to time the next heartbeat deterministically.
    """

    header: abi.BatchHeader
    certificate: bytes = b""
    closed_at_ms: int = 0

    @property
    def batch_index(self) -> int:
        return self.header.batch_index

    @property
    def is_heartbeat(self) -> bool:
        return self.header.last_height == self.header.first_height - 1


@dataclass(frozen=True)
class OutboxEntry:
    """One outbox record: the batch and where its posting stands."""

    batch: ClosedBatch
    status: BatchStatus = BatchStatus.PENDING
    signature: str | None = None
    blockhash: str | None = None
    last_valid_block_height: int | None = None
    fee_lamports: int = 0  # the fee the latest signing pays if it lands
    attempts: int = 0  # signings so far (drives the fee escalation across restarts)
    confirmed_slot: int | None = None

    @property
    def batch_index(self) -> int:
        return self.batch.batch_index

    @property
    def header(self) -> abi.BatchHeader:
        return self.batch.header

    def to_bytes(self) -> bytes:
        h = self.batch.header
        record = {
            "batch_index": h.batch_index,
            "first_height": h.first_height,
            "last_height": h.last_height,
            "prev_state_root": h.prev_state_root.hex(),
            "state_root": h.state_root.hex(),
            "tx_log_size": h.tx_log_size,
            "tx_log_root": h.tx_log_root.hex(),
            "code_hash": h.code_hash.hex(),
            "proof_hash": h.proof_hash.hex(),
            "certificate": self.batch.certificate.hex(),
            "closed_at_ms": self.batch.closed_at_ms,
            "status": self.status.value,
            "signature": self.signature,
            "blockhash": self.blockhash,
            "last_valid_block_height": self.last_valid_block_height,
            "fee_lamports": self.fee_lamports,
            "attempts": self.attempts,
            "confirmed_slot": self.confirmed_slot,
        }
        return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> "OutboxEntry":
        r = json.loads(data)
        header = abi.BatchHeader(
            r["batch_index"],
            r["first_height"],
            r["last_height"],
            bytes.fromhex(r["prev_state_root"]),
            bytes.fromhex(r["state_root"]),
            r["tx_log_size"],
            bytes.fromhex(r["tx_log_root"]),
            bytes.fromhex(r["code_hash"]),
            bytes.fromhex(r["proof_hash"]),
        )
        batch = ClosedBatch(header, bytes.fromhex(r["certificate"]), r["closed_at_ms"])
        return cls(
            batch,
            BatchStatus(r["status"]),
            r["signature"],
            r["blockhash"],
            r["last_valid_block_height"],
            r["fee_lamports"],
            r["attempts"],
            r["confirmed_slot"],
        )


def _key(batch_index: int) -> bytes:
    return BATCH_PREFIX + _INDEX.pack(batch_index)


class Outbox:
    """LevelDB-backed queue of closed batches, keyed by batch index (big-endian, so ordered).

    `sync=True` (the default) fsyncs every write: a batch the batcher handed over survives a
    power cut, not just a killed process.  One writer per database.
    """

    def __init__(self, path: str | os.PathLike, *, sync: bool = True):
        self.path = os.fspath(path)
        self.sync = sync
        self._db = plyvel.DB(self.path, create_if_missing=True)
        stored = self._db.get(META_FORMAT)
        if stored is None:
            self._db.put(META_FORMAT, OUTBOX_FORMAT, sync=self.sync)
        elif stored != OUTBOX_FORMAT:
            self._db.close()
            raise OutboxError(f"outbox {self.path}: format {stored!r}, this code reads {OUTBOX_FORMAT!r}")

    def close(self) -> None:
        if not self._db.closed:
            self._db.close()

    def __enter__(self) -> "Outbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads --------------------------------------------------------------------------

    def get(self, batch_index: int) -> OutboxEntry | None:
        raw = self._db.get(_key(batch_index))
        return None if raw is None else OutboxEntry.from_bytes(raw)

    def entries(self, start: int = 0) -> Iterator[OutboxEntry]:
        """Every entry from `start` on, in index order."""
        for _, raw in self._db.iterator(start=_key(start), stop=BATCH_PREFIX + b"\xff" * 9):
            yield OutboxEntry.from_bytes(raw)

    def first(self) -> OutboxEntry | None:
        return next(self.entries(), None)

    def last(self) -> OutboxEntry | None:
        for _, raw in self._db.iterator(prefix=BATCH_PREFIX, reverse=True):
            return OutboxEntry.from_bytes(raw)
        return None

    def unconfirmed(self) -> list[OutboxEntry]:
        """Pending and sent batches, in index order: the backlog."""
        return [e for e in self.entries() if e.status != BatchStatus.CONFIRMED]

    def last_confirmed_index(self) -> int | None:
        """The highest index of the confirmed prefix (confirmation is in order)."""
        best = None
        for entry in self.entries():
            if entry.status != BatchStatus.CONFIRMED:
                break
            best = entry.batch_index
        return best

    # -- writes -------------------------------------------------------------------------

    def add(self, batch: ClosedBatch) -> OutboxEntry:
        """Queue a closed batch (pending).  Idempotent for the same content; refuses a gap or a change."""
        existing = self.get(batch.batch_index)
        if existing is not None:
            if existing.batch != batch:
                raise OutboxError(f"batch {batch.batch_index} is already in the outbox with other content")
            return existing
        last = self.last()
        if last is not None:
            if batch.batch_index != last.batch_index + 1:
                raise OutboxError(f"batch {batch.batch_index} does not follow the outbox's last batch {last.batch_index}")
            if batch.header.prev_state_root != last.header.state_root:
                raise OutboxError(f"batch {batch.batch_index}: prev_state_root is not batch {last.batch_index}'s root")
        entry = OutboxEntry(batch)
        self._db.put(_key(batch.batch_index), entry.to_bytes(), sync=self.sync)
        return entry

    def mark_sent(
        self, batch_index: int, signature: str, blockhash: str, last_valid_block_height: int, fee_lamports: int,
        attempts: int,
    ) -> OutboxEntry:
        entry = self._require(batch_index)
        if entry.status == BatchStatus.CONFIRMED:
            return entry
        updated = replace(entry, status=BatchStatus.SENT, signature=signature, blockhash=blockhash,
                          last_valid_block_height=last_valid_block_height, fee_lamports=fee_lamports,
                          attempts=attempts)
        self._db.put(_key(batch_index), updated.to_bytes(), sync=self.sync)
        return updated

    def mark_confirmed(self, batch_index: int, signature: str | None, slot: int | None) -> OutboxEntry:
        entry = self._require(batch_index)
        if entry.status == BatchStatus.CONFIRMED:
            return entry
        updated = replace(entry, status=BatchStatus.CONFIRMED, signature=signature or entry.signature,
                          confirmed_slot=slot)
        self._db.put(_key(batch_index), updated.to_bytes(), sync=self.sync)
        return updated

    def prune_confirmed(self, keep_last: int) -> int:
        """Delete confirmed batches except the newest `keep_last` (the tip is always kept)."""
        confirmed = [e.batch_index for e in self.entries() if e.status == BatchStatus.CONFIRMED]
        doomed = confirmed[: max(0, len(confirmed) - max(1, keep_last))]
        with self._db.write_batch(sync=self.sync) as wb:
            for index in doomed:
                wb.delete(_key(index))
        return len(doomed)

    def _require(self, batch_index: int) -> OutboxEntry:
        entry = self.get(batch_index)
        if entry is None:
            raise OutboxError(f"batch {batch_index} is not in the outbox")
        return entry
