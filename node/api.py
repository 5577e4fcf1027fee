"""The client gRPC API (DESIGN §9): a thin edge that maps role answers to gRPC.

Every method is served by a role behind the ``ClientBackend`` interface; the servicer only
translates.  A role that this node does not run (or that is not built yet) raises
``RoleUnavailable``, which becomes ``UNIMPLEMENTED`` with a message naming the role — and,
on the submit stream, one ``SubmitResult`` per envelope with that status, so a client
pipelining thousands of orders gets an answer for each instead of a torn stream.

Submission is batched at this edge (issue 6: gRPC's per-message cost dominated the node):
``SubmitStream`` reads ahead and hands the backend everything the client has sent since the
last admission round as one batch, answering in order; ``SubmitBatch`` carries many envelopes
in one message, bounded in count and bytes, and a batch over a bound is refused whole with
INVALID_ARGUMENT naming the limit.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator, Protocol, Sequence

import grpc

from executor.tx import tx_hash
from proto.assetl2.v1 import client_pb2, client_pb2_grpc, state_pb2, tx_pb2

log = logging.getLogger(__name__)

MAX_BATCH_ENVELOPES = 4096            # per SubmitBatch message
MAX_BATCH_BYTES = 2 * 1024 * 1024     # serialized EnvelopeBatch, below the default 4 MiB gRPC cap
STREAM_READ_AHEAD = 1024              # envelopes a SubmitStream buffers before it stops reading


class RoleUnavailable(Exception):
    """The role that serves this request is not running on this node."""

    def __init__(self, role: str, detail: str):
        super().__init__(f"{role} role unavailable: {detail}")
        self.role = role
        self.detail = detail


class ClientBackend(Protocol):
    """What the roles provide to the client API; each method may raise RoleUnavailable."""

    async def submit(self, envelope: tx_pb2.Envelope) -> client_pb2.SubmitResult: ...
    async def submit_batch(self, envelopes: Sequence[tx_pb2.Envelope]) -> list[client_pb2.SubmitResult]: ...
    async def get_account(self, req: client_pb2.GetAccountRequest) -> state_pb2.AccountState: ...
    async def get_order_book(self, req: client_pb2.GetOrderBookRequest) -> state_pb2.OrderBook: ...
    async def get_hold(self, req: client_pb2.GetHoldRequest) -> state_pb2.Hold: ...
    async def get_state_value(self, req: client_pb2.GetStateValueRequest) -> client_pb2.StateValue: ...
    async def get_block(self, req: client_pb2.GetBlockRequest) -> state_pb2.BlockInfo: ...
    async def get_batch(self, req: client_pb2.GetBatchRequest) -> state_pb2.BatchInfo: ...
    def stream_events(self, req: client_pb2.StreamEventsRequest) -> AsyncIterator[state_pb2.Event]: ...
    def status(self) -> client_pb2.NodeStatus: ...


def unavailable_result(envelope: tx_pb2.Envelope, seq: int, err: RoleUnavailable) -> client_pb2.SubmitResult:
    return client_pb2.SubmitResult(
        seq=seq,
        tx_hash=tx_hash(envelope.payload),
        accepted=False,
        grpc_status=grpc.StatusCode.UNIMPLEMENTED.value[0],
        error_name="ROLE_UNAVAILABLE",
        message=str(err),
    )


class ClientApiServicer(client_pb2_grpc.ClientApiServicer):
    """Adapts ClientBackend to grpc.aio; never lets a backend exception reach the client raw."""

    def __init__(self, backend: ClientBackend, *, max_batch_envelopes: int = MAX_BATCH_ENVELOPES,
                 max_batch_bytes: int = MAX_BATCH_BYTES, read_ahead: int = STREAM_READ_AHEAD):
        self._backend = backend
        self.max_batch_envelopes = max_batch_envelopes
        self.max_batch_bytes = max_batch_bytes
        self.read_ahead = read_ahead

    async def _call(self, context: grpc.aio.ServicerContext, coro):
        """Await a backend read; map its failures to gRPC statuses with the cause as details."""
        try:
            return await coro
        except RoleUnavailable as err:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, str(err))
        except LookupError as err:
            await context.abort(grpc.StatusCode.NOT_FOUND, str(err).strip("'\""))
        except ValueError as err:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))

    async def _admit(self, envelopes: Sequence[tx_pb2.Envelope], seq0: int) -> list[client_pb2.SubmitResult]:
        """One backend batch; results tagged with their position (``seq0`` + index)."""
        try:
            results = await self._backend.submit_batch(envelopes)
        except RoleUnavailable as err:
            return [unavailable_result(e, seq0 + i, err) for i, e in enumerate(envelopes)]
        for i, r in enumerate(results):
            r.seq = seq0 + i
        return results

    async def SubmitTransaction(self, request, context):
        try:
            return await self._backend.submit(request)
        except RoleUnavailable as err:
            return unavailable_result(request, 0, err)

    async def SubmitBatch(self, request, context):
        """Admit a bounded batch in one admission round (client.proto); over a bound: refused whole."""
        n = len(request.envelopes)
        if n > self.max_batch_envelopes:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"batch of {n} envelopes is over the limit of {self.max_batch_envelopes} per SubmitBatch; "
                                "split it (nothing in it was admitted)")
        size = request.ByteSize()
        if size > self.max_batch_bytes:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"batch of {size} bytes is over the limit of {self.max_batch_bytes} bytes per SubmitBatch; "
                                "split it (nothing in it was admitted)")
        return client_pb2.SubmitResults(results=await self._admit(request.envelopes, 0) if n else ())

    async def SubmitStream(self, request_iterator, context):
        """Read ahead: a reader task buffers envelopes (at most ``read_ahead``) while the previous
        chunk is being admitted, so each admission round takes everything the client has sent
        meanwhile instead of one envelope (issue 6). Results go out in envelope order."""
        buf: list[tx_pb2.Envelope] = []
        arrived = asyncio.Event()
        room = asyncio.Event()
        room.set()
        ended = False

        async def read() -> None:
            nonlocal ended
            try:
                async for envelope in request_iterator:
                    buf.append(envelope)
                    arrived.set()
                    if len(buf) >= self.read_ahead:
                        room.clear()
                        await room.wait()
            finally:
                ended = True
                arrived.set()

        reader = asyncio.get_running_loop().create_task(read(), name="submit-stream-read")
        seq = 0
        try:
            while True:
                if not buf:
                    if ended:
                        break
                    arrived.clear()
                    await arrived.wait()
                    continue
                chunk = buf[:self.read_ahead]
                del buf[:len(chunk)]
                room.set()
                for result in await self._admit(chunk, seq):
                    yield result
                seq += len(chunk)
            if reader.done() and not reader.cancelled() and reader.exception() is not None:
                log.debug("submit stream ended: %s", reader.exception())
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    async def GetAccount(self, request, context):
        return await self._call(context, self._backend.get_account(request))

    async def GetOrderBook(self, request, context):
        return await self._call(context, self._backend.get_order_book(request))

    async def GetHold(self, request, context):
        return await self._call(context, self._backend.get_hold(request))

    async def GetStateValue(self, request, context):
        return await self._call(context, self._backend.get_state_value(request))

    async def GetBlock(self, request, context):
        return await self._call(context, self._backend.get_block(request))

    async def GetBatch(self, request, context):
        return await self._call(context, self._backend.get_batch(request))

    async def StreamEvents(self, request, context):
        try:
            async for event in self._backend.stream_events(request):
                yield event
        except RoleUnavailable as err:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, str(err))

    async def GetStatus(self, request, context):
        return self._backend.status()
