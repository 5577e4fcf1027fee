"""Canonical binary encoding of consensus messages, with strict, bounded decoding.

Why a hand-written codec next to protobuf: hashes and signatures need one canonical byte string
per value (protobuf serialisation is not canonical), and the in-memory simulator and the
storage layer need a wire format without depending on generated code. The peer transport may
carry these bytes as an opaque field or map the types to protobuf; either way hashing and
signing use `types.signing_bytes`, never this frame.

Format: big-endian fixed-width integers, fixed-width hashes/signatures, `u32` length prefixes
for variable bytes, `u16` counts. A frame is `MAGIC | version | kind | body`. Decoding rejects
(with `DecodeError` naming the problem) anything oversized, truncated, with trailing bytes, an
unknown kind, counts above the configured limits or a signer bitmap that disagrees with the
number of signatures. Decoding never raises anything else.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .types import (
    HASH_BYTES,
    MAX_CHAIN_ID_BYTES,
    SIGNATURE_BYTES,
    Block,
    BlockRequest,
    BlockResponse,
    Message,
    Proposal,
    QuorumCertificate,
    TimeoutCertificate,
    TimeoutVote,
    ViewSync,
    Vote,
    indices_from_bitmap,
)

MAGIC = b"AL2C"
VERSION = 1

KIND_PROPOSAL = 1
KIND_VOTE = 2
KIND_TIMEOUT = 3
KIND_VIEW_SYNC = 4
KIND_BLOCK_REQUEST = 5
KIND_BLOCK_RESPONSE = 6


class DecodeError(ValueError):
    """Malformed or oversized input; `reason` is a stable metric label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class CodecLimits:
    """Upper bounds that keep a hostile peer from making a node allocate without limit."""

    max_message_bytes: int = 16 * 1024 * 1024
    max_block_txs: int = 20_000
    max_tx_bytes: int = 64 * 1024
    max_signers: int = 1024
    max_response_blocks: int = 64


DEFAULT_LIMITS = CodecLimits()


# ---------------------------------------------------------------------------------------------
# Writer


class _Writer:
    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def u8(self, v: int) -> None:
        self.parts.append(struct.pack(">B", v))

    def u16(self, v: int) -> None:
        self.parts.append(struct.pack(">H", v))

    def u32(self, v: int) -> None:
        self.parts.append(struct.pack(">I", v))

    def u64(self, v: int) -> None:
        self.parts.append(struct.pack(">Q", v))

    def fixed(self, data: bytes, size: int) -> None:
        if len(data) != size:
            raise ValueError(f"expected {size} bytes, got {len(data)}")
        self.parts.append(data)

    def var(self, data: bytes) -> None:
        self.u32(len(data))
        self.parts.append(data)

    def small(self, data: bytes) -> None:
        self.u8(len(data))
        self.parts.append(data)

    def getvalue(self) -> bytes:
        return b"".join(self.parts)


def _write_qc(w: _Writer, qc: QuorumCertificate) -> None:
    w.u64(qc.view)
    w.fixed(qc.block_hash, HASH_BYTES)
    w.u16(len(qc.signer_bitmap))
    w.parts.append(qc.signer_bitmap)
    w.u16(len(qc.signatures))
    for sig in qc.signatures:
        w.fixed(sig, SIGNATURE_BYTES)


def _write_tc(w: _Writer, tc: TimeoutCertificate) -> None:
    w.u64(tc.view)
    w.u16(len(tc.signer_bitmap))
    w.parts.append(tc.signer_bitmap)
    w.u16(len(tc.signatures))
    if len(tc.high_qc_views) != len(tc.signatures):
        raise ValueError("timeout certificate needs one high QC view per signature")
    for hqc_view, sig in zip(tc.high_qc_views, tc.signatures):
        w.u64(hqc_view)
        w.fixed(sig, SIGNATURE_BYTES)
    _write_qc(w, tc.high_qc)


def _write_block(w: _Writer, block: Block) -> None:
    w.small(block.chain_id)
    w.u64(block.height)
    w.u64(block.view)
    w.fixed(block.parent_hash, HASH_BYTES)
    _write_qc(w, block.justify)
    w.u64(block.timestamp_ms)
    w.u16(block.proposer)
    w.u32(len(block.payload))
    pack = struct.Struct(">I").pack
    w.parts.extend(part for tx in block.payload for part in (pack(len(tx)), tx))


def _write_optional_tc(w: _Writer, tc: TimeoutCertificate | None) -> None:
    if tc is None:
        w.u8(0)
    else:
        w.u8(1)
        _write_tc(w, tc)


def encode_block(block: Block) -> bytes:
    w = _Writer()
    _write_block(w, block)
    return w.getvalue()


def encode_qc(qc: QuorumCertificate) -> bytes:
    w = _Writer()
    _write_qc(w, qc)
    return w.getvalue()


def encode_tc(tc: TimeoutCertificate) -> bytes:
    w = _Writer()
    _write_tc(w, tc)
    return w.getvalue()


def encode_timeout_vote(t: TimeoutVote) -> bytes:
    w = _Writer()
    _write_timeout(w, t)
    return w.getvalue()


def _write_timeout(w: _Writer, t: TimeoutVote) -> None:
    w.u64(t.view)
    _write_qc(w, t.high_qc)
    w.u16(t.voter)
    w.fixed(t.signature, SIGNATURE_BYTES)


def encode_message(msg: Message) -> bytes:
    """Canonical frame for a consensus message (the inverse of `decode_message`)."""
    w = _Writer()
    w.parts.append(MAGIC)
    w.u8(VERSION)
    if isinstance(msg, Proposal):
        w.u8(KIND_PROPOSAL)
        _write_block(w, msg.block)
        _write_optional_tc(w, msg.tc)
        w.fixed(msg.signature, SIGNATURE_BYTES)
    elif isinstance(msg, Vote):
        w.u8(KIND_VOTE)
        w.u64(msg.view)
        w.fixed(msg.block_hash, HASH_BYTES)
        w.u16(msg.voter)
        w.fixed(msg.signature, SIGNATURE_BYTES)
    elif isinstance(msg, TimeoutVote):
        w.u8(KIND_TIMEOUT)
        _write_timeout(w, msg)
    elif isinstance(msg, ViewSync):
        w.u8(KIND_VIEW_SYNC)
        w.u16(msg.sender)
        w.u64(msg.view)
        _write_qc(w, msg.high_qc)
        _write_optional_tc(w, msg.high_tc)
        w.fixed(msg.signature, SIGNATURE_BYTES)
    elif isinstance(msg, BlockRequest):
        w.u8(KIND_BLOCK_REQUEST)
        w.u16(msg.sender)
        w.fixed(msg.block_hash, HASH_BYTES)
        w.u16(msg.max_blocks)
    elif isinstance(msg, BlockResponse):
        w.u8(KIND_BLOCK_RESPONSE)
        w.u16(msg.sender)
        w.u16(len(msg.blocks))
        for block in msg.blocks:
            _write_block(w, block)
    else:
        raise TypeError(f"not a consensus message: {type(msg).__name__}")
    return w.getvalue()


# ---------------------------------------------------------------------------------------------
# Reader


_U32 = struct.Struct(">I")


class _Reader:
    __slots__ = ("data", "pos", "limits")

    def __init__(self, data: bytes, limits: CodecLimits) -> None:
        self.data = data
        self.pos = 0
        self.limits = limits

    def take(self, size: int, what: str) -> bytes:
        end = self.pos + size
        if end > len(self.data):
            raise DecodeError("malformed", f"truncated while reading {what}")
        out = self.data[self.pos : end]
        self.pos = end
        return out

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def u16(self, what: str) -> int:
        return struct.unpack(">H", self.take(2, what))[0]

    def u32(self, what: str) -> int:
        return struct.unpack(">I", self.take(4, what))[0]

    def u64(self, what: str) -> int:
        return struct.unpack(">Q", self.take(8, what))[0]

    def flag(self, what: str) -> bool:
        value = self.u8(what)
        if value > 1:
            raise DecodeError("malformed", f"{what} flag must be 0 or 1, got {value}")
        return value == 1

    def done(self) -> None:
        if self.pos != len(self.data):
            raise DecodeError("malformed", f"{len(self.data) - self.pos} trailing bytes")


def _read_bitmap(r: _Reader, count: int, what: str) -> bytes:
    bitmap_len = r.u16(f"{what} bitmap length")
    if bitmap_len > (r.limits.max_signers + 7) // 8:
        raise DecodeError("oversized", f"{what} bitmap of {bitmap_len} bytes")
    bitmap = r.take(bitmap_len, f"{what} bitmap")
    return bitmap


def _check_signers(bitmap: bytes, count: int, what: str) -> None:
    if len(indices_from_bitmap(bitmap)) != count:
        raise DecodeError("malformed", f"{what} bitmap names a different number of signers")


def _read_qc(r: _Reader) -> QuorumCertificate:
    view = r.u64("qc view")
    block_hash = r.take(HASH_BYTES, "qc block hash")
    bitmap = _read_bitmap(r, 0, "qc")
    count = r.u16("qc signature count")
    if count > r.limits.max_signers:
        raise DecodeError("oversized", f"qc with {count} signatures")
    sigs = tuple(r.take(SIGNATURE_BYTES, "qc signature") for _ in range(count))
    _check_signers(bitmap, count, "qc")
    return QuorumCertificate(view, block_hash, bitmap, sigs)


def _read_tc(r: _Reader) -> TimeoutCertificate:
    view = r.u64("tc view")
    bitmap = _read_bitmap(r, 0, "tc")
    count = r.u16("tc signature count")
    if count > r.limits.max_signers:
        raise DecodeError("oversized", f"tc with {count} signatures")
    views: list[int] = []
    sigs: list[bytes] = []
    for _ in range(count):
        views.append(r.u64("tc high qc view"))
        sigs.append(r.take(SIGNATURE_BYTES, "tc signature"))
    _check_signers(bitmap, count, "tc")
    high_qc = _read_qc(r)
    return TimeoutCertificate(view, bitmap, tuple(views), tuple(sigs), high_qc)


def _read_optional_tc(r: _Reader) -> TimeoutCertificate | None:
    return _read_tc(r) if r.flag("tc present") else None


def _read_block(r: _Reader) -> Block:
    chain_len = r.u8("chain id length")
    if chain_len > MAX_CHAIN_ID_BYTES:
        raise DecodeError("malformed", f"chain id of {chain_len} bytes")
    chain_id = r.take(chain_len, "chain id")
    height = r.u64("height")
    view = r.u64("view")
    parent = r.take(HASH_BYTES, "parent hash")
    justify = _read_qc(r)
    timestamp_ms = r.u64("timestamp")
    proposer = r.u16("proposer")
    tx_count = r.u32("tx count")
    if tx_count > r.limits.max_block_txs:
        raise DecodeError("oversized", f"block with {tx_count} transactions")
    payload = _read_txs(r, tx_count)
    return Block(chain_id, height, view, parent, justify, timestamp_ms, proposer, payload)


def _read_txs(r: _Reader, count: int) -> tuple[bytes, ...]:
    """`count` length-prefixed transactions; the same checks as `take`/`u32`, in one tight loop
    (a block of thousands of transactions is decoded by every replica: issue 6 profile)."""
    data, pos, end = r.data, r.pos, len(r.data)
    max_tx = r.limits.max_tx_bytes
    unpack = _U32.unpack_from
    out = []
    append = out.append
    for _ in range(count):
        if pos + 4 > end:
            raise DecodeError("malformed", "truncated while reading tx length")
        size = unpack(data, pos)[0]
        if size > max_tx:
            raise DecodeError("oversized", f"transaction of {size} bytes")
        pos += 4
        if pos + size > end:
            raise DecodeError("malformed", "truncated while reading transaction")
        append(data[pos:pos + size])
        pos += size
    r.pos = pos
    return tuple(out)


def decode_block(data: bytes, limits: CodecLimits = DEFAULT_LIMITS) -> Block:
    return _decode_whole(data, limits, _read_block)


def decode_qc(data: bytes, limits: CodecLimits = DEFAULT_LIMITS) -> QuorumCertificate:
    return _decode_whole(data, limits, _read_qc)


def decode_tc(data: bytes, limits: CodecLimits = DEFAULT_LIMITS) -> TimeoutCertificate:
    return _decode_whole(data, limits, _read_tc)


def decode_timeout_vote(data: bytes, limits: CodecLimits = DEFAULT_LIMITS) -> TimeoutVote:
    return _decode_whole(data, limits, _read_timeout)


def _read_timeout(r: _Reader) -> TimeoutVote:
    view = r.u64("timeout view")
    high_qc = _read_qc(r)
    voter = r.u16("voter")
    sig = r.take(SIGNATURE_BYTES, "signature")
    return TimeoutVote(view, high_qc, voter, sig)


def _decode_whole(data, limits, read):
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError("malformed", f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > limits.max_message_bytes:
        raise DecodeError("oversized", f"{len(data)} bytes > limit {limits.max_message_bytes}")
    r = _Reader(data, limits)
    value = read(r)
    r.done()
    return value


def decode_message(data: bytes, limits: CodecLimits = DEFAULT_LIMITS) -> Message:
    """Decode one frame or raise `DecodeError` ("oversized" or "malformed") saying what is wrong."""

    def read(r: _Reader) -> Message:
        if r.take(len(MAGIC), "magic") != MAGIC:
            raise DecodeError("malformed", "bad magic")
        version = r.u8("version")
        if version != VERSION:
            raise DecodeError("malformed", f"unsupported version {version}")
        kind = r.u8("kind")
        if kind == KIND_PROPOSAL:
            block = _read_block(r)
            tc = _read_optional_tc(r)
            return Proposal(block, tc, r.take(SIGNATURE_BYTES, "signature"))
        if kind == KIND_VOTE:
            view = r.u64("view")
            block_hash = r.take(HASH_BYTES, "block hash")
            voter = r.u16("voter")
            return Vote(view, block_hash, voter, r.take(SIGNATURE_BYTES, "signature"))
        if kind == KIND_TIMEOUT:
            return _read_timeout(r)
        if kind == KIND_VIEW_SYNC:
            sender = r.u16("sender")
            view = r.u64("view")
            high_qc = _read_qc(r)
            high_tc = _read_optional_tc(r)
            return ViewSync(sender, view, high_qc, high_tc, r.take(SIGNATURE_BYTES, "signature"))
        if kind == KIND_BLOCK_REQUEST:
            sender = r.u16("sender")
            block_hash = r.take(HASH_BYTES, "block hash")
            return BlockRequest(sender, block_hash, r.u16("max blocks"))
        if kind == KIND_BLOCK_RESPONSE:
            sender = r.u16("sender")
            count = r.u16("block count")
            if count > r.limits.max_response_blocks:
                raise DecodeError("oversized", f"response with {count} blocks")
            return BlockResponse(sender, tuple(_read_block(r) for _ in range(count)))
        raise DecodeError("malformed", f"unknown message kind {kind}")

    return _decode_whole(data, limits, read)
