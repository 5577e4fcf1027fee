"""Execution attestations and state certificates (issue 6 §6; DESIGN §3 "a mismatch is a
fatal, loudly reported fault")."""
from __future__ import annotations

from prometheus_client import CollectorRegistry

from proto.assetl2.v1 import peer_pb2
from sequencer.attest import Attestor, verify_state_certificate
from sequencer.crypto import Verifier
from sequencer.sim import make_signers
from sequencer.types import Committee

CHAIN = b"assetl2-test"
ROOT, LOG_ROOT = b"\x0a" * 32, b"\x0b" * 32


def make(tmp_path, n=4):
    signers = make_signers(n, salt=3)
    committee = Committee(tuple(s.public_key for s in signers))
    nodes: list[Attestor] = []
    registries = []

    def broadcaster(i):
        def send(att):
            for j, other in enumerate(nodes):
                if j != i:
                    other.on_attestation(i, att)
        return send

    for i, s in enumerate(signers):
        reg = CollectorRegistry()
        registries.append(reg)
        nodes.append(Attestor(chain_id=CHAIN, committee=committee, signer=s, verifier=Verifier(),
                              path=tmp_path / f"a{i}", broadcast=broadcaster(i), registry=reg))
    return committee, nodes, registries


def test_quorum_of_matching_attestations_forms_a_verifiable_persisted_certificate(tmp_path):
    committee, nodes, _ = make(tmp_path)
    for a in nodes[:3]:
        a.on_executed(7, ROOT, 100, LOG_ROOT)
    for a in nodes:
        cert = a.get_state_certificate(7)
        assert cert is not None and cert.state_root == ROOT and cert.tx_log_size == 100
        assert verify_state_certificate(cert, committee, CHAIN, Verifier())
    assert nodes[0].get_state_certificate(8) is None
    for a in nodes:
        a.close()
    reopened = Attestor(chain_id=CHAIN, committee=committee, signer=make_signers(4, salt=3)[0], verifier=Verifier(),
                        path=tmp_path / "a0", broadcast=lambda att: None)
    assert reopened.get_state_certificate(7).signatures == cert.signatures
    assert reopened.last_certified == 7
    reopened.close()


def test_a_certificate_with_a_changed_root_does_not_verify(tmp_path):
    committee, nodes, _ = make(tmp_path)
    for a in nodes:
        a.on_executed(1, ROOT, 1, LOG_ROOT)
    cert = peer_pb2.StateCertificate()
    cert.CopyFrom(nodes[0].get_state_certificate(1))
    cert.state_root = b"\x0c" * 32
    assert not verify_state_certificate(cert, committee, CHAIN, Verifier())
    for a in nodes:
        a.close()


def test_a_diverging_node_raises_the_alarm_and_stops_attesting(tmp_path):
    _, nodes, regs = make(tmp_path)
    nodes[3].on_executed(5, b"\xee" * 32, 10, LOG_ROOT)  # our executor disagrees
    for a in nodes[:3]:
        a.on_executed(5, ROOT, 10, LOG_ROOT)
    assert nodes[3].diverged and nodes[3].diverged_at == 5
    assert regs[3].get_sample_value("executor_state_divergence") == 1
    assert regs[0].get_sample_value("executor_state_divergence") == 0
    assert nodes[3].get_state_certificate(5).state_root == ROOT
    signed = regs[3].get_sample_value("sequencer_attestations_signed_total")
    nodes[3].on_executed(6, ROOT, 11, LOG_ROOT)
    assert regs[3].get_sample_value("sequencer_attestations_signed_total") == signed
    for a in nodes:
        a.close()


def test_forged_and_mismatched_attestations_are_counted_not_used(tmp_path):
    _, nodes, regs = make(tmp_path)
    good = peer_pb2.StateAttestation(height=3, state_root=ROOT, tx_log_root=LOG_ROOT, tx_log_size=1, signer=1,
                                     signature=b"\x00" * 64)
    nodes[0].on_attestation(1, good)
    nodes[0].on_attestation(2, good)  # claims signer 1, delivered by 2
    assert regs[0].get_sample_value("sequencer_attestations_received_total", {"outcome": "invalid_signature"}) == 1
    assert regs[0].get_sample_value("sequencer_attestations_received_total", {"outcome": "sender_mismatch"}) == 1
    assert nodes[0].get_state_certificate(3) is None
    for a in nodes:
        a.close()
