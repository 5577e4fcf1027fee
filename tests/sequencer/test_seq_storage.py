"""Safety storage on LevelDB: round trips, synced batches, restart of a replica and a cluster."""

from __future__ import annotations

import plyvel
import pytest
from seqkit import Cluster, config, msg, started, votes_in

from sequencer.consensus import Decide, Persist, Start
from sequencer.sim import Crash, Simulation
from sequencer.storage import (
    K_SAFETY,
    LevelDBSafetyStore,
    MemorySafetyStore,
    StorageCorrupt,
)

C = Cluster(4, config())


def _chain():
    blocks, qcs = [C.genesis], [C.gqc]
    for v in (1, 2, 3):
        b = C.block(v, blocks[-1], qcs[-1], payload=[b"tx%d" % v])
        blocks.append(b)
        qcs.append(C.qc(b))
    return blocks, qcs


def drive(store, replica, events):
    for ev in events:
        for a in replica.handle(ev):
            if isinstance(a, Persist):
                store.persist(a)
            elif isinstance(a, Decide):
                store.decide(a)


@pytest.fixture(params=["leveldb", "memory"])
def store_factory(request, tmp_path):
    stores = []

    def make():
        s = LevelDBSafetyStore(str(tmp_path / "db")) if request.param == "leveldb" else stores[0] if stores else MemorySafetyStore()
        stores.append(s)
        return s

    yield make
    for s in stores:
        try:
            s.close()
        except Exception:
            pass


def test_fresh_store_loads_nothing(store_factory):
    assert store_factory().load() is None


def test_safety_state_undecided_blocks_and_decisions_survive_reopen(store_factory):
    blocks, _ = _chain()
    store = store_factory()
    r = C.replica(0)
    drive(store, r, [Start()] + [msg(b.proposer, C.proposal(b)) for b in blocks[1:]])
    assert r.decided_height == 1
    if isinstance(store, LevelDBSafetyStore):
        store.close()
        store = store_factory()
    rec = store.load()
    assert rec.safety == r.safety and rec.last_vote == r.last_vote
    assert rec.decided_tip.block == blocks[1] and rec.decided_tip.qc.block_hash == blocks[1].hash
    assert {b.hash for b in rec.undecided} == {blocks[2].hash, blocks[3].hash}
    assert store.decided_block(1).block == blocks[1]
    assert store.block_by_hash(blocks[1].hash) == blocks[1]
    assert store.block_by_hash(blocks[3].hash) is None


def test_deciding_prunes_undecided_proposals_at_or_below_the_tip(store_factory):
    blocks, _ = _chain()
    store = store_factory()
    r = C.replica(0)
    drive(store, r, [Start()] + [msg(b.proposer, C.proposal(b)) for b in blocks[1:]])
    heights = sorted(b.height for b in store.load().undecided)
    assert heights == [2, 3]


class _SyncSpy:
    """Stands in for the plyvel DB handle and records how write batches are opened."""

    def __init__(self, db) -> None:
        self.db = db
        self.sync_flags: list = []

    def write_batch(self, *a, **kw):
        self.sync_flags.append(kw.get("sync"))
        return self.db.write_batch(*a, **kw)

    def __getattr__(self, name):
        return getattr(self.db, name)


def test_every_leveldb_write_is_a_synced_batch(tmp_path):
    store = LevelDBSafetyStore(str(tmp_path / "db"))
    spy = store.kv.db = _SyncSpy(store.kv.db)
    r = C.replica(0)
    blocks, _ = _chain()
    drive(store, r, [Start()] + [msg(b.proposer, C.proposal(b)) for b in blocks[1:]])
    assert store.decided_height == 1
    assert len(spy.sync_flags) >= 3 and all(flag is True for flag in spy.sync_flags)
    store.close()


def test_corrupt_safety_record_refuses_to_load(tmp_path):
    store = LevelDBSafetyStore(str(tmp_path / "db"))
    store.kv.db.put(K_SAFETY, b"\x00" * 12)
    with pytest.raises(StorageCorrupt):
        store.load()
    store.close()


def test_replica_restarted_from_leveldb_does_not_vote_twice(tmp_path):
    blocks, _ = _chain()
    store = LevelDBSafetyStore(str(tmp_path / "db"))
    r = C.replica(0)
    drive(store, r, [Start(), msg(1, C.proposal(blocks[1]))])
    store.close()
    store = LevelDBSafetyStore(str(tmp_path / "db"))
    back = C.replica(0, recovered=store.load())
    from dataclasses import replace

    twin = C.proposal(replace(blocks[1], payload=(b"other",)))
    assert votes_in(back.handle(Start())) == [r.last_vote]
    assert votes_in(back.handle(msg(1, twin))) == []
    store.close()


def test_four_node_cluster_on_leveldb_survives_all_nodes_restarting_at_once(tmp_path):
    sim = Simulation(
        4,
        seed=11,
        store_factory=lambda i: LevelDBSafetyStore(str(tmp_path / f"node{i}")),
        crashes=[Crash(i, 1_200, 1_700) for i in range(4)],
    )
    for k in range(30):
        sim.at(100 * k, lambda k=k: sim.submit([b"tx-%d" % k]))
    sim.run_until(1_150)
    before = sim.min_honest_height()
    sim.run_until(6_000)
    sim.check_safety()
    assert before > 3 and sim.min_honest_height() > before + 10
    assert all(n.restarts == 1 for n in sim.nodes)
    # mempools are not durable: what was pending at the crash is for clients to resubmit;
    # everything submitted after the restart is decided, and nothing is decided twice
    submitted = {b"tx-%d" % k for k in range(30)}
    after_restart = {b"tx-%d" % k for k in range(18, 30)}
    for n in sim.nodes:
        assert after_restart <= set(n.decided_txs) <= submitted
        assert len(n.decided_txs) == len(set(n.decided_txs))
    for n in sim.nodes:
        n.store.close()


def test_a_large_proposal_is_written_once_not_with_every_safety_update():
    from seqkit import T0

    from sequencer.consensus import NewTransactions
    from sequencer.pacemaker import ManualClock
    from sequencer.storage import K_PROPOSAL

    store = MemorySafetyStore()
    written = []
    real_write = store.kv.write
    store.kv.write = lambda puts, deletes: (written.extend(k for k, _ in puts), real_write(puts, deletes))
    clock = ManualClock(T0)
    leader = C.replica(1, clock)
    drive(store, leader, [Start(), NewTransactions(tuple(b"tx%d" % i for i in range(50)))])
    blocks, _ = _chain()
    for i in (0, 2, 3):
        drive(store, leader, [msg(i, C.timeout(i, 1, C.gqc))])
    assert written.count(K_PROPOSAL) == 1 and written.count(b"safety") >= 2
    assert store.load().last_proposal == leader.last_proposal
