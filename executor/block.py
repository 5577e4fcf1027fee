"""Block application: a decided block in, receipts, events and a state root out (DESIGN §3–§5).

The transition reads top-down like the specification (STYLE: execution-specs):

    apply_block
      ├─ validate_header        height = last + 1, timestamp strictly increasing
      ├─ begin_epoch            first block of a new epoch: batch_open on every slab, expire holds
      ├─ decode_envelope *      size and envelope shape
      ├─ check_signatures       every signature once per node (admission-verified ones skipped,
      │                         the rest split across threads: libsodium runs without the GIL)
      ├─ process_transaction *  payload → chain id → validity window → dedup → router
      │                         (all-or-nothing, a receipt either way)
      ├─ prune_dedup            forget transaction hashes whose validity window has passed
      └─ commit_block           one statetree.apply (records + slab pages + chain meta + block
                                info, atomically), then the transaction-log append

Determinism: the only clock is the block timestamp; nothing iterates in hash order; a
rejected transaction leaves no trace but its receipt (the state journal rolls it back, and
the router mutates slabs only after all of a transaction's checks pass).

Crash safety: state, slab pages, chain meta and the block's receipts go to LevelDB in one
write batch.  The transaction log is appended after it; ``TxLog.append_block`` is idempotent
for a block it already holds, so replaying the last block after a crash heals the gap.
"""
from __future__ import annotations

import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from google.protobuf.message import DecodeError

from executor.errors import ErrorCode, ExecutorError, message_for
from executor.genesis import Genesis
from executor.manifest import Manifest
from executor.router import Router
from executor.slabs import SlabSet
from executor.state import RAW, ExecState, Raw
from executor.tx import VerifiedSignatures, tx_hash, verify_all
from proto.assetl2.v1 import state_pb2, tx_pb2
from statetree import StateTree, derive_key
from statetree.txlog import TxLog

MAX_TX_BYTES = 16 * 1024            # an envelope larger than this is refused (DESIGN §4)
MAX_VALIDITY_WINDOW_MS = 600_000    # bounds how long a transaction hash must be remembered
DEDUP_BUCKET_MS = 1_000             # dedup records expire in one-second buckets
DEDUP_CHUNK = 1_024                 # hashes per bucket chunk (32 KiB, under the value limit)

META_CHAIN = derive_key("meta", "chain")          # (height, timestamp_ms, epoch, dedup_pruned_s)
_CHAIN = struct.Struct(">QQQQ")
EXTRA_BLOCK_PREFIX = b"exec/block/"               # BlockInfo by height (unauthenticated index)
GENESIS_HEIGHT = 0


class BlockError(RuntimeError):
    """The block itself is unusable (wrong height, time going backwards): a sequencing fault."""


@dataclass(frozen=True)
class BlockInput:
    """What consensus decided: height, the rollup clock and the ordered transactions.

    ``view``, ``block_hash``, ``parent_hash`` and ``proposer`` identify the block in consensus;
    they are recorded in the block info for clients and never enter the state transition."""

    height: int
    timestamp_ms: int
    txs: tuple[bytes, ...]
    view: int = 0
    block_hash: bytes = b""
    parent_hash: bytes = b""
    proposer: int = 0


@dataclass(frozen=True)
class BlockOutput:
    height: int
    timestamp_ms: int
    epoch: int
    state_root: bytes
    tx_log_size: int
    tx_log_root: bytes
    tx_hashes: tuple[bytes, ...]
    receipts: tuple[state_pb2.Receipt, ...]
    events: tuple[state_pb2.Event, ...]


@dataclass(frozen=True)
class ChainMeta:
    """The executor's own clock and position, kept in authenticated state."""

    height: int
    timestamp_ms: int
    epoch: int
    dedup_pruned_s: int

    def encode(self) -> bytes:
        return _CHAIN.pack(self.height, self.timestamp_ms, self.epoch, self.dedup_pruned_s)

    @classmethod
    def decode(cls, raw: bytes) -> "ChainMeta":
        return cls(*_CHAIN.unpack(raw))


def dedup_key(h: bytes) -> bytes:
    return derive_key("dedup", h)


def dedup_bucket_key(second: int, chunk: Optional[int] = None) -> bytes:
    """A bucket's hash count (chunk None) or one chunk of its hashes."""
    name = f"dedup-bucket/{second}" if chunk is None else f"dedup-bucket/{second}/{chunk}"
    return derive_key("meta", name)


def _receipt(h: bytes, code: ErrorCode = ErrorCode.OK, detail: str = "") -> state_pb2.Receipt:
    if code == ErrorCode.OK:
        return state_pb2.Receipt(tx_hash=h, ok=True)
    msg = message_for(code) + (f" ({detail})" if detail else "")
    return state_pb2.Receipt(tx_hash=h, ok=False, error_code=int(code), error_name=code.name, message=msg)


class Executor:
    """The deterministic state machine of one node (DESIGN §1 executor role)."""

    def __init__(self, data_dir: Path, genesis: Genesis, *, governance: frozenset[bytes] = frozenset(),
                 bridge_relayers: frozenset[bytes] = frozenset(), manifest: Optional[Manifest] = None,
                 sync: bool = True, verified: Optional[VerifiedSignatures] = None, sig_threads: int = 2):
        """``manifest``: the running program's (DESIGN §6).  With it, genesis registers every
        slab under this manifest and the router refuses to route to a slab whose registered
        hashes differ from the running code (plan P10/P11); without it (tests) no check.

        ``verified``: signatures this node already checked (the sequencer's admission marks
        them), skipped here.  ``sig_threads``: threads that verify the rest of a block's
        signatures in parallel (1 = inline)."""
        data_dir.mkdir(parents=True, exist_ok=True)
        self.genesis = genesis
        self.chain_id = genesis.chain_id
        self.config = genesis.config
        self.batch_ms = genesis.config.router.batch_ms
        self.tree = StateTree(str(data_dir / "state"), sync=sync)
        self.txlog = TxLog(str(data_dir / "txlog.sqlite"))
        self.state = ExecState(self.tree)
        fresh = self.tree.latest_version() is None
        self.slabs = SlabSet.genesis(self.config) if fresh else SlabSet.load(self.config, self.tree)
        running = {n: manifest for n in self.slabs.slabs} if manifest is not None else None
        self.router = Router(self.state, self.config, self.slabs.slabs, governance=governance,
                             bridge_relayers=bridge_relayers, faucet_enabled=genesis.dev_faucet_enabled,
                             running_manifests=running)
        if fresh:
            self._apply_genesis()
        raw = self.tree.get(META_CHAIN)
        if raw is None:
            raise BlockError("state has no chain meta record; was it written by this executor?")
        self.meta = ChainMeta.decode(raw)
        self.verified = verified
        self._sig_threads = sig_threads
        self._sig_pool = (ThreadPoolExecutor(sig_threads, thread_name_prefix="sigcheck")
                          if sig_threads > 1 else None)

    # ------------------------------------------------------------------ genesis

    def _apply_genesis(self) -> None:
        """Version 0: the genesis accounts, prices, registry and fresh slab arenas."""
        self.router.apply_genesis(self.genesis, now_ms=0)
        meta = ChainMeta(GENESIS_HEIGHT, 0, 0, 0)
        updates = self.state.take_updates()
        updates.update(self.slabs.take_updates())
        updates[META_CHAIN] = meta.encode()
        self.tree.apply(GENESIS_HEIGHT, updates)
        self.slabs.mark_clean()
        self.txlog.append_block([], block=GENESIS_HEIGHT)

    # ------------------------------------------------------------------ reads

    @property
    def height(self) -> int:
        return self.meta.height

    def state_root(self, height: Optional[int] = None) -> bytes:
        return self.tree.root(height)

    def block_info(self, height: int) -> Optional[state_pb2.BlockInfo]:
        """Receipts and hashes of an executed block, with its state root and log position."""
        raw = self.tree.get_meta(EXTRA_BLOCK_PREFIX + height.to_bytes(8, "big"))
        if raw is None:
            return None
        info = state_pb2.BlockInfo.FromString(raw)
        info.state_root = self.tree.root(height)
        info.tx_log_size, info.tx_log_root = self.txlog.block(height)
        return info

    # ------------------------------------------------------------------ the transition

    def apply_block(self, block: BlockInput) -> BlockOutput:
        """Apply one decided block; deterministic in ``block`` and the prior state alone."""
        self.validate_header(block)
        epoch = block.timestamp_ms // self.batch_ms
        events: list[state_pb2.Event] = []
        if epoch != self.meta.epoch:
            events += self.begin_epoch(block.timestamp_ms, epoch)
        decoded = [self.decode_envelope(raw) for raw in block.txs]
        signed = self.check_signatures(decoded)
        receipts, hashes = [], []
        self._new_dedup: dict[int, list[bytes]] = {}
        for (h, env, early), sig_ok in zip(decoded, signed):
            if early is None and not sig_ok:
                early = _receipt(h, ErrorCode.BAD_SIGNATURE)
            if early is not None:
                receipt, tx_events = early, ()
            else:
                receipt, tx_events = self.process_transaction(h, env, block.timestamp_ms, epoch)
            hashes.append(h)
            receipts.append(receipt)
            events += tx_events
        self.flush_dedup()
        pruned_s = self.prune_dedup(block.timestamp_ms)
        for ev in events:
            ev.height = block.height
        return self.commit_block(block, epoch, pruned_s, tuple(hashes), tuple(receipts), tuple(events))

    def validate_header(self, block: BlockInput) -> None:
        if block.height != self.meta.height + 1:
            raise BlockError(f"block height {block.height} does not follow executed height {self.meta.height}")
        if block.timestamp_ms <= self.meta.timestamp_ms:
            raise BlockError(f"block timestamp {block.timestamp_ms} not after {self.meta.timestamp_ms}")

    def begin_epoch(self, now_ms: int, epoch: int) -> list[state_pb2.Event]:
        """Epoch boundary (DESIGN §3): batch_open on every slab, then expire holds past TTL."""
        sp = self.state.savepoint()
        try:
            events = self.router.on_epoch(now_ms=now_ms, epoch=epoch)
        except ExecutorError as err:
            # Boundary transitions take no client input; failing here is a program defect
            # that every node hits identically.  Stop rather than diverge silently.
            self.state.rollback(sp)
            raise BlockError(f"epoch {epoch} boundary failed: {err}") from err
        self.state.release(sp)
        return events

    @staticmethod
    def decode_envelope(raw: bytes) -> tuple[bytes, Optional[tx_pb2.Envelope], Optional[state_pb2.Receipt]]:
        """Size and envelope shape: ``(tx hash, envelope, None)`` or ``(hash, None, rejection)``."""
        if len(raw) > MAX_TX_BYTES:
            h = tx_hash(raw)
            return h, None, _receipt(h, ErrorCode.TX_TOO_LARGE, f"{len(raw)} > {MAX_TX_BYTES} bytes")
        try:
            env = tx_pb2.Envelope.FromString(raw)
        except DecodeError:
            h = tx_hash(raw)
            return h, None, _receipt(h, ErrorCode.TX_MALFORMED, "envelope does not decode")
        return tx_hash(env.payload), env, None

    def check_signatures(self, decoded) -> list[bool]:
        """Every decoded envelope's signature, each checked once per node (issue 6).

        Envelopes this node's sequencer already verified at admission are taken from
        ``self.verified``; the rest are verified here, split across the signature pool's
        threads.  A pure function of the envelopes, so the pool changes speed, not receipts."""
        out = [True] * len(decoded)
        todo: list[int] = []
        verified = self.verified
        for i, (h, env, early) in enumerate(decoded):
            if early is None and not (verified is not None and verified.take(h, env)):
                todo.append(i)
        envs = [decoded[i][1] for i in todo]
        for i, ok in zip(todo, verify_all(envs, self.chain_id, self._sig_pool, self._sig_threads)):
            out[i] = ok
        return out

    def process_transaction(self, h: bytes, env: tx_pb2.Envelope, now_ms: int, epoch: int
                            ) -> tuple[state_pb2.Receipt, list[state_pb2.Event]]:
        """One signature-checked transaction, all-or-nothing; rejections are receipts with stable codes."""
        try:
            payload = tx_pb2.Payload.FromString(env.payload)
        except DecodeError:
            return _receipt(h, ErrorCode.TX_MALFORMED, "payload does not decode"), []
        dk = dedup_key(h)
        code, detail = self.check_envelope(payload, dk, now_ms)
        if code != ErrorCode.OK:
            return _receipt(h, code, detail), []
        sp = self.state.savepoint()
        try:
            events = self.router.apply_tx(env.signer, payload, now_ms=now_ms, epoch=epoch)
        except ExecutorError as err:
            self.state.rollback(sp)
            return state_pb2.Receipt(tx_hash=h, ok=False, error_code=int(err.code),
                                     error_name=err.code.name, message=err.message), []
        self.remember(h, dk, payload.valid_until_ms)
        self.state.release(sp)
        return _receipt(h), events

    def check_envelope(self, payload: tx_pb2.Payload, dk: bytes, now_ms: int) -> tuple[ErrorCode, str]:
        """Chain id, validity window, duplicate (``dk``: the hash's dedup key), body present (DESIGN §4)."""
        code, detail = self.check_window(payload, now_ms)
        if code != ErrorCode.OK:
            return code, detail
        if self.state.get_by_key(RAW, dk) is not None:
            return ErrorCode.TX_DUPLICATE, ""
        if payload.WhichOneof("body") is None:
            return ErrorCode.TX_MALFORMED, "payload has no body"
        return ErrorCode.OK, ""

    def check_window(self, payload: tx_pb2.Payload, now_ms: int) -> tuple[ErrorCode, str]:
        """Chain id and validity window at ``now_ms`` (the block time, or admission's clock)."""
        if payload.chain_id != self.chain_id:
            return ErrorCode.WRONG_CHAIN, f"signed for {payload.chain_id!r}, this chain is {self.chain_id!r}"
        if payload.valid_until_ms < now_ms:
            return ErrorCode.TX_EXPIRED, f"valid until {payload.valid_until_ms}, time {now_ms}"
        if payload.valid_until_ms > now_ms + MAX_VALIDITY_WINDOW_MS:
            return ErrorCode.TX_VALIDITY_TOO_LONG, f"at most {MAX_VALIDITY_WINDOW_MS} ms ahead"
        return ErrorCode.OK, ""

    def remember(self, h: bytes, dk: bytes, valid_until_ms: int) -> None:
        """Record an executed transaction's hash until its validity window closes.

        The hash is written at once (a duplicate later in the same block is caught); its
        expiry-bucket entry is collected and written once per block by ``flush_dedup``."""
        self.state.put_by_key(RAW, dk, Raw(valid_until_ms.to_bytes(8, "big")))
        self._new_dedup.setdefault(valid_until_ms // DEDUP_BUCKET_MS, []).append(h)

    def flush_dedup(self) -> None:
        """Append this block's hashes to their buckets, in bucket order, in 1 024-hash chunks.

        Each touched chunk is read and written once per block (not once per hash)."""
        for second in sorted(self._new_dedup):
            count_key = dedup_bucket_key(second)
            count_rec = self.state.get_by_key(RAW, count_key)
            count = 0 if count_rec is None else int.from_bytes(count_rec.data, "big")
            new = self._new_dedup[second]
            pos = 0
            while pos < len(new):
                chunk_no, used = divmod(count, DEDUP_CHUNK)
                take = new[pos:pos + DEDUP_CHUNK - used]
                key = dedup_bucket_key(second, chunk_no)
                chunk = self.state.get_by_key(RAW, key)
                self.state.put_by_key(RAW, key, Raw((chunk.data if chunk else b"") + b"".join(take)))
                count += len(take)
                pos += len(take)
            self.state.put_by_key(RAW, count_key, Raw(count.to_bytes(8, "big")))
        self._new_dedup = {}
        self.state.release(0)

    def prune_dedup(self, now_ms: int) -> int:
        """Delete the dedup records of every bucket whose window has closed, in bucket order."""
        done = self.meta.dedup_pruned_s
        upto = now_ms // DEDUP_BUCKET_MS - 1          # buckets strictly in the past
        if done == 0:
            done = max(0, upto - MAX_VALIDITY_WINDOW_MS // DEDUP_BUCKET_MS - 1)
        for second in range(done + 1, upto + 1):
            count_rec = self.state.get_by_key(RAW, dedup_bucket_key(second))
            if count_rec is None:
                continue
            count = int.from_bytes(count_rec.data, "big")
            for c in range((count + DEDUP_CHUNK - 1) // DEDUP_CHUNK):
                key = dedup_bucket_key(second, c)
                chunk = self.state.get_by_key(RAW, key)
                for i in range(0, len(chunk.data), 32):
                    self.state.put_by_key(RAW, dedup_key(chunk.data[i:i + 32]), None)
                self.state.put_by_key(RAW, key, None)
            self.state.put_by_key(RAW, dedup_bucket_key(second), None)
        self.state.release(0)
        return max(done, upto)

    def admission_check(self, payload_bytes: bytes, signer: bytes, now_ms: int) -> Optional[tuple[ErrorCode, str]]:
        """What the sequencer's admission may refuse ahead of execution (DESIGN §3): chain id and
        validity window (``check_window``), and the reserve→commit rules against the latest executed state.
        None when nothing is known to be wrong; otherwise ``(code, message)`` — the same code
        the executor would put in the receipt."""
        try:
            payload = tx_pb2.Payload.FromString(payload_bytes)
        except DecodeError:
            return ErrorCode.TX_MALFORMED, message_for(ErrorCode.TX_MALFORMED) + " (payload does not decode)"
        code, detail = self.check_window(payload, now_ms)
        if code != ErrorCode.OK:
            return code, message_for(code) + f" ({detail})"
        try:
            self.router.admission_check(signer, payload, now_ms)
        except ExecutorError as err:
            return err.code, err.message
        return None

    def commit_block(self, block: BlockInput, epoch: int, pruned_s: int, hashes: tuple[bytes, ...],
                     receipts: tuple[state_pb2.Receipt, ...], events: tuple[state_pb2.Event, ...]) -> BlockOutput:
        """One atomic write: records, slab pages, chain meta and the block's info."""
        self.meta = ChainMeta(block.height, block.timestamp_ms, epoch, pruned_s)
        updates = self.state.take_updates()
        updates.update(self.slabs.take_updates())
        updates[META_CHAIN] = self.meta.encode()
        info = state_pb2.BlockInfo(
            header=state_pb2.BlockHeader(height=block.height, view=block.view, parent_hash=block.parent_hash,
                                         timestamp_ms=block.timestamp_ms, proposer=block.proposer),
            block_hash=block.block_hash, epoch=epoch, tx_hashes=list(hashes), receipts=list(receipts),
        )
        extra = {EXTRA_BLOCK_PREFIX + block.height.to_bytes(8, "big"): info.SerializeToString()}
        root = self.tree.apply(block.height, updates, extra_meta=extra)
        self.slabs.mark_clean()
        size, log_root = self.txlog.append_block(list(hashes), block=block.height)
        return BlockOutput(block.height, block.timestamp_ms, epoch, root, size, log_root, hashes, receipts, events)

    def close(self) -> None:
        if self._sig_pool is not None:
            self._sig_pool.shutdown(wait=True)
        self.txlog.close()
        self.tree.close()
