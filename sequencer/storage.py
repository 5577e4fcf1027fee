"""Consensus safety storage (DESIGN §7, issue 6 §2): LevelDB via plyvel, plus an in-memory twin.

What is stored:
- the safety record: last voted view, high QC, locked QC, high TC, and the last vote and
  timeout vote this node signed; its last proposal under its own key (`proposal`). All three
  are re-sent verbatim after a restart instead of signing anything new for the same view;
- undecided proposals (`u:` height, hash), so a restarted node still has the chain its
  certificates point at;
- decided blocks with the QC certifying each (`d:` height), a hash → height index (`h:`), and
  the decided tip with the QC that decided it (`tip`).

Every write is one LevelDB write batch with `sync=True`: the driver applies `Persist` and
`Decide` actions through `persist()`/`decide()` and only then performs the sends that follow
them, so a crash can never leave a vote on the wire that the disk does not know about.
"""

from __future__ import annotations

import struct
from typing import Iterator, Protocol

from .codec import (
    DecodeError,
    decode_block,
    decode_message,
    decode_qc,
    decode_tc,
    encode_block,
    encode_message,
    encode_qc,
    encode_tc,
)
from .consensus import Decide, DecidedBlock, Persist, RecoveredState
from .safety import SafetyState
from .types import Block, Proposal, QuorumCertificate, TimeoutVote, Vote

K_SAFETY = b"safety"
K_PROPOSAL = b"proposal"
K_TIP = b"tip"
P_UNDECIDED = b"u:"
P_DECIDED = b"d:"
P_HASH = b"h:"


class StorageCorrupt(RuntimeError):
    """The database holds something this code did not write; refuse to start on it."""


class SafetyStore(Protocol):
    """What the driver and the node need from consensus storage."""

    def load(self) -> RecoveredState | None: ...

    def persist(self, action: Persist) -> None: ...

    def decide(self, action: Decide) -> None: ...

    def decided_block(self, height: int) -> DecidedBlock | None: ...

    def block_by_hash(self, block_hash: bytes) -> Block | None: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------------------------------------
# Record encoding


def _var(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _split(record: bytes, count: int) -> list[bytes]:
    out, pos = [], 0
    for _ in range(count):
        if pos + 4 > len(record):
            raise StorageCorrupt("truncated record")
        (size,) = struct.unpack_from(">I", record, pos)
        pos += 4
        if pos + size > len(record):
            raise StorageCorrupt("truncated record")
        out.append(record[pos : pos + size])
        pos += size
    if pos != len(record):
        raise StorageCorrupt("trailing bytes in record")
    return out


def _opt_msg(msg) -> bytes:
    return encode_message(msg) if msg is not None else b""


def encode_safety_record(a: Persist) -> bytes:
    s = a.safety
    return b"".join(
        (
            struct.pack(">Q", s.last_voted_view),
            _var(encode_qc(s.high_qc)),
            _var(encode_qc(s.locked_qc)),
            _var(encode_tc(s.high_tc) if s.high_tc is not None else b""),
            _var(_opt_msg(a.last_vote)),
            _var(_opt_msg(a.last_timeout)),
        )
    )


def decode_safety_record(record: bytes, proposal: bytes | None) -> tuple[SafetyState, Vote | None, TimeoutVote | None, Proposal | None]:
    if len(record) < 8:
        raise StorageCorrupt("short safety record")
    (last_voted,) = struct.unpack_from(">Q", record)
    hqc, lqc, tc, vote, timeout = _split(record[8:], 5)
    state = SafetyState(
        last_voted_view=last_voted,
        high_qc=decode_qc(hqc),
        locked_qc=decode_qc(lqc),
        high_tc=decode_tc(tc) if tc else None,
    )
    try:
        msgs = [decode_message(m) if m else None for m in (vote, timeout, proposal)]
    except DecodeError as e:
        raise StorageCorrupt(f"safety record: {e}") from None
    if not (
        isinstance(msgs[0], (Vote, type(None)))
        and isinstance(msgs[1], (TimeoutVote, type(None)))
        and isinstance(msgs[2], (Proposal, type(None)))
    ):
        raise StorageCorrupt("safety record holds the wrong message kinds")
    return state, msgs[0], msgs[1], msgs[2]


def _height_key(prefix: bytes, height: int) -> bytes:
    return prefix + struct.pack(">Q", height)


def encode_decided(d: DecidedBlock) -> bytes:
    return struct.pack(">Q", d.epoch) + _var(encode_block(d.block)) + _var(encode_qc(d.qc))


def decode_decided(record: bytes) -> DecidedBlock:
    (epoch,) = struct.unpack_from(">Q", record)
    block, qc = _split(record[8:], 2)
    return DecidedBlock(decode_block(block), decode_qc(qc), epoch)


# ---------------------------------------------------------------------------------------------
# Key-value backends


class _KV(Protocol):
    def get(self, key: bytes) -> bytes | None: ...

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]: ...

    def write(self, puts: list[tuple[bytes, bytes]], deletes: list[bytes]) -> None: ...

    def close(self) -> None: ...


class _MemoryKV:
    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.writes = 0

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        for key in sorted(k for k in self.data if k.startswith(prefix)):
            yield key, self.data[key]

    def write(self, puts: list[tuple[bytes, bytes]], deletes: list[bytes]) -> None:
        for key in deletes:
            self.data.pop(key, None)
        for key, value in puts:
            self.data[key] = value
        self.writes += 1

    def close(self) -> None:
        pass


class _LevelKV:
    def __init__(self, path: str) -> None:
        import plyvel

        self.db = plyvel.DB(path, create_if_missing=True)
        self.writes = 0

    def get(self, key: bytes) -> bytes | None:
        return self.db.get(key)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        yield from self.db.iterator(prefix=prefix)

    def write(self, puts: list[tuple[bytes, bytes]], deletes: list[bytes]) -> None:
        with self.db.write_batch(sync=True) as batch:
            for key in deletes:
                batch.delete(key)
            for key, value in puts:
                batch.put(key, value)
        self.writes += 1

    def close(self) -> None:
        self.db.close()


# ---------------------------------------------------------------------------------------------
# The store


class _Store:
    def __init__(self, kv: _KV) -> None:
        self.kv = kv
        self._written_proposal: Proposal | None = None
        tip = kv.get(K_TIP)
        self._tip_height = struct.unpack_from(">Q", tip)[0] if tip else 0

    @property
    def writes(self) -> int:
        return self.kv.writes

    def load(self) -> RecoveredState | None:
        record = self.kv.get(K_SAFETY)
        if record is None:
            return None
        try:
            state, vote, timeout, proposal = decode_safety_record(record, self.kv.get(K_PROPOSAL))
        except DecodeError as e:
            raise StorageCorrupt(f"safety record: {e}") from None
        undecided = tuple(
            decode_block(value)
            for key, value in self.kv.iterate(P_UNDECIDED)
            if struct.unpack_from(">Q", key, len(P_UNDECIDED))[0] > self._tip_height
        )
        tip = self.decided_block(self._tip_height) if self._tip_height > 0 else None
        return RecoveredState(state, vote, timeout, proposal, undecided, tip)

    def persist(self, action: Persist) -> None:
        """One synced batch: the safety record, the last proposal if it changed (it can be
        megabytes, so it has its own key), and newly accepted undecided blocks."""
        puts = [(K_SAFETY, encode_safety_record(action))]
        if action.last_proposal is not None and action.last_proposal is not self._written_proposal:
            puts.append((K_PROPOSAL, encode_message(action.last_proposal)))
            self._written_proposal = action.last_proposal
        for block in action.blocks:
            if block.height > self._tip_height:
                puts.append((_height_key(P_UNDECIDED, block.height) + block.hash, encode_block(block)))
        self.kv.write(puts, [])

    def decide(self, action: Decide) -> None:
        if not action.blocks:
            return
        puts: list[tuple[bytes, bytes]] = []
        for d in action.blocks:
            puts.append((_height_key(P_DECIDED, d.block.height), encode_decided(d)))
            puts.append((P_HASH + d.block.hash, struct.pack(">Q", d.block.height)))
        top = action.blocks[-1].block.height
        puts.append((K_TIP, struct.pack(">Q", top) + encode_qc(action.commit_qc)))
        deletes = [
            key
            for key, _ in self.kv.iterate(P_UNDECIDED)
            if struct.unpack_from(">Q", key, len(P_UNDECIDED))[0] <= top
        ]
        self.kv.write(puts, deletes)
        self._tip_height = top

    @property
    def decided_height(self) -> int:
        return self._tip_height

    def decided_block(self, height: int) -> DecidedBlock | None:
        record = self.kv.get(_height_key(P_DECIDED, height))
        return decode_decided(record) if record is not None else None

    def block_by_hash(self, block_hash: bytes) -> Block | None:
        height = self.kv.get(P_HASH + block_hash)
        if height is None:
            return None
        decided = self.decided_block(struct.unpack(">Q", height)[0])
        return decided.block if decided is not None else None

    def tip_commit_qc(self) -> QuorumCertificate | None:
        """The QC that decided the tip (it certifies the tip's child), for catch-up proofs."""
        tip = self.kv.get(K_TIP)
        return decode_qc(tip[8:]) if tip else None

    def undecided_block(self, height: int, block_hash: bytes) -> Block | None:
        """An accepted, not (yet) decided block, e.g. the certified child of the decided tip."""
        record = self.kv.get(_height_key(P_UNDECIDED, height) + block_hash)
        return decode_block(record) if record is not None else None

    def close(self) -> None:
        self.kv.close()


class LevelDBSafetyStore(_Store):
    """Safety storage in a LevelDB directory; every write is a synced write batch."""

    def __init__(self, path: str) -> None:
        super().__init__(_LevelKV(path))


class MemorySafetyStore(_Store):
    """The same store over a dict: for the simulator, where a "restart" keeps the object."""

    def __init__(self) -> None:
        super().__init__(_MemoryKV())
