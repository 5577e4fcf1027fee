"""Every transaction signature is verified once per node (issue 6).

A client transaction is verified at admission by the sequencer role, which marks it in the
executor's `VerifiedSignatures`; the executor then skips it. A transaction that arrived by
gossip was never verified here, so the executor must verify it. The executor's checks are
counted by wrapping the `verify_all` its block pipeline calls (the real function still runs)."""
from __future__ import annotations

import asyncio
import hashlib

import grpc
import pytest

import executor.block as exblock
from inproc import running_node, signed_orders
from proto.assetl2.v1 import client_pb2_grpc

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def executor_checks(monkeypatch) -> list[bytes]:
    """Payload hashes of every signature the executor verifies, in call order."""
    seen: list[bytes] = []
    real = exblock.verify_all

    def counting(envelopes, chain_id, *args, **kw):
        seen.extend(hashlib.sha256(e.payload).digest() for e in envelopes)
        return real(envelopes, chain_id, *args, **kw)

    monkeypatch.setattr(exblock, "verify_all", counting)
    return seen


async def _executed(node, txs: int, timeout_s: float = 20.0) -> None:
    """Wait until `txs` transactions are decided and every decided block is executed."""
    seq, ex = node.roles["sequencer"], node.roles["executor"]
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        r = seq.replica
        if r.metrics["consensus_decided_txs"] >= txs and ex.executor.height >= r.decided_height:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not executed in {timeout_s}s: decided {seq.replica.metrics['consensus_decided_txs']}")


async def test_a_transaction_verified_at_admission_is_not_verified_again_by_the_executor(tmp_path, executor_checks):
    envs = signed_orders(40)
    async with running_node(tmp_path) as node:
        async with grpc.aio.insecure_channel(node.cfg.grpc.listen) as ch:
            results = [r async for r in client_pb2_grpc.ClientApiStub(ch).SubmitStream(iter(envs))]
        assert all(r.accepted for r in results), results[0]
        await _executed(node, len(envs))
        assert len(node.roles["executor"].verified) == 0  # every mark was taken by the executor
    ids = {hashlib.sha256(e.payload).digest() for e in envs}
    assert not ids & set(executor_checks)


async def test_a_gossiped_transaction_is_verified_by_the_executor(tmp_path, executor_checks):
    client_envs, gossiped = signed_orders(5), signed_orders(3, nonce0=100)
    async with running_node(tmp_path) as node:
        async with grpc.aio.insecure_channel(node.cfg.grpc.listen) as ch:
            results = [r async for r in client_pb2_grpc.ClientApiStub(ch).SubmitStream(iter(client_envs))]
        assert all(r.accepted for r in results)
        node.roles["sequencer"]._on_gossip(1, gossiped)  # what the peer transport calls for a TransactionBatch
        await _executed(node, len(client_envs) + len(gossiped))
    gossip_ids = [hashlib.sha256(e.payload).digest() for e in gossiped]
    assert sorted(executor_checks) == sorted(gossip_ids)  # each gossiped one exactly once, no client one
