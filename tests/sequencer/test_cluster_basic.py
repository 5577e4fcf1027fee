"""A real 4-node sequencer cluster and the one-node default, as processes on loopback (issue 6).

Pins: transactions submitted to any member are decided, and every member decides the same
block at every height (DESIGN §7 safety); n = 1 runs the same role code (DESIGN §7 last line).
"""
from __future__ import annotations

import time

from executor.tx import tx_hash

from test_cluster_kit import Cluster, assert_one_chain, signed_orders, submit


def test_transactions_submitted_to_any_member_are_decided_identically_everywhere(tmp_path):
    c = Cluster.create(tmp_path, 4)
    try:
        c.start()
        sent = []
        for m in c.members:
            envs = signed_orders(50, nonce0=1000 * m.index)
            results = submit(m, envs)
            assert all(r.accepted for r in results), [r.message for r in results if not r.accepted][:3]
            sent += [tx_hash(e.payload) for e in envs]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all(m.metric("consensus_decided_txs") >= len(sent) for m in c.members):
                break
            time.sleep(0.2)
        decided = {m.index: m.metric("consensus_decided_txs") for m in c.members}
        assert all(v >= len(sent) for v in decided.values()), decided
        top = max(c.heights().values())
        c.wait_heights(top, 15)
    finally:
        c.stop()
    chains = c.decided_chains()
    assert assert_one_chain(chains) >= top
    for i in range(4):
        assert set(sent) <= c.decided_tx_hashes(i)


def test_one_node_mode_runs_the_same_role_and_decides(tmp_path):
    c = Cluster.create(tmp_path, 1)
    try:
        c.start()
        envs = signed_orders(200)
        results = submit(c.members[0], envs)
        assert sum(r.accepted for r in results) == 200
        dup = submit(c.members[0], envs[:1])[0]
        assert not dup.accepted and dup.error_name == "TX_DUPLICATE"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and c.members[0].metric("consensus_decided_txs") < 200:
            time.sleep(0.1)
        assert c.members[0].metric("consensus_decided_txs") == 200
        st = c.members[0].status()
        assert int(st["height"]) >= 1 and st["decided_block_hash"]
        assert "no executor role" in st["sequencer_detail"]
    finally:
        c.stop()
    assert {tx_hash(e.payload) for e in envs} <= c.decided_tx_hashes(0)


def test_admission_refuses_with_stable_codes_wrong_chain_expired_forged_and_over_rate(tmp_path):
    """Issue 6 §3 admission, answered per envelope: chain id, expiry, signature, per-signer rate."""
    from nacl.signing import SigningKey

    from executor.tx import sign_payload
    from proto.assetl2.v1 import tx_pb2

    c = Cluster.create(tmp_path, 1, sequencer={"rate_per_s": 1, "rate_burst": 5})
    try:
        c.start()
        key = SigningKey.generate()
        burst = signed_orders(8, key=key)
        codes = [r.error_name or "OK" for r in submit(c.members[0], burst)]
        assert codes == ["OK"] * 5 + ["RATE_LIMITED"] * 3
        other = signed_orders(1)[0]  # another signer has its own bucket
        wrong_chain = sign_payload(key, "other-chain", tx_pb2.Payload(chain_id="other-chain", client_nonce=1))
        expired = sign_payload(SigningKey.generate(), "assetl2-cluster",
                               tx_pb2.Payload(chain_id="assetl2-cluster", valid_until_ms=1, client_nonce=2))
        forged = tx_pb2.Envelope(payload=other.payload, signer=bytes(SigningKey.generate().verify_key),
                                 signature=other.signature)
        results = submit(c.members[0], [other, wrong_chain, expired, forged])
        assert [(r.accepted, r.error_name, r.error_code) for r in results] == [
            (True, "", 0), (False, "WRONG_CHAIN", 13), (False, "TX_EXPIRED", 14), (False, "BAD_SIGNATURE", 12)]
        assert c.members[0].metric("sequencer_admission_rejected_total") == 6
    finally:
        c.stop()


def test_members_that_only_share_a_directory_form_one_committee(tmp_path):
    """Keys made at first start, no committee in any config: the members publish themselves in
    a shared directory (node/committee.py), derive the same committee and decide one chain."""
    shared = tmp_path / "committee"
    c = Cluster.create(tmp_path, 4, committee_dir=shared)
    try:
        c.start()
        details = [m.status().get("sequencer_detail", "") for m in c.members]
        assert sorted(d.split("; ")[1] for d in details) == [f"member {i} of a committee of 4" for i in range(4)], details
        assert len(list(shared.glob("*.member"))) == 4
        results = submit(c.members[2], signed_orders(40))
        assert all(r.accepted for r in results)
        c.wait_heights(3, 30)
        top = max(c.heights().values())
        c.wait_heights(top, 15)
    finally:
        c.stop()
    assert assert_one_chain(c.decided_chains()) >= top
