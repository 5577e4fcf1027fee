"""The poster's Solana client against the dev RPC: confirm, re-post, expiry, outages, empty wallet (DESIGN §8)."""

from __future__ import annotations

import dataclasses

import pytest
from anchor_harness import CODE_HASH, CONFIG_HASH, GENESIS_ROOT, PROOF_HASH, SOL, h
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Finalized
from solders.compute_budget import ID as COMPUTE_BUDGET_ID
from solders.hash import Hash
from solders.keypair import Keypair
from solders.transaction_status import TransactionConfirmationStatus

from batchposter import devrpc
from batchposter import program_abi as abi
from batchposter import solana_client as sc
from batchposter.program_abi import ErrorCode as E

FINALITY_DEPTH = 4
SLOTS_PER_POLL = 40  # the fake sleep lets this many slots pass: expiry within a few polls


def header(index: int, prev_root: bytes = GENESIS_ROOT, first: int = 1) -> abi.BatchHeader:
    return abi.BatchHeader(index, first, first + 9, prev_root, h(f"root-{index}"), 10 * index, h(f"log-{index}"),
                           CODE_HASH, PROOF_HASH)


def make_ledger(program_elf, poster: Keypair | None, lamports: int = 10 * SOL) -> devrpc.DevLedger:
    ledger = devrpc.DevLedger(program_elf, finality_depth=FINALITY_DEPTH)
    if poster is not None:
        airdrops = {poster.pubkey(): lamports} if lamports else {}
        devrpc.apply_setup(ledger, devrpc.DevSetup(poster=poster.pubkey(), genesis_state_root=GENESIS_ROOT,
                                                   programs=[(CODE_HASH, PROOF_HASH, CONFIG_HASH)], airdrops=airdrops))
    return ledger


class Env:
    """A dev RPC whose slots pass only while the client sleeps: deterministic confirmation and expiry."""

    def __init__(self, ledger: devrpc.DevLedger, rpc: devrpc.DevRpc, poster: Keypair):
        self.ledger, self.rpc, self.poster = ledger, rpc, poster
        self.client = AsyncClient(rpc.url)

    async def fake_sleep(self, _seconds: float) -> None:
        for _ in range(SLOTS_PER_POLL):
            self.ledger.advance_slot()

    def anchor_client(self, **kwargs) -> sc.SolanaAnchorClient:
        kwargs.setdefault("poll_interval_s", 0)
        kwargs.setdefault("rebroadcast_interval_s", 3600)
        kwargs.setdefault("sleep", self.fake_sleep)
        return sc.SolanaAnchorClient(self.client, self.ledger.program_id, self.poster, **kwargs)


async def _env(program_elf, poster: Keypair, lamports: int = 10 * SOL):
    ledger = make_ledger(program_elf, poster, lamports)
    rpc = await devrpc.DevRpc(ledger, slot_ms=0).start()
    env = Env(ledger, rpc, poster)
    return env


@pytest.fixture
async def env(program_elf):
    env = await _env(program_elf, Keypair())
    yield env
    await env.client.close()
    await env.rpc.stop()


# ---------------------------------------------------------------------------------------
# fee policy and transaction shape (no RPC)
# ---------------------------------------------------------------------------------------


def test_priority_fee_escalates_on_schedule_up_to_the_cap():
    fees = sc.FeePolicy(start_micro_lamports_per_cu=1_000, escalation_bps=20_000, cap_micro_lamports_per_cu=7_000)
    assert [fees.price(a) for a in range(5)] == [1_000, 2_000, 4_000, 7_000, 7_000]
    assert fees.fee_lamports(0) == 5_000 + 10  # 10k CU at 1000 µlamports/CU


def test_post_batch_transaction_sets_cu_limit_and_price_before_the_anchor_instruction():
    poster = Keypair()
    client = sc.SolanaAnchorClient(AsyncClient("http://127.0.0.1:1"), Keypair().pubkey(), poster)
    tx = client.build_post_batch(header(1), Hash.default(), attempt=2)
    msg = tx.message
    programs = [msg.account_keys[ix.program_id_index] for ix in msg.instructions]
    assert programs[:2] == [COMPUTE_BUDGET_ID, COMPUTE_BUDGET_ID] and programs[2] == client.program_id
    limit_ix, price_ix, _ = msg.instructions
    assert int.from_bytes(bytes(limit_ix.data)[1:5], "little") == sc.POST_BATCH_COMPUTE_UNIT_LIMIT
    assert int.from_bytes(bytes(price_ix.data)[1:9], "little") == client.fees.price(2)
    assert tx.signatures[0] == poster.sign_message(bytes(msg))


# ---------------------------------------------------------------------------------------
# against the dev RPC
# ---------------------------------------------------------------------------------------


async def test_post_batch_confirms_and_the_chain_tip_advances(env):
    client = env.anchor_client()
    result = await client.post_batch(header(1))
    assert (result.outcome, result.batch_index, result.attempts) == (sc.PostOutcome.CONFIRMED, 1, 1)
    assert result.fee_lamports == client.fees.fee_lamports(0)
    assert (await client.read_batch(1)).header() == header(1)
    config = await client.read_config()
    assert (config.last_batch_index, config.last_state_root) == (1, h("root-1"))
    second = await client.post_batch(header(2, h("root-1"), 11))
    assert second.outcome == sc.PostOutcome.CONFIRMED and (await client.read_config()).last_batch_index == 2


async def test_batches_can_be_in_flight_together_and_confirm_in_order(env):
    client = env.anchor_client()
    first = await client.send_post_batch(header(1))
    second = await client.send_post_batch(header(2, h("root-1"), 11))
    assert (await client.status(second)).state == sc.SubmissionState.PENDING
    env.ledger.advance_slot()
    states = [(await client.status(s)).state for s in (first, second)]
    assert states == [sc.SubmissionState.CONFIRMED, sc.SubmissionState.CONFIRMED]
    assert (await client.read_config()).last_batch_index == 2


async def test_reposting_an_anchored_batch_is_a_no_op(env):
    client = env.anchor_client()
    await client.post_batch(header(1))
    balance = await client.wallet_balance()
    again = await client.post_batch(header(1))
    assert again.outcome == sc.PostOutcome.ALREADY_POSTED and again.fee_lamports == 0
    assert await client.wallet_balance() == balance
    assert (await client.read_config()).last_batch_index == 1


async def test_reposting_a_closed_batch_is_a_no_op(env):
    client = env.anchor_client()
    await client.post_batch(header(1))
    await client.post_batch(header(2, h("root-1"), 11))
    authority = env.ledger.upgrade_authority
    from batchposter import svm_deploy

    svm_deploy.send(env.ledger.svm, authority,
                    [abi.close_batch_ix(env.ledger.program_id, authority.pubkey(), 1, authority.pubkey())])
    assert await client.read_batch(1) is None
    again = await client.post_batch(header(1))
    assert again.outcome == sc.PostOutcome.ALREADY_POSTED


async def test_a_different_batch_at_an_anchored_index_is_a_conflict(env):
    client = env.anchor_client()
    await client.post_batch(header(1))
    forked = dataclasses.replace(header(1), state_root=h("forked-root"))
    with pytest.raises(sc.BatchConflict) as info:
        await client.post_batch(forked)
    assert info.value.kind == "conflict"


async def test_an_out_of_order_batch_stops_with_the_program_error(env):
    client = env.anchor_client()
    with pytest.raises(sc.AnchorProgramError) as info:
        await client.post_batch(header(2))
    assert info.value.code == E.BATCH_INDEX_GAP and info.value.kind == "program"


async def test_expired_signing_is_resigned_with_a_fresh_blockhash_and_higher_fee(env):
    client = env.anchor_client()
    env.rpc.faults.drop_transactions = 1  # the first signing never lands
    result = await client.post_batch(header(1))
    assert (result.outcome, result.attempts) == (sc.PostOutcome.CONFIRMED, 2)
    assert result.fee_lamports == client.fees.fee_lamports(1) > client.fees.fee_lamports(0)
    landed = (await env.client.get_transaction(result.signature, encoding="base64")).value.transaction.transaction
    price_ix = landed.message.instructions[1]
    assert int.from_bytes(bytes(price_ix.data)[1:9], "little") == client.fees.price(1)


async def test_dropped_transaction_lands_by_rebroadcast_before_expiry(env):
    client = env.anchor_client(rebroadcast_interval_s=0)
    env.rpc.faults.drop_transactions = 1
    result = await client.post_batch(header(1))
    assert (result.outcome, result.attempts) == (sc.PostOutcome.CONFIRMED, 1)


async def test_every_signing_expiring_is_a_confirmation_timeout(env):
    client = env.anchor_client()
    env.rpc.faults.drop_transactions = 3
    with pytest.raises(sc.ConfirmationTimeout):
        await client.post_batch(header(1), max_signings=3)
    assert await client.read_batch(1) is None
    assert (await client.post_batch(header(1))).outcome == sc.PostOutcome.CONFIRMED


async def test_rpc_errors_and_outage_are_retryable_then_posting_resumes(env):
    client = env.anchor_client()
    env.rpc.faults.fail_next["getLatestBlockhash"] = 1
    with pytest.raises(sc.RpcUnavailable) as info:
        await client.post_batch(header(1))
    assert info.value.kind == "rpc"
    port = env.rpc.port
    await env.rpc.stop()
    with pytest.raises(sc.RpcUnavailable):
        await client.read_config()
    await env.rpc.start("127.0.0.1", port)
    assert (await client.post_batch(header(1))).outcome == sc.PostOutcome.CONFIRMED


async def test_finalized_commitment_waits_for_finality(env):
    client = env.anchor_client(commitment=Finalized)
    result = await client.post_batch(header(1))
    status = (await env.client.get_signature_statuses([result.signature])).value[0]
    assert status.confirmation_status == TransactionConfirmationStatus.Finalized


@pytest.mark.parametrize("lamports", [0, 1_000_000], ids=["no-account", "fee-but-no-rent"])
async def test_an_empty_wallet_is_reported_not_crashed(program_elf, lamports):
    env = await _env(program_elf, Keypair(), lamports)
    try:
        client = env.anchor_client()
        with pytest.raises(sc.WalletEmpty) as info:
            await client.post_batch(header(1))
        assert info.value.kind == "wallet"
        assert await client.batch_cost_lamports() > await client.wallet_balance()
    finally:
        await env.client.close()
        await env.rpc.stop()


async def test_an_uninitialized_anchor_is_reported(program_elf):
    ledger = make_ledger(program_elf, None)
    async with await devrpc.DevRpc(ledger, slot_ms=0).start() as rpc:
        async with AsyncClient(rpc.url) as rpc_client:
            client = sc.SolanaAnchorClient(rpc_client, ledger.program_id, Keypair())
            with pytest.raises(sc.AnchorNotInitialized):
                await client.read_config()
