"""Kill the poster mid-flight and restart it from the same outbox: no duplicate, no gap (DESIGN §8).

The on-chain rule `batch_index == last + 1` is what makes a re-post a no-op; these tests pin
that the loop's resume logic relies on it correctly: after the restart the chain holds batch
accounts exactly 1..N, each anchored by exactly one successful transaction.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest
from test_poster_harness import PosterEnv, chain_of_batches, sample, wait_for

from batchposter.outbox import BatchStatus

REPO = Path(__file__).resolve().parents[2]

CHILD = r"""
import asyncio, json, sys
from solana.rpc.async_api import AsyncClient
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from batchposter import solana_client as sc
from batchposter.outbox import Outbox
from batchposter.poster import Backoff, Poster

args = json.loads(sys.argv[1])

async def main():
    rpc = AsyncClient(args["url"], timeout=2)
    client = sc.SolanaAnchorClient(rpc, Pubkey.from_string(args["program"]), Keypair.from_bytes(bytes(args["key"])))
    poster = Poster(Outbox(args["outbox"]), client, max_in_flight=args["in_flight"], poll_interval_s=0.02,
                    rebroadcast_interval_s=3600, backoff=Backoff(0.05, 2.0, 0.2))
    print("child: posting", flush=True)
    await poster.run()

asyncio.run(main())
"""


@pytest.fixture
async def env(program_elf, tmp_path):
    env = await PosterEnv(program_elf, tmp_path).start()
    yield env
    await env.close()


async def test_cancelled_after_send_before_confirm_restart_neither_duplicates_nor_skips(env):
    env.fill_outbox(chain_of_batches(10))
    env.slots_running.clear()  # sent batches are processed on chain but not confirmed
    first = env.poster(max_in_flight=4)
    first.start()
    await wait_for(lambda: [e.status for e in first.outbox.entries()][:5] == [BatchStatus.SENT] * 4
                   + [BatchStatus.PENDING], timeout_s=10)
    assert env.posted_events() == [1, 2, 3, 4]
    await env.drop(first)  # cancelled mid-flight: nothing confirmed yet

    second = env.poster(max_in_flight=4)
    second.start()
    await asyncio.sleep(0.3)  # it resumes at the confirmed tip (0) and finds 1..4 already processed
    env.slots_running.set()
    await second.wait_confirmed(10, timeout_s=30)
    assert env.posted_events() == list(range(1, 11))
    assert env.anchored_indices(12) == list(range(1, 11))
    assert [e.status for e in second.outbox.entries()] == [BatchStatus.CONFIRMED] * 10
    # batches 1..4 were found on chain, not paid for again
    assert sample(second, "batchposter_fees_paid_lamports_total") == 6 * second.client.fees.fee_lamports(0), (
        list(second.signings), sample(second, "batchposter_failures_total", kind="rpc"))


async def test_cancelled_while_slots_run_restart_anchors_exactly_once(env):
    env.fill_outbox(chain_of_batches(12))
    first = env.poster(max_in_flight=3)
    first.start()
    await wait_for(lambda: len(env.posted_events()) >= 5, timeout_s=10)
    await env.drop(first)
    second = env.poster(max_in_flight=3)
    second.start()
    await second.wait_confirmed(12, timeout_s=30)
    assert env.posted_events() == list(range(1, 13))
    assert env.anchored_indices(14) == list(range(1, 13))


async def test_sigkilled_poster_process_restarts_from_its_outbox_without_duplicate_or_gap(env):
    env.fill_outbox(chain_of_batches(9))
    env.slots_running.clear()
    args = {"url": env.rpc.url, "program": str(env.ledger.program_id), "key": list(bytes(env.poster_key)),
            "outbox": env.outbox_path, "in_flight": 3}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, json.dumps(args), cwd=str(REPO),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        await wait_for(lambda: len(env.posted_events()) == 3, timeout_s=60)
    finally:
        child.send_signal(signal.SIGKILL)
        _, stderr = await asyncio.wait_for(child.communicate(), 10)
    assert child.returncode == -signal.SIGKILL, stderr.decode()[-2000:]

    poster = env.poster(max_in_flight=3)
    statuses = [e.status for e in poster.outbox.entries()]
    # killed after the RPC processed batch 3, possibly before the child recorded sending it
    assert statuses[:2] == [BatchStatus.SENT] * 2 and statuses[2] in (BatchStatus.SENT, BatchStatus.PENDING)
    assert statuses[3:] == [BatchStatus.PENDING] * 6
    poster.start()
    env.slots_running.set()
    await poster.wait_confirmed(9, timeout_s=30)
    assert env.posted_events() == list(range(1, 10))
    assert env.anchored_indices(11) == list(range(1, 10))
    assert [e.status for e in poster.outbox.entries()] == [BatchStatus.CONFIRMED] * 9
