"""Batch boundaries (size, age, heartbeat) and the outbox's persistence rules (DESIGN §8)."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from solders.keypair import Keypair
from test_poster_harness import chain_of_batches

from batchposter.batcher import (
    Batcher,
    BatcherCursor,
    BatcherError,
    BatchPolicy,
    BlockRecord,
    StateCertificate,
)
from batchposter.outbox import BatchStatus, Outbox, OutboxError

CODE, PROOF = hashlib.sha256(b"code").digest(), hashlib.sha256(b"proof").digest()
GENESIS = hashlib.sha256(b"genesis").digest()
CHAIN_ID = "assetl2-test"


def root(label: str, n: int) -> bytes:
    return hashlib.sha256(f"{label}-{n}".encode()).digest()


def block(height: int, ts_ms: int, log_size: int | None = None) -> BlockRecord:
    size = height * 2 if log_size is None else log_size
    return BlockRecord(height, ts_ms, root("state", height), size, root("log", size))


def genesis_cursor() -> BatcherCursor:
    return BatcherCursor(1, 1, GENESIS, 0, bytes(32), last_close_ms=0)


def new_batcher(policy: BatchPolicy, cursor: BatcherCursor | None = None) -> Batcher:
    return Batcher(policy, cursor or genesis_cursor(), CODE, PROOF)


def feed(batcher: Batcher, blocks, with_certificates: bool = True):
    out = []
    for b in blocks:
        out += batcher.add_block(b)
        if with_certificates:
            out += batcher.add_certificate(StateCertificate(b.height, b.state_root, b"sig"))
    return out


def ranges(batches) -> list[tuple[int, int]]:
    return [(b.header.first_height, b.header.last_height) for b in batches]


def test_a_batch_closes_when_it_holds_max_blocks():
    batches = feed(new_batcher(BatchPolicy(max_blocks=4, max_age_ms=10**9)), [block(h, h) for h in range(1, 11)])
    assert ranges(batches) == [(1, 4), (5, 8)]
    first, second = batches
    assert first.header.batch_index == 1 and second.header.batch_index == 2
    assert first.header.prev_state_root == GENESIS and second.header.prev_state_root == first.header.state_root
    assert (second.header.state_root, second.header.tx_log_size) == (root("state", 8), 16)
    assert StateCertificate.from_bytes(second.certificate).height == 8


def test_a_batch_closes_when_the_rollup_clock_passes_max_age():
    batcher = new_batcher(BatchPolicy(max_blocks=100, max_age_ms=1_000))
    timestamps = [100, 400, 900, 1_100, 1_500, 1_900, 2_200, 2_500]
    batches = feed(batcher, [block(h, ts) for h, ts in enumerate(timestamps, start=1)])
    # block 4 is 1000 ms after block 1; block 8 is 1000 ms after block 5
    assert ranges(batches) == [(1, 4), (5, 8)]
    assert [b.closed_at_ms for b in batches] == [1_100, 2_500]


def test_tick_closes_an_old_batch_and_heartbeats_only_after_long_idle():
    batcher = new_batcher(BatchPolicy(max_blocks=100, max_age_ms=1_000, heartbeat_ms=5_000))
    out = feed(batcher, [block(1, 100), block(2, 200)])
    assert out == [] and batcher.tick(1_099) == []
    [aged] = batcher.tick(1_100)
    assert ranges([aged]) == [(1, 2)] and aged.closed_at_ms == 1_100
    assert batcher.tick(6_099) == []
    [heartbeat] = batcher.tick(6_100)
    h = heartbeat.header
    assert heartbeat.is_heartbeat and (h.first_height, h.last_height) == (3, 2)
    assert (h.prev_state_root, h.state_root) == (aged.header.state_root, aged.header.state_root)
    assert (h.tx_log_size, h.tx_log_root) == (aged.header.tx_log_size, aged.header.tx_log_root)
    assert heartbeat.certificate == aged.certificate
    assert batcher.tick(6_200) == []  # idle again: the next heartbeat is heartbeat_ms later
    assert len(batcher.tick(11_100)) == 1


def test_a_closed_batch_waits_for_the_certificate_of_its_last_height():
    batcher = new_batcher(BatchPolicy(max_blocks=2, max_age_ms=10**9))
    assert feed(batcher, [block(1, 1), block(2, 2), block(3, 3), block(4, 4)], with_certificates=False) == []
    assert batcher.waiting_for_certificate == 2
    assert batcher.add_certificate(StateCertificate(4, root("state", 4), b"s4")) == []  # batch 1 still waits
    released = batcher.add_certificate(StateCertificate(2, root("state", 2), b"s2"))
    assert ranges(released) == [(1, 2), (3, 4)]


def test_boundaries_depend_only_on_block_data_and_survive_a_restart(tmp_path):
    policy = BatchPolicy(max_blocks=5, max_age_ms=700)
    blocks = [block(h, 130 * h + (h % 3) * 40) for h in range(1, 41)]
    whole = feed(new_batcher(policy), blocks)

    # A second batcher, restarted from the outbox after batch 3, fed the whole chain again (replay).
    outbox = Outbox(tmp_path / "o")
    for batch in whole[:3]:
        outbox.add(batch)
    restarted = new_batcher(policy, BatcherCursor.after(outbox.last()))
    assert restarted.next_height == whole[2].header.last_height + 1
    resumed = feed(restarted, blocks)
    assert [b.header for b in whole[3:]] == [b.header for b in resumed]
    outbox.close()


def test_blocks_must_be_contiguous_and_the_log_may_not_shrink():
    batcher = new_batcher(BatchPolicy())
    batcher.add_block(block(1, 1))
    with pytest.raises(BatcherError):
        batcher.add_block(block(3, 3))
    with pytest.raises(BatcherError):
        batcher.add_block(block(2, 2, log_size=1))
    assert batcher.add_block(block(1, 1)) == []  # a replayed block is ignored


def test_a_certificate_for_another_root_than_executed_is_refused():
    batcher = new_batcher(BatchPolicy(max_blocks=2))
    batcher.add_block(block(1, 1))
    with pytest.raises(BatcherError, match="height 1"):
        batcher.add_certificate(StateCertificate(1, root("state", 999), b"sig"))


def test_one_node_attestation_signs_height_and_root_for_one_chain():
    key = Keypair()
    cert = StateCertificate.attest(key, CHAIN_ID, 7, root("state", 7))
    assert StateCertificate.from_bytes(cert.to_bytes()) == cert
    assert cert.verify_self_attestation(CHAIN_ID)
    assert not cert.verify_self_attestation("another-chain")
    assert not dataclasses.replace(cert, height=8).verify_self_attestation(CHAIN_ID)


# ---------------------------------------------------------------------------------------
# outbox
# ---------------------------------------------------------------------------------------


def test_the_outbox_survives_reopening_with_statuses(tmp_path):
    batches = chain_of_batches(3)
    with Outbox(tmp_path / "o") as outbox:
        for batch in batches:
            outbox.add(batch)
        outbox.mark_sent(1, "sig1", "hash1", 150, 5_010, 1)
        outbox.mark_confirmed(1, None, 42)
        outbox.mark_sent(2, "sig2", "hash2", 151, 5_010, 1)
    with Outbox(tmp_path / "o") as outbox:
        entries = list(outbox.entries())
        assert [e.batch for e in entries] == batches
        assert [e.status for e in entries] == [BatchStatus.CONFIRMED, BatchStatus.SENT, BatchStatus.PENDING]
        assert (entries[0].signature, entries[0].confirmed_slot) == ("sig1", 42)
        assert (entries[1].blockhash, entries[1].last_valid_block_height, entries[1].attempts) == ("hash2", 151, 1)
        assert outbox.last_confirmed_index() == 1 and [e.batch_index for e in outbox.unconfirmed()] == [2, 3]


def test_the_outbox_refuses_gaps_and_changed_content_but_accepts_the_same_batch_again(tmp_path):
    batches = chain_of_batches(3)
    with Outbox(tmp_path / "o") as outbox:
        outbox.add(batches[0])
        assert outbox.add(batches[0]).batch == batches[0]
        with pytest.raises(OutboxError):
            outbox.add(batches[2])
        with pytest.raises(OutboxError):
            outbox.add(dataclasses.replace(batches[0], certificate=b"other"))
        outbox.mark_confirmed(1, "s", 1)
        outbox.mark_sent(1, "later", "h", 1, 1, 2)  # a late "sent" never un-confirms
        assert outbox.get(1).status == BatchStatus.CONFIRMED


def test_pruning_keeps_the_unconfirmed_and_the_newest_confirmed(tmp_path):
    with Outbox(tmp_path / "o") as outbox:
        for batch in chain_of_batches(5):
            outbox.add(batch)
        for i in (1, 2, 3):
            outbox.mark_confirmed(i, f"s{i}", i)
        assert outbox.prune_confirmed(keep_last=1) == 2
        assert [e.batch_index for e in outbox.entries()] == [3, 4, 5]
        assert outbox.add(chain_of_batches(6)[5]).batch_index == 6
