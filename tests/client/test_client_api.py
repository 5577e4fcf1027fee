"""The async client against an in-process fake node (loopback gRPC): chain-id refusal,
admission and execution rejections as typed errors, the submit stream, and event-stream
reconnection that resumes after the last delivered block without duplicates or gaps."""
from __future__ import annotations

import asyncio

import grpc
import pytest

from executor.errors import ErrorCode
from node.client import ChainMismatch, Client, NotFound, TxRejected, Wallet, txs
from proto.assetl2.v1 import client_pb2, client_pb2_grpc, state_pb2

CHAIN = "assetl2-devnet-1"


def block_event(h: int, receipts=()) -> state_pb2.Event:
    info = state_pb2.BlockInfo(header=state_pb2.BlockHeader(height=h), state_root=bytes([h]) * 32,
                               receipts=list(receipts), tx_hashes=[r.tx_hash for r in receipts])
    return state_pb2.Event(height=h, block=info)


class FakeNode(client_pb2_grpc.ClientApiServicer):
    """Answers like a node: admission verdicts, receipts in later blocks, a flaky event stream."""

    def __init__(self, chain=CHAIN):
        self.chain = chain
        self.requests: list[int] = []
        self.receipts: asyncio.Queue = asyncio.Queue()
        self.height = 0
        self.drop_after = 3

    async def GetStatus(self, request, context):
        return client_pb2.NodeStatus(chain_id=self.chain, node_id="fake", height=self.height, ready=True)

    def _verdict(self, env, seq=0):
        name, body = txs.body_of(env)
        h = txs.envelope_hash(env)
        if name == "cancel_hold" and body.route_id == 666:
            return client_pb2.SubmitResult(seq=seq, tx_hash=h, accepted=False, grpc_status=8,
                                           error_name="RATE_LIMITED", message="slow down")
        code = ErrorCode.UNKNOWN_HOLD if (name == "cancel_hold" and body.route_id == 404) else ErrorCode.OK
        self.receipts.put_nowait(state_pb2.Receipt(tx_hash=h, ok=code == 0, error_code=int(code),
                                                   error_name=code.name if code else "", message="no such hold"))
        return client_pb2.SubmitResult(seq=seq, tx_hash=h, accepted=True)

    async def SubmitTransaction(self, request, context):
        return self._verdict(request)

    async def SubmitStream(self, request_iterator, context):
        seq = 0
        async for env in request_iterator:
            yield self._verdict(env, seq)
            seq += 1

    async def GetBlock(self, request, context):
        if request.height > self.height:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"block {request.height} is not executed")
        return block_event(request.height).block

    async def StreamEvents(self, request, context):
        self.requests.append(request.from_height)
        if request.from_height:
            for h in range(request.from_height, self.height + 1):
                yield block_event(h)
        sent = 0
        while True:
            try:
                r = await asyncio.wait_for(self.receipts.get(), 0.05)
                rs = [r]
            except asyncio.TimeoutError:
                rs = []
            self.height += 1
            yield block_event(self.height, rs)
            sent += 1
            if self.drop_after and sent >= self.drop_after:
                self.drop_after = 0
                self.height += 2  # two blocks happen while the client is away
                await context.abort(grpc.StatusCode.UNAVAILABLE, "node restarting")


@pytest.fixture
async def node():
    server = grpc.aio.server()
    fake = FakeNode()
    client_pb2_grpc.add_ClientApiServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield fake, f"127.0.0.1:{port}"
    await server.stop(0)


async def test_a_node_of_another_chain_is_refused_at_connect(node):
    _, addr = node
    with pytest.raises(ChainMismatch, match="serves chain 'assetl2-devnet-1', not 'other-chain'"):
        await Client.connect(addr, "other-chain")
    c = await Client.connect(addr, CHAIN)
    assert c.chain_id == CHAIN
    await c.close()


async def test_admission_refusal_is_a_typed_error(node):
    _, addr = node
    async with await Client.connect(addr, CHAIN) as c:
        with pytest.raises(TxRejected) as exc:
            await c.submit(Wallet.dev("account-0").sign(txs.cancel_hold(666)))
    assert exc.value.stage == "admission" and exc.value.name == "RATE_LIMITED"


async def test_execute_returns_the_receipt_or_raises_with_the_executor_code(node):
    _, addr = node
    w = Wallet.dev("account-0")
    async with await Client.connect(addr, CHAIN) as c:
        block, receipt = await c.execute(w.sign(txs.cancel_hold(1)), timeout_s=10)
        assert receipt.ok and block.header.height >= 1
        with pytest.raises(TxRejected) as exc:
            await c.execute(w.sign(txs.cancel_hold(404)), timeout_s=10)
    assert exc.value.stage == "execution" and exc.value.code is ErrorCode.UNKNOWN_HOLD


async def test_submit_stream_answers_every_envelope_in_order(node):
    _, addr = node
    w = Wallet.dev("account-1")
    envs = [w.sign(txs.cancel_hold(666 if i == 2 else i + 1)) for i in range(5)]
    async with await Client.connect(addr, CHAIN) as c:
        results = await c.submit_many(envs)
        assert [r.seq for r in results] == list(range(5))
        assert [r.tx_hash for r in results] == [txs.envelope_hash(e) for e in envs]
        assert [r.accepted for r in results] == [True, True, False, True, True]
        stream = await c.stream()
        futs = [stream.send(e) for e in envs[:3]]
        got = await asyncio.gather(*futs)
        await stream.close()
    assert [r.tx_hash for r in got] == [txs.envelope_hash(e) for e in envs[:3]]


async def test_event_stream_reconnects_and_resumes_after_the_last_block(node):
    fake, addr = node
    async with await Client.connect(addr, CHAIN) as c:
        heights = []
        async for ev in c.events(kinds=[client_pb2.EVENT_KIND_BLOCK]):
            heights.append(ev.height)
            if len(heights) == 8:
                break
    assert heights == list(range(1, 9)), "every block once, in order, across the reconnection"
    assert fake.requests[0] == 0 and fake.requests[1] == 4, "resumed from the block after the last one seen"


async def test_missing_block_is_not_found(node):
    _, addr = node
    async with await Client.connect(addr, CHAIN) as c:
        with pytest.raises(NotFound):
            await c.block(10_000)
