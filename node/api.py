"""The client gRPC API (DESIGN §9): a thin edge that maps role answers to gRPC.

Every method is served by a role behind the ``ClientBackend`` interface; the servicer only
translates.  A role that this node does not run (or that is not built yet) raises
``RoleUnavailable``, which becomes ``UNIMPLEMENTED`` with a message naming the role — and,
on the submit stream, one ``SubmitResult`` per envelope with that status, so a client
pipelining thousands of orders gets an answer for each instead of a torn stream.
"""
from __future__ import annotations

import logging
from typing import AsyncIterator, Protocol

import grpc

from executor.tx import tx_hash
from proto.assetl2.v1 import client_pb2, client_pb2_grpc, state_pb2, tx_pb2

log = logging.getLogger(__name__)


class RoleUnavailable(Exception):
    """The role that serves this request is not running on this node."""

    def __init__(self, role: str, detail: str):
        super().__init__(f"{role} role unavailable: {detail}")
        self.role = role
        self.detail = detail


class ClientBackend(Protocol):
    """What the roles provide to the client API; each method may raise RoleUnavailable."""

    async def submit(self, envelope: tx_pb2.Envelope) -> client_pb2.SubmitResult: ...
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

    def __init__(self, backend: ClientBackend):
        self._backend = backend

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

    async def SubmitTransaction(self, request, context):
        try:
            return await self._backend.submit(request)
        except RoleUnavailable as err:
            return unavailable_result(request, 0, err)

    async def SubmitStream(self, request_iterator, context):
        seq = 0
        async for envelope in request_iterator:
            try:
                result = await self._backend.submit(envelope)
                result.seq = seq
            except RoleUnavailable as err:
                result = unavailable_result(envelope, seq, err)
            yield result
            seq += 1

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
