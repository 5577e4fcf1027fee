"""The async gRPC client (``grpc.aio``) of a node's ClientApi (DESIGN §9).

- ``connect`` asks ``GetStatus`` first and refuses a node of another chain id: a transaction
  signed for one chain is worthless on another, so failing early beats a stream of
  BAD_SIGNATURE rejections.
- Submissions: ``submit`` (unary), ``submit_batch`` (``SubmitBatch``: many envelopes per
  message, split to the node's limits — the fast path, issue 6), ``submit_many`` (the
  bidirectional ``SubmitStream``; one result per envelope, in order) and ``execute`` (submit,
  then wait for the receipt in an executed block).  Refusals raise ``TxRejected`` carrying the
  node's stable code.
- Reads verify every Merkle proof against the returned root by default (``verify=True``);
  a proof that does not verify raises ``ProofError`` — a client must not act on unproven
  state it was told was proven.
- ``events`` follows ``StreamEvents`` and reconnects after a dropped stream, resuming from the
  height after the last block it delivered; gaps are filled with ``GetBlock`` so block events
  arrive once each, in height order.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator, Iterable, Optional

import grpc

from node.client.errors import (ChainMismatch, NodeUnavailable, NotFound, ProofError, TxRejected,
                                TxTimeout)
from node.client.txs import envelope_hash
from proto.assetl2.v1 import client_pb2, client_pb2_grpc, state_pb2, tx_pb2
from statetree import verify

log = logging.getLogger(__name__)

RECONNECT_BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0)
DEFAULT_RPC_TIMEOUT_S = 10.0
BATCH_ENVELOPES = 1024                # per SubmitBatch call (node limit: 4096)
BATCH_BYTES = 1024 * 1024             # per SubmitBatch call (node limit: 2 MiB)


def split_batches(envelopes: list[tx_pb2.Envelope], max_count: int = BATCH_ENVELOPES,
                  max_bytes: int = BATCH_BYTES) -> list[list[tx_pb2.Envelope]]:
    """Consecutive slices within the SubmitBatch limits (an envelope costs its size + 4 bytes of
    framing); order is kept, so results concatenate back in envelope order."""
    out: list[list[tx_pb2.Envelope]] = []
    cur: list[tx_pb2.Envelope] = []
    used = 0
    for e in envelopes:
        size = e.ByteSize() + 4
        if cur and (len(cur) >= max_count or used + size > max_bytes):
            out.append(cur)
            cur, used = [], 0
        cur.append(e)
        used += size
    if cur:
        out.append(cur)
    return out


def verify_proofs(root: bytes, proofs: Iterable[state_pb2.ProvenValue]) -> int:
    """Check every proven value against ``root``; returns how many; ProofError on the first bad one."""
    n = 0
    for pv in proofs:
        value = bytes(pv.value) if pv.present else None
        try:
            ok = verify(bytes(root), bytes(pv.key), value, bytes(pv.proof))
        except Exception as exc:  # noqa: BLE001 - wrong-size roots/keys are a bad answer too
            raise ProofError(f"{pv.kind} proof for key {pv.key.hex()[:16]}… is malformed: {exc}") from None
        if not ok:
            raise ProofError(f"{pv.kind} proof for key {pv.key.hex()[:16]}… does not verify "
                             f"against state root {bytes(root).hex()[:16]}…")
        n += 1
    return n


def _map_rpc_error(err: grpc.RpcError, what: str) -> Exception:
    code = err.code() if hasattr(err, "code") else None
    details = err.details() if hasattr(err, "details") else str(err)
    if code == grpc.StatusCode.NOT_FOUND:
        return NotFound(f"{what}: {details}")
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.DEADLINE_EXCEEDED):
        return NodeUnavailable(f"{what}: {details}")
    return NodeUnavailable(f"{what}: {code.name if code else 'error'}: {details}")


def _check_result(res: client_pb2.SubmitResult) -> client_pb2.SubmitResult:
    if not res.accepted:
        raise TxRejected("admission", res.error_code, res.error_name, res.message, bytes(res.tx_hash),
                         res.grpc_status)
    return res


class Client:
    """One connection to one node. Use ``async with await Client.connect(addr, chain_id)``."""

    def __init__(self, target: str, channel: grpc.aio.Channel, status: client_pb2.NodeStatus):
        self.target = target
        self.channel = channel
        self.stub = client_pb2_grpc.ClientApiStub(channel)
        self.chain_id = status.chain_id
        self.node_id = status.node_id
        self._waiters: dict[bytes, asyncio.Future] = {}
        self._follower: Optional[asyncio.Task] = None
        self._follower_lock = asyncio.Lock()

    @classmethod
    async def connect(cls, target: str, chain_id: str | None = None, *,
                      timeout_s: float = DEFAULT_RPC_TIMEOUT_S) -> "Client":
        """Open a channel and check the node's chain id (``None``: accept the node's)."""
        channel = grpc.aio.insecure_channel(target, options=[("grpc.max_receive_message_length", 64 << 20)])
        try:
            status = await client_pb2_grpc.ClientApiStub(channel).GetStatus(
                client_pb2.GetStatusRequest(), timeout=timeout_s)
        except grpc.RpcError as err:
            await channel.close()
            raise NodeUnavailable(f"node {target} does not answer: {err.code().name}: {err.details()}") from None
        if chain_id is not None and status.chain_id != chain_id:
            await channel.close()
            raise ChainMismatch(f"node {target} serves chain {status.chain_id!r}, not {chain_id!r}; "
                                "transactions signed for one chain are refused by another")
        return cls(target, channel, status)

    async def close(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._follower
        for fut in self._waiters.values():
            if not fut.done():
                fut.cancel()
        await self.channel.close()

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # ------------------------------------------------------------------ submissions

    async def submit(self, env: tx_pb2.Envelope, *, check: bool = True) -> client_pb2.SubmitResult:
        """Admission only; raises TxRejected when refused (unless ``check=False``)."""
        try:
            res = await self.stub.SubmitTransaction(env, timeout=DEFAULT_RPC_TIMEOUT_S)
        except grpc.RpcError as err:
            raise _map_rpc_error(err, "SubmitTransaction") from None
        return _check_result(res) if check else res

    async def submit_batch(self, envelopes: Iterable[tx_pb2.Envelope], *, in_flight: int = 4
                           ) -> list[client_pb2.SubmitResult]:
        """Admission of many envelopes over ``SubmitBatch`` calls (at most ``in_flight`` at once);
        one result per envelope, in order, never raising per transaction (check ``accepted``).
        ``seq`` is the envelope's position in ``envelopes``."""
        parts = split_batches(list(envelopes))
        sem = asyncio.Semaphore(max(1, in_flight))

        async def one(part: list[tx_pb2.Envelope]) -> list[client_pb2.SubmitResult]:
            async with sem:
                try:
                    reply = await self.stub.SubmitBatch(client_pb2.EnvelopeBatch(envelopes=part),
                                                        timeout=DEFAULT_RPC_TIMEOUT_S)
                except grpc.RpcError as err:
                    raise _map_rpc_error(err, "SubmitBatch") from None
                return list(reply.results)

        out: list[client_pb2.SubmitResult] = []
        for results in await asyncio.gather(*(one(p) for p in parts)):
            for r in results:
                r.seq = len(out)
                out.append(r)
        return out

    def batcher(self, *, flush_ms: float = 5.0, max_envelopes: int = BATCH_ENVELOPES) -> "BatchSender":
        """A sender that groups ``send`` calls into ``SubmitBatch`` messages (issue 6)."""
        return BatchSender(self, flush_ms=flush_ms, max_envelopes=max_envelopes)

    async def submit_many(self, envelopes: Iterable[tx_pb2.Envelope]) -> list[client_pb2.SubmitResult]:
        """Pipeline envelopes over one ``SubmitStream``; results in order, never raising per tx."""
        envs = list(envelopes)

        async def gen():
            for e in envs:
                yield e
        out: list[client_pb2.SubmitResult] = []
        try:
            async for res in self.stub.SubmitStream(gen()):
                out.append(res)
        except grpc.RpcError as err:
            raise _map_rpc_error(err, "SubmitStream") from None
        return out

    async def stream(self) -> "SubmitStream":
        """An open bidirectional submit stream for long-running senders (market makers, load)."""
        s = SubmitStream(self)
        s.open()
        return s

    async def _ensure_follower(self) -> None:
        """One receipt follower per client, subscribed from the height *before* any waiter's
        transaction was sent (replay from ``height + 1``), so no receipt can slip past it."""
        async with self._follower_lock:
            if self._follower is None or self._follower.done():
                h0 = (await self.status()).height
                self._follower = asyncio.create_task(self._follow_receipts(h0 + 1), name="receipts")

    async def _follow_receipts(self, from_height: int) -> None:
        async for ev in self.events(from_height=from_height, kinds=[client_pb2.EVENT_KIND_BLOCK]):
            for r in ev.block.receipts:
                fut = self._waiters.pop(bytes(r.tx_hash), None)
                if fut is not None and not fut.done():
                    fut.set_result((ev.block, r))

    async def wait_receipt(self, tx_hash: bytes) -> asyncio.Future:
        """A future resolved with ``(BlockInfo, Receipt)`` once ``tx_hash`` is executed.
        Call it before sending the transaction (``execute`` does)."""
        await self._ensure_follower()
        fut = self._waiters.get(tx_hash)
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
            self._waiters[tx_hash] = fut
        return fut

    async def execute(self, env: tx_pb2.Envelope, *, timeout_s: float = 30.0) -> tuple[state_pb2.BlockInfo, state_pb2.Receipt]:
        """Submit and wait for the execution receipt; TxRejected if refused at either stage."""
        h = envelope_hash(env)
        fut = await self.wait_receipt(h)
        try:
            await self.submit(env)
        except BaseException:
            self._waiters.pop(h, None)
            raise
        try:
            block, receipt = await asyncio.wait_for(fut, timeout_s)
        except asyncio.TimeoutError:
            self._waiters.pop(h, None)
            raise TxTimeout(f"transaction {h.hex()[:16]}… admitted but not executed within {timeout_s:g} s") from None
        if not receipt.ok:
            raise TxRejected("execution", receipt.error_code, receipt.error_name, receipt.message, h)
        return block, receipt

    # ------------------------------------------------------------------ reads

    async def _read(self, what: str, call, req):
        try:
            return await call(req, timeout=DEFAULT_RPC_TIMEOUT_S)
        except grpc.RpcError as err:
            raise _map_rpc_error(err, what) from None

    async def status(self) -> client_pb2.NodeStatus:
        return await self._read("GetStatus", self.stub.GetStatus, client_pb2.GetStatusRequest())

    async def account(self, user: bytes, *, height: int = 0, verify: bool = True) -> state_pb2.AccountState:
        acc = await self._read("GetAccount", self.stub.GetAccount, client_pb2.GetAccountRequest(user=user, height=height))
        if verify:
            verify_proofs(acc.anchor.state_root, acc.proofs)
        return acc

    async def hold(self, user: bytes, route_id: int, *, verify: bool = True) -> state_pb2.Hold:
        h = await self._read("GetHold", self.stub.GetHold, client_pb2.GetHoldRequest(user=user, route_id=route_id))
        if verify:
            verify_proofs(h.anchor.state_root, h.proofs)
        return h

    async def state_value(self, key: bytes, *, height: int = 0, verify: bool = True) -> client_pb2.StateValue:
        sv = await self._read("GetStateValue", self.stub.GetStateValue,
                              client_pb2.GetStateValueRequest(key=key, height=height))
        if verify:
            verify_proofs(sv.anchor.state_root, [sv.value])
        return sv

    async def order_book(self, slab_id: int, instrument_id: int, *, depth: int = 10,
                         verify: bool = True) -> state_pb2.OrderBook:
        """Book depth; its proofs (when the node sends any) are verified like every read."""
        book = await self._read("GetOrderBook", self.stub.GetOrderBook, client_pb2.GetOrderBookRequest(
            slab_id=slab_id, instrument_id=instrument_id, depth=depth))
        if verify:
            verify_proofs(book.anchor.state_root, book.proofs)
        return book

    async def block(self, height: int = 0) -> state_pb2.BlockInfo:
        return await self._read("GetBlock", self.stub.GetBlock, client_pb2.GetBlockRequest(height=height))

    async def batch(self, index: int | None = None) -> state_pb2.BatchInfo:
        req = client_pb2.GetBatchRequest(latest=True) if index is None else client_pb2.GetBatchRequest(batch_index=index)
        return await self._read("GetBatch", self.stub.GetBatch, req)

    # ------------------------------------------------------------------ events

    async def events(self, *, from_height: int = 0, kinds: Iterable[int] = (), user: bytes = b"",
                     reconnect: bool = True) -> AsyncIterator[state_pb2.Event]:
        """Follow events; after a dropped stream, resume from the last delivered block + 1."""
        kinds = list(kinds)
        want_blocks = not kinds or client_pb2.EVENT_KIND_BLOCK in kinds
        last_block = from_height - 1 if from_height else None
        attempt = 0
        while True:
            req = client_pb2.StreamEventsRequest(
                from_height=(last_block + 1) if last_block is not None else 0, kinds=kinds, user=user)
            try:
                call = self.stub.StreamEvents(req)
                async for ev in call:
                    attempt = 0
                    if ev.WhichOneof("kind") == "block":
                        h = ev.height
                        if last_block is not None and h <= last_block:
                            continue  # replayed twice around a (re)subscription
                        if last_block is not None and h > last_block + 1:
                            for gap in range(last_block + 1, h):  # missed while re-subscribing
                                info = await self.block(gap)
                                if want_blocks:
                                    yield state_pb2.Event(height=gap, block=info)
                        last_block = h
                        if want_blocks:
                            yield ev
                    elif _wanted(ev, kinds, user):
                        yield ev
                if not reconnect:
                    return
            except grpc.RpcError as err:
                if not reconnect or err.code() in (grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.INVALID_ARGUMENT):
                    raise _map_rpc_error(err, "StreamEvents") from None
                log.info("event stream dropped (%s); reconnecting", err.code().name)
            delay = RECONNECT_BACKOFF_S[min(attempt, len(RECONNECT_BACKOFF_S) - 1)]
            attempt += 1
            await asyncio.sleep(delay)


_KIND_OF = {"fill": client_pb2.EVENT_KIND_FILL, "order_update": client_pb2.EVENT_KIND_ORDER_UPDATE,
            "batch": client_pb2.EVENT_KIND_BATCH}


def _wanted(ev: state_pb2.Event, kinds: list[int], user: bytes) -> bool:
    """Client-side filter (kinds, user), so the answer is right whether or not the node filters."""
    kind = ev.WhichOneof("kind")
    if kinds and _KIND_OF.get(kind) not in kinds:
        return False
    if user:
        if kind == "fill":
            return user in (bytes(ev.fill.maker), bytes(ev.fill.taker))
        if kind == "order_update":
            return bytes(ev.order_update.owner) == user
    return True


class SubmitStream:
    """A long-lived ``SubmitStream``: ``await send(env)`` returns that envelope's SubmitResult.

    Results come back in order (client.proto), so the n-th result answers the n-th envelope.
    """

    def __init__(self, client: Client):
        self.client = client
        self._out: asyncio.Queue = asyncio.Queue()
        self._pending: list[asyncio.Future] = []
        self._task: Optional[asyncio.Task] = None

    def open(self) -> None:
        async def gen():
            while True:
                env = await self._out.get()
                if env is None:
                    return
                yield env

        async def run():
            try:
                async for res in self.client.stub.SubmitStream(gen()):
                    fut = self._pending.pop(0)
                    if not fut.done():
                        fut.set_result(res)
            except grpc.RpcError as err:
                exc = _map_rpc_error(err, "SubmitStream")
                for fut in self._pending:
                    if not fut.done():
                        fut.set_exception(exc)
                self._pending.clear()
        self._task = asyncio.create_task(run(), name="submit-stream")

    def send(self, env: tx_pb2.Envelope) -> asyncio.Future:
        if self._task is not None and self._task.done():
            raise NodeUnavailable("submit stream is closed")
        fut = asyncio.get_running_loop().create_future()
        self._pending.append(fut)
        self._out.put_nowait(env)
        return fut

    async def close(self) -> None:
        self._out.put_nowait(None)
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 10)


class BatchSender:
    """``send(env)`` returns that envelope's future SubmitResult; envelopes sent within
    ``flush_ms`` of each other (at most ``max_envelopes``) travel in one ``SubmitBatch``, so a
    busy client pays gRPC's per-message cost once per batch instead of once per order."""

    def __init__(self, client: Client, *, flush_ms: float, max_envelopes: int):
        self.client = client
        self.flush_s = max(0.0, flush_ms) / 1000
        self.max_envelopes = max(1, min(max_envelopes, BATCH_ENVELOPES))
        self._envs: list[tx_pb2.Envelope] = []
        self._futs: list[asyncio.Future] = []
        self._timer: Optional[asyncio.TimerHandle] = None
        self._calls: set[asyncio.Task] = set()

    def send(self, env: tx_pb2.Envelope) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._envs.append(env)
        self._futs.append(fut)
        if len(self._envs) >= self.max_envelopes:
            self.flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.flush_s, self.flush)
        return fut

    def flush(self) -> None:
        """Send what is pending now as one batch."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._envs:
            return
        envs, futs, self._envs, self._futs = self._envs, self._futs, [], []
        task = asyncio.get_running_loop().create_task(self._call(envs, futs))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _call(self, envs: list[tx_pb2.Envelope], futs: list[asyncio.Future]) -> None:
        try:
            reply = await self.client.stub.SubmitBatch(client_pb2.EnvelopeBatch(envelopes=envs),
                                                       timeout=DEFAULT_RPC_TIMEOUT_S)
        except grpc.RpcError as err:
            exc = _map_rpc_error(err, "SubmitBatch")
            for f in futs:
                if not f.done():
                    f.set_exception(exc)
            return
        for f, r in zip(futs, reply.results):
            if not f.done():
                f.set_result(r)

    async def close(self) -> None:
        """Flush and wait for every batch in flight."""
        self.flush()
        if self._calls:
            await asyncio.gather(*self._calls, return_exceptions=True)
