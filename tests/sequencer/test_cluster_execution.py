"""A 4-node cluster with the executor role (issue 6: "decided and executed with identical state
roots everywhere"; DESIGN §3 attestations → state certificates for the batch poster).

The sequencer hands every decided block to the executor (`enqueue_decided`), the executor
reports each root (`on_executed`), every node signs it, and 2f+1 matching attestations form
the height's state certificate on every node; no node reports a divergence.
"""
from __future__ import annotations

import time

import grpc

from proto.assetl2.v1 import client_pb2, client_pb2_grpc, peer_pb2

from test_cluster_kit import Cluster, assert_one_chain, signed_orders, submit

CHAIN = "assetl2-devnet-1"  # the packaged devnet genesis the executor loads by default


def _block(member, height: int):
    with grpc.insecure_channel(member.grpc) as ch:
        return client_pb2_grpc.ClientApiStub(ch).GetBlock(client_pb2.GetBlockRequest(height=height), timeout=5)


def test_every_member_executes_to_the_same_roots_and_certifies_them(tmp_path):
    c = Cluster.create(tmp_path, 4, roles=("executor", "sequencer"), chain=CHAIN)
    try:
        c.start()
        results = submit(c.members[2], signed_orders(40, chain=CHAIN))
        assert all(r.accepted for r in results), results[0]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and min(m.metric("consensus_decided_txs") for m in c.members) < 40:
            time.sleep(0.2)
        target = max(c.heights().values()) + 2
        c.wait_heights(target, 30)
        roots = {m.index: [_block(m, h).state_root for h in range(1, target + 1)] for m in c.members}
        assert all(r == roots[0] for r in roots.values()), "state roots differ between members"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and min(m.metric("sequencer_state_certificate_height") for m in c.members) < target:
            time.sleep(0.2)
        for m in c.members:
            assert m.metric("sequencer_state_certificate_height") >= target
            assert m.metric("executor_state_divergence") == 0
            st = m.status()
            assert not st.get("state_divergence") and "attesting" in st["sequencer_detail"]
        with grpc.insecure_channel(c.members[1].peer) as ch:
            from proto.assetl2.v1 import peer_pb2_grpc
            cert = peer_pb2_grpc.PeerApiStub(ch).GetStateCertificate(peer_pb2.GetStateCertificateRequest(height=target), timeout=5)
        assert cert.state_root == roots[0][target - 1] and len(cert.signatures) >= 3
    finally:
        c.stop()
    assert assert_one_chain(c.decided_chains()) >= target
