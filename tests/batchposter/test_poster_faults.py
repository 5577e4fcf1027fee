"""The posting loop under faults: RPC outage and errors, blockhash expiry, fee escalation,
an empty wallet, an unexplained program error (DESIGN §8, issue 7 "Bad input and faults")."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from anchor_harness import SOL, h
from test_poster_harness import PosterEnv, chain_of_batches, sample, wait_for

from batchposter import solana_client as sc
from batchposter.outbox import BatchStatus


@pytest.fixture
async def env(program_elf, tmp_path):
    env = await PosterEnv(program_elf, tmp_path).start()
    yield env
    await env.close()


def landed_price(env: PosterEnv, signature: str) -> int:
    """The compute-unit price instruction of a landed transaction."""
    from solders.signature import Signature
    from solders.transaction import VersionedTransaction

    record = env.ledger.records[Signature.from_string(signature)]
    price_ix = VersionedTransaction.from_bytes(record.wire).message.instructions[1]
    return int.from_bytes(bytes(price_ix.data)[1:9], "little")


async def test_rpc_outage_backs_off_and_resumes_without_loss_or_duplicate(env):
    env.fill_outbox(chain_of_batches(8))
    poster = env.poster(max_in_flight=2)
    poster.start()
    await poster.wait_confirmed(2, timeout_s=10)
    port = env.rpc.port
    await env.rpc.stop()  # the RPC goes away; the chain (and its clock) carries on
    await wait_for(lambda: (sample(poster, "batchposter_failures_total", kind="rpc") or 0) >= 3, timeout_s=10)
    tip_during_outage = poster.tip
    await asyncio.sleep(0.3)
    assert poster.tip == tip_during_outage and poster.halted is None
    await env.rpc.start("127.0.0.1", port)
    await poster.wait_confirmed(8, timeout_s=20)
    assert env.posted_events() == list(range(1, 9))
    assert [e.status for e in poster.outbox.entries()] == [BatchStatus.CONFIRMED] * 8


async def test_rpc_error_replies_are_retried_with_back_off(env):
    env.fill_outbox(chain_of_batches(3))
    env.rpc.faults.fail_next["*"] = 6  # the next six calls answer "node unhealthy"
    poster = env.poster()
    poster.start()
    await poster.wait_confirmed(3, timeout_s=20)
    assert sample(poster, "batchposter_failures_total", kind="rpc") >= 1
    assert env.posted_events() == [1, 2, 3]


async def test_slow_rpc_answers_time_out_and_are_retried(env):
    env.fill_outbox(chain_of_batches(2))
    env.rpc.faults.delay_s = 2.5  # beyond the client's 2 s timeout
    poster = env.poster()
    poster.start()
    await wait_for(lambda: (sample(poster, "batchposter_failures_total", kind="rpc") or 0) >= 1, timeout_s=10)
    env.rpc.faults.delay_s = 0.0
    await poster.wait_confirmed(2, timeout_s=20)
    assert env.posted_events() == [1, 2]


async def test_an_expired_blockhash_is_resigned_fresh_and_the_batch_lands_once(env):
    env.fill_outbox(chain_of_batches(2))
    env.rpc.faults.drop_transactions = 1  # the first signing of batch 1 never lands
    poster = env.poster(max_in_flight=1)
    poster.start()
    await poster.wait_confirmed(2, timeout_s=20)
    entry = poster.outbox.get(1)
    assert entry.attempts == 2
    assert landed_price(env, entry.signature) == poster.client.fees.price(1)
    assert [(i, a) for i, a, _ in poster.signings] == [(1, 0), (1, 1), (2, 0)]
    assert sample(poster, "batchposter_resigns_total") == 1
    assert env.posted_events() == [1, 2]


async def test_a_dropped_transaction_is_rebroadcast_and_lands_without_a_resign(env):
    env.fill_outbox(chain_of_batches(1))
    env.rpc.faults.drop_transactions = 1
    poster = env.poster(max_in_flight=1, rebroadcast_interval_s=0.05)
    poster.start()
    await poster.wait_confirmed(1, timeout_s=10)
    assert poster.outbox.get(1).attempts == 1 and len(poster.signings) == 1
    assert sample(poster, "batchposter_resigns_total") == 0
    assert env.posted_events() == [1]


async def test_later_batches_wait_while_an_earlier_one_has_not_landed(env):
    """Batch 1 is dropped; batch 2 is refused (index gap) while 1 is in flight: wait, never halt."""
    env.fill_outbox(chain_of_batches(4))
    env.rpc.faults.drop_transactions = 1
    poster = env.poster(max_in_flight=4)
    poster.start()
    await poster.wait_confirmed(4, timeout_s=20)
    assert poster.halted is None and sample(poster, "batchposter_failures_total", kind="program") == 0
    assert env.posted_events() == [1, 2, 3, 4]
    assert poster.outbox.get(1).attempts == 2 and poster.outbox.get(2).attempts == 1


async def test_priority_fee_rises_per_resign_up_to_the_cap(env):
    fees = sc.FeePolicy(start_micro_lamports_per_cu=1_000, escalation_bps=20_000, cap_micro_lamports_per_cu=3_000)
    env.fill_outbox(chain_of_batches(1))
    env.rpc.faults.drop_transactions = 3
    poster = env.poster(max_in_flight=1, fees=fees)
    poster.start()
    await poster.wait_confirmed(1, timeout_s=30)
    assert [price for _, _, price in poster.signings] == [1_000, 2_000, 3_000, 3_000]
    entry = poster.outbox.get(1)
    assert landed_price(env, entry.signature) == 3_000
    assert sample(poster, "batchposter_fees_paid_lamports_total") == fees.fee_lamports(3)
    assert sample(poster, "batchposter_priority_fee_micro_lamports_per_cu") == 3_000


async def test_the_fee_step_survives_a_restart(env):
    fees = sc.FeePolicy(start_micro_lamports_per_cu=1_000, escalation_bps=20_000, cap_micro_lamports_per_cu=50_000)
    env.fill_outbox(chain_of_batches(1))
    env.rpc.faults.drop_transactions = 2
    first = env.poster(max_in_flight=1, fees=fees)
    first.start()
    await wait_for(lambda: len(first.signings) == 2, timeout_s=10)  # second signing sent (and dropped)
    await env.drop(first)
    second = env.poster(max_in_flight=1, fees=fees)
    second.start()
    await second.wait_confirmed(1, timeout_s=20)
    assert [price for _, _, price in second.signings][0] == fees.price(2)


async def test_an_empty_wallet_alarms_keeps_the_outbox_and_resumes_when_funded(program_elf, tmp_path):
    env = await PosterEnv(program_elf, tmp_path, lamports=0).start()
    try:
        env.fill_outbox(chain_of_batches(2))
        poster = env.poster()
        poster.start()
        await wait_for(lambda: sample(poster, "batchposter_wallet_empty") == 1, timeout_s=10)
        assert sample(poster, "batchposter_failures_total", kind="wallet") >= 1
        assert poster.halted is None and not poster._task.done()
        assert [e.status for e in poster.outbox.entries()] == [BatchStatus.PENDING] * 2
        env.ledger.airdrop(env.poster_key.pubkey(), 1 * SOL)
        await poster.wait_confirmed(2, timeout_s=20)
        assert sample(poster, "batchposter_wallet_empty") == 0
        assert env.posted_events() == [1, 2]
    finally:
        await env.close()


async def test_an_unexpected_program_error_halts_posting_and_keeps_the_outbox(env):
    batches = chain_of_batches(3)
    bad = dataclasses.replace(batches[1].header, code_hash=h("unregistered-code"))
    batches[1] = dataclasses.replace(batches[1], header=bad)
    env.fill_outbox(batches)
    poster = env.poster()
    task = poster.start()
    await wait_for(lambda: poster.halted is not None, timeout_s=10)
    assert "PROGRAM_NOT_REGISTERED" in poster.halted
    assert sample(poster, "batchposter_halted") == 1
    assert sample(poster, "batchposter_failures_total", kind="program") == 1
    await asyncio.wait_for(task, 5)  # the loop ended without raising
    assert task.exception() is None
    assert env.posted_events() == [1]  # batch 1 was valid and went out before batch 2 was refused
    statuses = [e.status for e in poster.outbox.entries()]
    assert statuses[0] in (BatchStatus.SENT, BatchStatus.CONFIRMED)
    assert statuses[1:] == [BatchStatus.PENDING, BatchStatus.PENDING]
    assert poster.outbox.get(2).header == bad  # kept as it was, for the operator
