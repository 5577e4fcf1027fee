"""``assetl2 run`` as a real process: health, reflection, metrics, submit stream, SIGTERM (issue 2)."""
from __future__ import annotations

import hashlib
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from statetree import verify
from proto.assetl2.v1 import client_pb2, client_pb2_grpc, tx_pb2

import nodeproc


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    proc = nodeproc.start(tmp_path_factory.mktemp("node"))
    yield proc
    proc.kill()


def test_grpc_health_is_serving(node):
    with grpc.insecure_channel(node.grpc) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        assert stub.Check(health_pb2.HealthCheckRequest(), timeout=5).status == health_pb2.HealthCheckResponse.SERVING
        resp = stub.Check(health_pb2.HealthCheckRequest(service="assetl2.v1.ClientApi"), timeout=5)
        assert resp.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_client_api(node):
    with grpc.insecure_channel(node.grpc) as ch:
        stub = reflection_pb2_grpc.ServerReflectionStub(ch)
        responses = list(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                                  timeout=5))
        names = {s.name for s in responses[0].list_services_response.service}
        assert "assetl2.v1.ClientApi" in names
        assert "grpc.health.v1.Health" in names


def test_http_endpoints(node):
    assert node.http("/healthz")[0] == 200
    code, _ = node.http("/readyz")
    assert code == 200
    status = node.status()
    assert status["chain_id"] == "assetl2-devnet-1"
    assert {r["role"] for r in status["roles"]} == {"sequencer", "executor", "batchposter"}
    sequencer = next(r for r in status["roles"] if r["role"] == "sequencer")
    assert sequencer["implemented"] and sequencer["ready"]
    code, body = node.http("/metrics")
    text = body.decode()
    assert code == 200
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "event_loop_lag_seconds ",
                 "assetl2_build_info{", "assetl2_node_ready 1.0"):
        assert name in text, name


def test_submit_stream_answers_each_message_with_its_own_rejection(node):
    payloads = [tx_pb2.Payload(chain_id="assetl2-devnet-1", client_nonce=i,
                               cancel_hold=tx_pb2.CancelHold(route_id=i)).SerializeToString() for i in range(5)]
    envelopes = [tx_pb2.Envelope(payload=p, signer=b"\x01" * 32, signature=b"\x02" * 64) for p in payloads]
    with grpc.insecure_channel(node.grpc) as ch:
        stub = client_pb2_grpc.ClientApiStub(ch)
        results = list(stub.SubmitStream(iter(envelopes), timeout=10))
    assert [r.seq for r in results] == [0, 1, 2, 3, 4]
    assert [r.tx_hash for r in results] == [hashlib.sha256(p).digest() for p in payloads]
    for r in results:  # the sequencer role answers: forged signatures are refused one by one
        assert not r.accepted
        assert r.grpc_status == grpc.StatusCode.INVALID_ARGUMENT.value[0]
        assert r.error_name == "BAD_SIGNATURE" and r.error_code == 12


def test_state_reads_carry_proofs_that_verify_against_the_returned_root(node):
    with grpc.insecure_channel(node.grpc) as ch:
        stub = client_pb2_grpc.ClientApiStub(ch)
        account = stub.GetAccount(client_pb2.GetAccountRequest(user=b"\x00" * 32), timeout=5)
        assert account.proofs, "an account read carries the proofs of its records"
        for p in account.proofs:
            value = p.value if p.present else None
            assert verify(account.anchor.state_root, p.key, value, p.proof), p.kind
        assert not any(p.present for p in account.proofs), "an unknown user has no records"
        raw = stub.GetStateValue(client_pb2.GetStateValueRequest(key=account.proofs[0].key), timeout=5)
        assert raw.anchor.height >= account.anchor.height
        with pytest.raises(grpc.RpcError) as info:
            stub.GetStateValue(client_pb2.GetStateValueRequest(key=b"short"), timeout=5)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as info:
            stub.GetBlock(client_pb2.GetBlockRequest(height=10**12), timeout=5)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError) as info:  # no Solana RPC in this test: nothing batched yet
            stub.GetBatch(client_pb2.GetBatchRequest(latest=True), timeout=5)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        assert stub.GetStatus(client_pb2.GetStatusRequest(), timeout=5).chain_id == "assetl2-devnet-1"


def test_sigterm_exits_zero_quickly_and_closes_stores(tmp_path):
    proc = nodeproc.start(tmp_path)
    assert (tmp_path / "data" / "node.db").is_dir()
    t0 = time.monotonic()
    assert proc.stop(timeout=10) == 0
    assert time.monotonic() - t0 < 5
    logs = proc.logs()
    assert '"msg":"node stopped"' in logs
    # The LevelDB lock was released: a second start on the same data dir works.
    again = nodeproc.start(tmp_path, init=False)
    assert again.stop(timeout=10) == 0
