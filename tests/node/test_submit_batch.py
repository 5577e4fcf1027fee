"""Batched client submission over a real node's gRPC API (issue 6; client.proto SubmitBatch).

A batch gets one result per envelope, in order, each with the same stable code a unary submit
would give; a batch over the node's count or byte bound is refused whole with a message naming
the limit and admits nothing; the read-ahead SubmitStream answers in order too; garbage never
stops the node from admitting the next good transaction."""
from __future__ import annotations

import hashlib
import time

import grpc
import pytest
from nacl.signing import SigningKey

from executor.tx import sign_payload
from inproc import running_node, signed_orders
from node import api
from node.client import Client
from proto.assetl2.v1 import client_pb2, client_pb2_grpc, tx_pb2

pytestmark = pytest.mark.timeout(60)
CHAIN = "assetl2-batch-test"


def _mixed() -> tuple[list[tx_pb2.Envelope], list[str]]:
    """Good and bad envelopes interleaved, with the error name each must get ('' = accepted)."""
    key = SigningKey.generate()
    good = signed_orders(4, chain=CHAIN, key=key)
    other_chain = signed_orders(1, chain="some-other-chain", key=key, nonce0=50)[0]
    forged = tx_pb2.Envelope(payload=signed_orders(1, chain=CHAIN, key=key, nonce0=60)[0].payload,
                             signer=good[1].signer, signature=bytes(64))
    expired_payload = tx_pb2.Payload(chain_id=CHAIN, valid_until_ms=int(time.time() * 1000) - 60_000, client_nonce=70)
    expired_payload.place_order.SetInParent()
    expired = sign_payload(key, CHAIN, expired_payload)
    garbage = tx_pb2.Envelope(payload=b"\xff\xff\xff not a payload", signer=good[0].signer, signature=bytes(64))
    short_key = tx_pb2.Envelope(payload=good[2].payload, signer=b"short", signature=good[2].signature)
    envs = [good[0], forged, good[1], other_chain, garbage, good[0], expired, short_key, good[2], good[3]]
    names = ["", "BAD_SIGNATURE", "", "WRONG_CHAIN", "TX_MALFORMED", "TX_DUPLICATE", "TX_EXPIRED", "TX_MALFORMED", "", ""]
    return envs, names


async def test_a_mixed_batch_gets_one_result_per_envelope_in_order_with_stable_codes(tmp_path):
    envs, names = _mixed()
    async with running_node(tmp_path, roles=("sequencer",), chain=CHAIN) as node:
        async with grpc.aio.insecure_channel(node.cfg.grpc.listen) as ch:
            reply = await client_pb2_grpc.ClientApiStub(ch).SubmitBatch(client_pb2.EnvelopeBatch(envelopes=envs), timeout=10)
            results = list(reply.results)
            assert [r.seq for r in results] == list(range(len(envs)))
            assert [r.error_name for r in results] == names
            assert [r.accepted for r in results] == [n == "" for n in names]
            unary = await client_pb2_grpc.ClientApiStub(ch).SubmitTransaction(envs[3], timeout=10)
            assert (unary.grpc_status, unary.error_code, unary.error_name) == \
                (results[3].grpc_status, results[3].error_code, results[3].error_name)
            # the node still admits after the garbage
            after = await client_pb2_grpc.ClientApiStub(ch).SubmitBatch(
                client_pb2.EnvelopeBatch(envelopes=signed_orders(3, chain=CHAIN)), timeout=10)
            assert all(r.accepted for r in after.results)


async def test_a_batch_over_the_count_limit_is_refused_whole_with_the_limit_named(tmp_path):
    envs = signed_orders(api.MAX_BATCH_ENVELOPES + 1, chain=CHAIN)
    async with running_node(tmp_path, roles=("sequencer",), chain=CHAIN) as node:
        async with grpc.aio.insecure_channel(node.cfg.grpc.listen) as ch:
            stub = client_pb2_grpc.ClientApiStub(ch)
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.SubmitBatch(client_pb2.EnvelopeBatch(envelopes=envs), timeout=10)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert f"limit of {api.MAX_BATCH_ENVELOPES}" in err.value.details() and "split it" in err.value.details()
            assert len(node.roles["sequencer"].replica.mempool) == 0  # nothing admitted
            ok = await stub.SubmitBatch(client_pb2.EnvelopeBatch(envelopes=envs[:10]), timeout=10)
            assert all(r.accepted for r in ok.results)


async def test_a_batch_over_the_byte_limit_is_refused_whole_with_the_limit_named(tmp_path):
    good = signed_orders(1, chain=CHAIN)[0]
    # 70 x 32 KB > 2 MiB: each envelope is within max_tx_bytes, the batch is not (refused unread)
    big = [tx_pb2.Envelope(payload=bytes([i]) * 32_000, signer=good.signer, signature=good.signature) for i in range(70)]
    async with running_node(tmp_path, roles=("sequencer",), chain=CHAIN) as node:
        async with grpc.aio.insecure_channel(node.cfg.grpc.listen) as ch:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await client_pb2_grpc.ClientApiStub(ch).SubmitBatch(client_pb2.EnvelopeBatch(envelopes=big), timeout=10)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert f"limit of {api.MAX_BATCH_BYTES} bytes" in err.value.details()
            assert len(node.roles["sequencer"].replica.mempool) == 0


async def test_the_read_ahead_stream_answers_every_envelope_in_order(tmp_path):
    envs, names = _mixed()
    many = signed_orders(600, chain=CHAIN)
    async with running_node(tmp_path, roles=("sequencer",), chain=CHAIN) as node:
        async with grpc.aio.insecure_channel(node.cfg.grpc.listen) as ch:
            results = [r async for r in client_pb2_grpc.ClientApiStub(ch).SubmitStream(iter(envs + many), timeout=20)]
    assert [r.seq for r in results] == list(range(len(envs) + len(many)))
    assert [r.error_name for r in results[:len(envs)]] == names
    assert all(r.accepted for r in results[len(envs):])


async def test_the_sdk_splits_a_large_submission_into_batches_and_keeps_the_order(tmp_path):
    envs = signed_orders(2_500, chain=CHAIN)
    async with running_node(tmp_path, roles=("sequencer",), chain=CHAIN) as node:
        async with await Client.connect(node.cfg.grpc.listen, CHAIN) as client:
            results = await client.submit_batch(envs + envs[:1])
    assert [r.seq for r in results] == list(range(len(envs) + 1))
    assert all(r.accepted for r in results[:-1])
    assert results[-1].error_name == "TX_DUPLICATE"
    assert [bytes(r.tx_hash) for r in results[:5]] == [hashlib.sha256(e.payload).digest() for e in envs[:5]]


async def test_the_sdk_batch_sender_groups_sends_and_answers_each_in_order(tmp_path):
    envs = signed_orders(300, chain=CHAIN)
    async with running_node(tmp_path, roles=("sequencer",), chain=CHAIN) as node:
        async with await Client.connect(node.cfg.grpc.listen, CHAIN) as client:
            sender = client.batcher(flush_ms=5, max_envelopes=128)
            futs = [sender.send(e) for e in envs + envs[:1]]
            await sender.close()
            results = [f.result() for f in futs]
    assert all(r.accepted for r in results[:-1]) and results[-1].error_name == "TX_DUPLICATE"
    assert [bytes(r.tx_hash) for r in results[:-1]] == [hashlib.sha256(e.payload).digest() for e in envs]
