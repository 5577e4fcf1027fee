"""The gRPC peer transport (issue 6 §7): authenticated senders, bounded queues, reconnects.

Real `PeerTransport` servers on 127.0.0.1; the tests play committee members (and impostors)
by signing envelopes with the simulator's deterministic keys.
"""
from __future__ import annotations

import asyncio

import grpc
import pytest
from prometheus_client import CollectorRegistry

from proto.assetl2.v1 import peer_pb2, peer_pb2_grpc, tx_pb2
from sequencer.codec import decode_message, encode_message
from sequencer.crypto import Signer
from sequencer.sim import make_signers
from sequencer.transport import PeerTransport, TransportConfig, envelope_signing_bytes
from sequencer.types import BlockRequest, Committee
from support import free_port

CHAIN = b"assetl2-test"
WAIT_S = 10.0


class Node:
    def __init__(self, index: int, signers: list[Signer], addrs: list[str], **kw):
        self.got: list[tuple[int, bytes]] = []
        self.txs: list[tuple[int, list]] = []
        self.registry = CollectorRegistry()
        committee = Committee(tuple(s.public_key for s in signers))
        self.t = PeerTransport(
            TransportConfig(listen=addrs[index], peers=tuple(addrs), reconnect_min_ms=50, reconnect_max_ms=200,
                            connect_timeout_ms=300, **kw),
            CHAIN, committee, signers[index],
            on_consensus=lambda s, f: self.got.append((s, f)),
            on_transactions=lambda s, envs: self.txs.append((s, list(envs))),
            registry=self.registry,
        )

    def dropped(self, reason: str) -> float:
        return self.registry.get_sample_value("sequencer_peer_dropped_total", {"reason": reason}) or 0.0


async def _until(cond, timeout_s: float = WAIT_S) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while not cond():
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.02)


@pytest.fixture
def committee4():
    signers = make_signers(4, salt=7)
    addrs = [f"127.0.0.1:{free_port()}" for _ in range(4)]
    return signers, addrs


async def test_a_consensus_frame_arrives_with_the_authenticated_sender_index(committee4):
    signers, addrs = committee4
    a, b = Node(0, signers, addrs), Node(1, signers, addrs)
    await a.t.start()
    await b.t.start()
    try:
        msg = BlockRequest(sender=0, block_hash=b"\x11" * 32, max_blocks=3)
        a.t.send(1, msg)
        a.t.broadcast_transactions([tx_pb2.Envelope(payload=b"p", signer=b"\x01" * 32, signature=b"\x02" * 64)])
        await _until(lambda: b.got and b.txs)
        sender, frame = b.got[0]
        assert sender == 0 and decode_message(frame) == msg
        assert b.txs[0][0] == 0 and b.txs[0][1][0].payload == b"p"
        await _until(lambda: a.t.peers_connected >= 1)
    finally:
        await a.t.stop()
        await b.t.stop()


async def _deliver_raw(addr: str, envelopes: list[peer_pb2.PeerEnvelope]) -> peer_pb2.PeerAck:
    async with grpc.aio.insecure_channel(addr) as ch:
        stub = peer_pb2_grpc.PeerApiStub(ch)

        async def gen():
            for e in envelopes:
                yield e
        return await stub.Deliver(gen(), timeout=WAIT_S)


def _env(signer: Signer, claimed: int, inner_sender: int, seq: int, frame: bytes = b"x", session: int = 9) -> peer_pb2.PeerEnvelope:
    raw = peer_pb2.PeerMessage(sender=inner_sender, session=session, sequence=seq, consensus=frame).SerializeToString()
    return peer_pb2.PeerEnvelope(sender=claimed, message=raw, signature=signer.sign(envelope_signing_bytes(CHAIN, raw)))


async def test_unknown_impostor_mismatching_and_replayed_envelopes_are_dropped_and_counted(committee4):
    signers, addrs = committee4
    b = Node(1, signers, addrs)
    await b.t.start()
    outsider = Signer.from_seed(b"\x42" * 32)
    try:
        ack = await _deliver_raw(addrs[1], [
            _env(signers[2], 9, 9, 1),          # not a committee index
            _env(outsider, 2, 2, 1),            # claims member 2, signed by someone else
            _env(signers[2], 2, 3, 1),          # signed by 2, inner message says 3
            _env(signers[1], 1, 1, 1),          # claims to be the receiver itself
            _env(signers[2], 2, 2, 5),          # genuine
            _env(signers[2], 2, 2, 5),          # replayed sequence
            _env(signers[2], 2, 2, 4),          # older sequence
        ])
        assert ack.accepted == 1 and ack.rejected == 6
        assert b.got == [(2, b"x")]
        assert b.dropped("unknown_sender") == 2
        assert b.dropped("invalid_signature") == 1
        assert b.dropped("sender_mismatch") == 1
        assert b.dropped("replay") == 2
    finally:
        await b.t.stop()


async def test_queue_to_an_unreachable_peer_is_bounded_and_drops_the_oldest(committee4):
    signers, addrs = committee4
    a = Node(0, signers, addrs, queue_limit=8)
    await a.t.start()
    try:
        for i in range(20):
            a.t.send(3, BlockRequest(sender=0, block_hash=bytes([i]) * 32, max_blocks=1))
        assert a.t.queue_depth(3) == 8
        assert a.registry.get_sample_value("sequencer_peer_send_dropped_total", {"peer": "3"}) == 12
    finally:
        await a.t.stop()


async def test_sender_reconnects_when_the_peer_comes_up_later_and_delivers_the_newest(committee4):
    signers, addrs = committee4
    a, b = Node(0, signers, addrs, queue_limit=4), Node(1, signers, addrs)
    await a.t.start()
    try:
        for i in range(6):
            a.t.send(1, BlockRequest(sender=0, block_hash=bytes([i]) * 32, max_blocks=1))
        await asyncio.sleep(0.5)  # a few failed connection attempts with backoff
        await b.t.start()
        await _until(lambda: len(b.got) >= 4)
        hashes = [decode_message(f).block_hash[0] for _, f in b.got]
        assert hashes == [2, 3, 4, 5]  # the two oldest were dropped, the rest arrive in order
        assert a.registry.get_sample_value("sequencer_peer_reconnects_total", {"peer": "1"}) >= 2
    finally:
        await a.t.stop()
        await b.t.stop()


async def test_oversized_peer_messages_are_refused_by_the_size_limit(committee4):
    signers, addrs = committee4
    b = Node(1, signers, addrs, max_message_bytes=64 * 1024)
    await b.t.start()
    try:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await _deliver_raw(addrs[1], [_env(signers[2], 2, 2, 1, frame=b"\x00" * (128 * 1024))])
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert b.got == []
    finally:
        await b.t.stop()


def _self_signed(tmp_path):
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not available")
    key, cert = tmp_path / "peer.key", tmp_path / "peer.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=assetl2-peer",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=30)
    return cert.read_bytes(), key.read_bytes()


async def test_peers_talk_over_tls_when_configured_and_plaintext_clients_are_refused(committee4, tmp_path):
    signers, addrs = committee4
    cert, key = _self_signed(tmp_path)
    a = Node(0, signers, addrs, tls_cert=cert, tls_key=key)
    b = Node(1, signers, addrs, tls_cert=cert, tls_key=key)
    await a.t.start()
    await b.t.start()
    try:
        msg = BlockRequest(sender=0, block_hash=b"\x22" * 32, max_blocks=1)
        a.t.send(1, msg)
        await _until(lambda: b.got)
        assert b.got[0] == (0, encode_message(msg))
        with pytest.raises(grpc.aio.AioRpcError):
            await asyncio.wait_for(_deliver_raw(addrs[1], [_env(signers[2], 2, 2, 1)]), WAIT_S)
        assert len(b.got) == 1
    finally:
        await a.t.stop()
        await b.t.stop()
