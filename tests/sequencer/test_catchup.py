"""Catch-up over FetchBlocks (issue 6 §5; DESIGN §7): verified, in order, lying peers scored down.

A seeded simulator cluster produces a real decided chain (real QCs) in memory stores; the tests
serve it over real `PeerTransport` servers and catch a fresh store up from them.
"""
from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from prometheus_client import CollectorRegistry

from proto.assetl2.v1 import peer_pb2
from sequencer.catchup import CatchUp, StreamVerifier, WrongAnswer, serve_fetch
from sequencer.codec import decode_block, encode_block, encode_qc
from sequencer.crypto import Verifier
from sequencer.sim import Simulation
from sequencer.storage import MemorySafetyStore
from sequencer.transport import PeerTransport, TransportConfig
from support import free_port

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def sim() -> Simulation:
    s = Simulation(4, seed=11)
    s.submit([b"tx-%d" % i for i in range(40)])
    s.run_until(4_000)
    assert s.nodes[0].store.decided_height >= 20
    return s


async def _stream(store, from_height: int = 1, max_blocks: int = 1000) -> list[peer_pb2.DecidedBlock]:
    return [m async for m in serve_fetch(store, peer_pb2.FetchBlocksRequest(from_height=from_height, max_blocks=max_blocks))]


def _verifier(sim: Simulation) -> StreamVerifier:
    genesis = sim.nodes[0].replica.genesis
    return StreamVerifier(sim.config.chain_id, sim.committee, Verifier(), genesis.hash, genesis, sim.config.reservation_batch_ms)


async def test_a_served_chain_verifies_and_is_released_in_height_order_up_to_the_tip(sim):
    store = sim.nodes[0].store
    msgs = await _stream(store)
    sv = _verifier(sim)
    heights = []
    for m in msgs:
        d = sv.add(m)
        if d is not None:
            heights += [x.block.height for x in d.blocks]
    assert heights == list(range(1, store.decided_height + 1))
    assert [store.decided_block(h).block.hash for h in heights] == [decode_block(m.block).hash for m in msgs]


async def test_a_partial_answer_releases_only_blocks_proven_decided(sim):
    msgs = await _stream(sim.nodes[0].store, max_blocks=10)
    sv = _verifier(sim)
    released = [d for m in msgs if (d := sv.add(m)) is not None]
    heights = [x.block.height for d in released for x in d.blocks]
    assert heights == list(range(1, len(heights) + 1)) and len(heights) < 10
    assert sv.pending, "the last block has no proof yet and must not be delivered"


@pytest.mark.parametrize("tamper,reason", [
    ("skip", "wrong_height"),
    ("qc", "invalid_certificate"),
    ("block", "invalid_certificate"),
    ("proof", "invalid_commit_proof"),
])
async def test_wrong_answers_are_rejected_with_a_reason(sim, tamper, reason):
    msgs = await _stream(sim.nodes[0].store)
    if tamper == "skip":
        del msgs[3]
    elif tamper == "qc":
        msgs[3].qc = msgs[4].qc
    elif tamper == "block":
        b = decode_block(msgs[3].block)
        msgs[3].block = encode_block(replace(b, payload=(b"forged",)))
    else:
        msgs[-1].commit_qc = msgs[-2].qc
    sv = _verifier(sim)
    with pytest.raises(WrongAnswer) as info:
        for m in msgs:
            sv.add(m)
    assert info.value.reason == reason


async def _liar(request):
    """A peer that serves a chain with one forged block in the middle."""
    async for m in serve_fetch(_LIAR_STORE, request):
        if m.height == 5:
            b = decode_block(m.block)
            m.block = encode_block(replace(b, timestamp_ms=b.timestamp_ms + 1))
        yield m


_LIAR_STORE = None


async def test_catch_up_fetches_from_peers_scores_the_liar_down_and_delivers_in_order(sim):
    global _LIAR_STORE
    _LIAR_STORE = sim.nodes[1].store
    addrs = [f"127.0.0.1:{free_port()}" for _ in range(4)]
    honest_store = sim.nodes[2].store

    def transport(i, fetch):
        return PeerTransport(TransportConfig(listen=addrs[i], peers=tuple(addrs)), sim.config.chain_id, sim.committee,
                             sim.signers[i], on_consensus=lambda s, f: None, fetch_blocks=fetch)

    liar = transport(1, _liar)
    honest = transport(2, lambda req: serve_fetch(honest_store, req))
    me = transport(3, None)
    for t in (liar, honest, me):
        await t.start()
    delivered = []
    fresh = MemorySafetyStore()
    registry = CollectorRegistry()
    cu = CatchUp(chain_id=sim.config.chain_id, committee=sim.committee, index=3, verifier=Verifier(),
                 genesis=sim.nodes[0].replica.genesis, batch_ms=sim.config.reservation_batch_ms, store=fresh,
                 deliver=delivered.append, channel=me.channel, registry=registry, request_blocks=8, timeout_ms=3000)
    cu.scores[1] = 5  # the liar is asked first
    try:
        result = await asyncio.wait_for(cu.run(max_rounds=100), 60)
    finally:
        for t in (liar, honest, me):
            await t.stop()
    heights = [d.block.height for dec in delivered for d in dec.blocks]
    assert heights == list(range(1, honest_store.decided_height + 1))
    assert result.height == fresh.decided_height == honest_store.decided_height
    assert [fresh.decided_block(h).block.hash for h in heights] == [honest_store.decided_block(h).block.hash for h in heights]
    assert cu.scores[1] < 5 and cu.scores[2] > 0
    assert registry.get_sample_value("sequencer_catchup_failures_total", {"peer": "1", "reason": "invalid_certificate"}) >= 1
    assert registry.get_sample_value("sequencer_catchup_failures_total", {"peer": "0", "reason": "unavailable"}) >= 1


async def test_fetch_blocks_is_rate_limited_per_authenticated_peer_and_refusals_are_counted(sim):
    import time as _time

    import grpc

    from proto.assetl2.v1 import peer_pb2_grpc

    addrs = [f"127.0.0.1:{free_port()}" for _ in range(4)]
    store = sim.nodes[0].store
    registry = CollectorRegistry()
    server = PeerTransport(TransportConfig(listen=addrs[0], peers=tuple(addrs), fetch_rate_per_s=0.01, fetch_burst=2),
                           sim.config.chain_id, sim.committee, sim.signers[0], on_consensus=lambda s, f: None,
                           fetch_blocks=lambda req: serve_fetch(store, req), registry=registry)
    members = {i: PeerTransport(TransportConfig(listen=addrs[i], peers=tuple(addrs)), sim.config.chain_id, sim.committee,
                                sim.signers[i], on_consensus=lambda s, f: None) for i in (2, 3)}
    await server.start()

    async def fetch(req) -> grpc.StatusCode:
        stub = peer_pb2_grpc.PeerApiStub(members[3].channel(0))
        try:
            got = [m async for m in stub.FetchBlocks(req, timeout=5)]
        except grpc.aio.AioRpcError as err:
            assert "rate limit" in err.details()
            return err.code()
        assert got and got[0].height == 1
        return grpc.StatusCode.OK

    def signed(i: int):
        return members[i].sign_fetch(peer_pb2.FetchBlocksRequest(from_height=1, max_blocks=2), int(_time.time() * 1000))

    try:
        codes3 = [await fetch(signed(3)) for _ in range(4)]
        code2 = await fetch(signed(2))  # another member has its own bucket
        forged = signed(2)
        forged.signature = bytes(64)
        anon = [await fetch(forged) for _ in range(3)]  # a bad signature counts as anonymous
    finally:
        await server.stop()
        for t in members.values():
            await t.stop()
    ok, limited = grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED
    assert codes3 == [ok, ok, limited, limited]
    assert code2 == ok
    assert anon == [ok, ok, limited]
    assert registry.get_sample_value("sequencer_fetch_refused_total", {"peer": "3"}) == 2
    assert registry.get_sample_value("sequencer_fetch_refused_total", {"peer": "anonymous"}) == 1
    assert registry.get_sample_value("sequencer_fetch_refused_total", {"peer": "2"}) is None


def test_a_running_replica_adopts_caught_up_blocks_once_and_refuses_a_fork(sim):
    """Live catch-up (issue 6): a proven Decide from FetchBlocks, delivered as `CaughtUp`,
    becomes the replica's own `Decide` (stored and executed once, like its decisions);
    blocks it already decided are skipped; a chain that does not extend its tip is refused."""
    from sequencer.consensus import CaughtUp, Decide as DecideAction
    from sequencer.mempool import Mempool, MempoolConfig
    from sequencer.pacemaker import ManualClock
    from sequencer.consensus import Replica, Start

    src = sim.nodes[0].store
    top = src.decided_height
    blocks = tuple(src.decided_block(h) for h in range(1, top + 1))
    commit = src.tip_commit_qc()
    genesis = sim.nodes[0].replica.genesis
    clock = ManualClock(genesis.timestamp_ms + 1_000)
    r = Replica(sim.config, sim.committee, sim.signers[3], clock, Mempool(MempoolConfig(), clock), Verifier())
    r.handle(Start())
    first = [a for a in r.handle(CaughtUp(DecideAction(blocks[:10], blocks[10].qc))) if isinstance(a, DecideAction)]
    assert [d.block.height for d in first[0].blocks] == list(range(1, 11)) and r.decided_height == 10
    again = [a for a in r.handle(CaughtUp(DecideAction(blocks[:top], commit))) if isinstance(a, DecideAction)]
    assert [d.block.height for d in again[0].blocks] == list(range(11, top + 1))  # 1..10 not twice
    assert r.decided_tip.block.hash == blocks[-1].block.hash
    before = r.rejections.get("wrong_chain", 0)
    stray = replace(blocks[-1], block=replace(blocks[-1].block, height=top + 1))  # parent is not our tip
    actions = r.handle(CaughtUp(DecideAction((stray,), commit)))
    assert not any(isinstance(a, DecideAction) for a in actions)
    assert r.rejections.get("wrong_chain", 0) == before + 1 and r.decided_height == top
