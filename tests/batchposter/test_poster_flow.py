"""The posting loop against the dev RPC with the real program: order, bounds, metrics (DESIGN §8)."""

from __future__ import annotations

import asyncio
import shutil

import pytest
from anchor_harness import CODE_HASH, PROOF_HASH
from prometheus_client import CollectorRegistry
from test_poster_harness import FAST_BACKOFF, PosterEnv, chain_of_batches, sample, wait_for

from batchposter.outbox import BatchStatus, Outbox
from batchposter.poster import BatchPosterService, PosterConfig, PosterHalted


@pytest.fixture
async def env(program_elf, tmp_path):
    env = await PosterEnv(program_elf, tmp_path).start()
    yield env
    await env.close()


async def test_batches_are_anchored_in_order_and_the_outbox_ends_confirmed(env):
    batches = chain_of_batches(12)
    env.fill_outbox(batches)
    poster = env.poster(max_in_flight=4)
    poster.start()
    await poster.wait_confirmed(12, timeout_s=20)

    assert env.posted_events() == list(range(1, 13))
    assert [env.batch_account(i).header() for i in range(1, 13)] == [b.header for b in batches]
    config = env.config()
    assert (config.last_batch_index, config.last_state_root) == (12, batches[-1].header.state_root)
    assert [e.status for e in poster.outbox.entries()] == [BatchStatus.CONFIRMED] * 12
    assert all(e.signature for e in poster.outbox.entries())

    fee = poster.client.fees.fee_lamports(0)
    assert sample(poster, "batchposter_last_posted_batch") == 12
    assert sample(poster, "batchposter_last_confirmed_batch") == 12
    assert sample(poster, "batchposter_backlog_batches") == 0
    assert sample(poster, "batchposter_in_flight_transactions") == 0
    assert sample(poster, "batchposter_confirm_latency_seconds_count") == 12
    assert sample(poster, "batchposter_fees_paid_lamports_total") == 12 * fee
    assert sample(poster, "batchposter_halted") == 0
    assert sample(poster, "batchposter_failures_total", kind="program") == 0
    await wait_for(lambda: sample(poster, "batchposter_wallet_balance_lamports")
                   == env.ledger.svm.get_balance(env.poster_key.pubkey()), timeout_s=5)


async def test_no_more_than_max_in_flight_transactions_wait_for_confirmation(env):
    env.fill_outbox(chain_of_batches(6))
    env.slots_running.clear()  # nothing confirms while the clock is stopped
    poster = env.poster(max_in_flight=2)
    poster.start()
    await wait_for(lambda: len(env.posted_events()) == 2, timeout_s=10)
    await asyncio.sleep(0.3)  # ~15 polls of the loop: it must not send a third
    assert env.posted_events() == [1, 2]
    assert sample(poster, "batchposter_in_flight_transactions") == 2
    assert [e.status for e in poster.outbox.entries()][:3] == [BatchStatus.SENT, BatchStatus.SENT, BatchStatus.PENDING]
    env.slots_running.set()
    await poster.wait_confirmed(6, timeout_s=20)
    assert env.posted_events() == [1, 2, 3, 4, 5, 6]


async def test_batches_queued_while_running_are_posted_after_a_wake(env):
    batches = chain_of_batches(4)
    poster = env.poster()
    poster.start()
    await poster.wait_resumed(5)
    for batch in batches:
        poster.outbox.add(batch)
        poster.wake()
    await poster.wait_confirmed(4, timeout_s=20)
    assert env.posted_events() == [1, 2, 3, 4]


async def test_a_clean_restart_resumes_from_the_chain_without_reposting(env):
    env.fill_outbox(chain_of_batches(3))
    first = env.poster()
    first.start()
    await first.wait_confirmed(3, timeout_s=20)
    await env.drop(first)

    with Outbox(env.outbox_path) as outbox:
        for batch in chain_of_batches(5)[3:]:
            outbox.add(batch)
    second = env.poster()
    second.start()
    await second.wait_confirmed(5, timeout_s=20)
    assert env.posted_events() == [1, 2, 3, 4, 5]
    assert sample(second, "batchposter_fees_paid_lamports_total") == 2 * second.client.fees.fee_lamports(0)


async def test_an_outbox_that_disagrees_with_the_chain_halts_before_spending(env):
    """Batch 1 on chain differs from the outbox's batch 1: a conflict, not a re-post."""
    env.fill_outbox(chain_of_batches(1))
    first = env.poster()
    first.start()
    await first.wait_confirmed(1, timeout_s=20)
    await env.drop(first)
    # A different outbox whose batch 2 does not follow the anchored root of batch 1.
    shutil.rmtree(env.outbox_path)
    forked = chain_of_batches(2, blocks_per_batch=7)
    env.fill_outbox(forked)
    poster = env.poster()
    poster.start()
    await wait_for(lambda: poster.halted is not None, timeout_s=10)
    assert "conflict" in poster.halted or "state root" in poster.halted
    assert sample(poster, "batchposter_halted") == 1
    assert sample(poster, "batchposter_failures_total", kind="conflict") == 1
    assert env.posted_events() == [1]
    assert poster.outbox.get(2).status == BatchStatus.PENDING


async def test_confirmed_batches_beyond_the_kept_number_are_pruned_from_the_outbox(env):
    env.fill_outbox(chain_of_batches(7))
    poster = env.poster(keep_confirmed=2, prune_every=3)
    poster.start()
    await poster.wait_confirmed(7, timeout_s=20)
    kept = [e.batch_index for e in poster.outbox.entries()]
    assert kept[-1] == 7 and len(kept) < 7 and kept == list(range(kept[0], 8))


async def test_a_service_with_an_empty_outbox_waits_for_the_chain_tip_and_gives_up_bounded(env, tmp_path):
    config = PosterConfig("http://127.0.0.1:9", env.ledger.program_id, str(tmp_path / "svc"), CODE_HASH, PROOF_HASH,
                          backoff=FAST_BACKOFF)
    service = BatchPosterService(config, env.poster_key, registry=CollectorRegistry())
    try:
        with pytest.raises(PosterHalted):
            await service.start(timeout_s=0.5)
        assert service.batcher is None and service.metrics.registry.get_sample_value(
            "batchposter_failures_total", {"kind": "rpc"}) >= 1
    finally:
        await service.stop()


async def test_a_chain_ahead_of_the_outbox_gets_the_missing_batches_confirmed_not_reposted(env):
    batches = chain_of_batches(4)
    env.fill_outbox(batches[:3])
    first = env.poster()
    first.start()
    await first.wait_confirmed(3, timeout_s=20)
    await env.drop(first)
    shutil.rmtree(env.outbox_path)  # an outbox restored from an old backup: it only has batch 1
    env.fill_outbox(batches[:1])

    poster = env.poster()
    poster.start()
    await poster.wait_resumed(5)
    assert poster.tip == 3
    for batch in batches[1:]:  # the batcher re-cuts 2 and 3 (same content) and then 4
        poster.outbox.add(batch)
        poster.wake()
    await poster.wait_confirmed(4, timeout_s=20)
    assert env.posted_events() == [1, 2, 3, 4]
    assert [e.status for e in poster.outbox.entries()] == [BatchStatus.CONFIRMED] * 4
    assert sample(poster, "batchposter_fees_paid_lamports_total") == poster.client.fees.fee_lamports(0)
    assert sample(poster, "batchposter_backlog_batches") == 0


async def test_the_confirmed_tip_is_a_prefix_when_confirmations_are_seen_out_of_order(tmp_path):
    """Batch 3 can look confirmed before batch 2 is polled; the tip must not skip batch 2."""
    from solana.rpc.async_api import AsyncClient
    from solders.keypair import Keypair

    from batchposter import solana_client as sc
    from batchposter.poster import Poster

    with Outbox(tmp_path / "o") as outbox:
        for batch in chain_of_batches(3):
            outbox.add(batch)
        rpc = AsyncClient("http://127.0.0.1:9")
        poster = Poster(outbox, sc.SolanaAnchorClient(rpc, Keypair().pubkey(), Keypair()), registry=CollectorRegistry())
        poster._set_tip(0)
        poster._confirm(1, "s1", 10, 5_010)
        poster._confirm(3, "s3", 11, 5_010)
        assert poster.tip == 1 and sample(poster, "batchposter_last_confirmed_batch") == 1
        poster._confirm(2, "s2", 11, 5_010)
        assert poster.tip == 3 and sample(poster, "batchposter_fees_paid_lamports_total") == 3 * 5_010
        await rpc.close()
