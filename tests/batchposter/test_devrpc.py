"""The dev Solana RPC answers solana-py's AsyncClient like a validator would (DESIGN §8)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

import aiohttp
import pytest
from anchor_harness import CODE_HASH, CONFIG_HASH, GENESIS_ROOT, PROOF_HASH, SOL, h
from solana.rpc.async_api import AsyncClient
from solana.rpc.core import RPCException
from solana.rpc.models import TxOpts
from solana.rpc.models import MemcmpOpts
from solders.keypair import Keypair
from solders.message import Message
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.transaction import Transaction
from solders.transaction_status import TransactionConfirmationStatus

from batchposter import devrpc
from batchposter import program_abi as abi
from batchposter.program_abi import ErrorCode as E

FINALITY_DEPTH = 4
SKIP_PREFLIGHT = TxOpts(skip_preflight=True)


@pytest.fixture
def poster() -> Keypair:
    return Keypair()


@pytest.fixture
def ledger(program_elf, poster) -> devrpc.DevLedger:
    ledger = devrpc.DevLedger(program_elf, finality_depth=FINALITY_DEPTH)
    devrpc.apply_setup(
        ledger,
        devrpc.DevSetup(
            poster=poster.pubkey(),
            genesis_state_root=GENESIS_ROOT,
            programs=[(CODE_HASH, PROOF_HASH, CONFIG_HASH)],
            airdrops={poster.pubkey(): 10 * SOL},
        ),
    )
    return ledger


@pytest.fixture
async def rpc(ledger):
    """Slots advance only when a test says so (slot_ms=0): confirmation is deterministic."""
    server = await devrpc.DevRpc(ledger, slot_ms=0).start("127.0.0.1", 0)
    yield server
    await server.stop()


@pytest.fixture
async def client(rpc):
    c = AsyncClient(rpc.url)
    yield c
    await c.close()


def header(index: int, prev_root: bytes = GENESIS_ROOT, first: int = 1) -> abi.BatchHeader:
    return abi.BatchHeader(index, first, first + 9, prev_root, h(f"root-{index}"), 10 * index, h(f"log-{index}"),
                           CODE_HASH, PROOF_HASH)


async def signed_post(client: AsyncClient, rpc: devrpc.DevRpc, poster: Keypair, hdr: abi.BatchHeader) -> Transaction:
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    ix = abi.post_batch_ix(rpc.ledger.program_id, poster.pubkey(), hdr)
    return Transaction([poster], Message([ix], poster.pubkey()), blockhash)


async def test_latest_blockhash_carries_slot_and_last_valid_height(client, rpc):
    resp = await client.get_latest_blockhash()
    assert resp.context.slot == rpc.ledger.slot
    assert resp.value.blockhash == rpc.ledger.svm.latest_blockhash()
    assert resp.value.last_valid_block_height == rpc.ledger.block_height + devrpc.BLOCKHASH_VALIDITY_BLOCKS
    assert (await client.get_block_height()).value == rpc.ledger.block_height
    assert (await client.get_slot()).value == rpc.ledger.slot


async def test_post_batch_is_confirmed_and_reads_back(client, rpc, poster):
    tx = await signed_post(client, rpc, poster, header(1))
    sig = (await client.send_raw_transaction(bytes(tx))).value
    status = (await client.get_signature_statuses([sig])).value[0]
    assert status.confirmation_status == TransactionConfirmationStatus.Processed and status.err is None
    rpc.ledger.advance_slot()
    status = (await client.get_signature_statuses([sig])).value[0]
    assert status.confirmation_status == TransactionConfirmationStatus.Confirmed and status.confirmations == 1
    account = (await client.get_account_info(abi.batch_address(rpc.ledger.program_id, 1))).value
    assert account.owner == rpc.ledger.program_id
    assert abi.BatchAccount.decode(account.data).header() == header(1)
    config = (await client.get_account_info(abi.config_address(rpc.ledger.program_id)[0])).value
    assert abi.ConfigAccount.decode(config.data).last_batch_index == 1


async def test_status_reaches_finalized_after_the_finality_depth(client, rpc, poster):
    sig = (await client.send_raw_transaction(bytes(await signed_post(client, rpc, poster, header(1))))).value
    for _ in range(FINALITY_DEPTH):
        rpc.ledger.advance_slot()
    status = (await client.get_signature_statuses([sig])).value[0]
    assert status.confirmation_status == TransactionConfirmationStatus.Finalized and status.confirmations is None


async def test_unknown_signature_has_no_status(client, rpc, poster):
    tx = await signed_post(client, rpc, poster, header(1))
    assert (await client.get_signature_statuses([tx.signatures[0]])).value == [None]


async def test_preflight_refuses_a_failing_post_with_the_program_error(client, rpc, poster):
    tx = await signed_post(client, rpc, poster, header(2))  # gap: index 1 is next
    with pytest.raises(RPCException) as info:
        await client.send_raw_transaction(bytes(tx))
    failure = info.value.args[0]
    assert isinstance(failure, SendTransactionPreflightFailureMessage)
    assert abi.error_code_of(failure.data.err) == E.BATCH_INDEX_GAP
    assert any("PostBatch" in line for line in failure.data.logs)
    assert (await client.get_signature_statuses([tx.signatures[0]])).value == [None]


async def test_skip_preflight_failure_lands_with_its_error(client, rpc, poster):
    await client.send_raw_transaction(bytes(await signed_post(client, rpc, poster, header(1))))
    rpc.ledger.advance_slot()
    repost = await signed_post(client, rpc, poster, header(1))
    sig = (await client.send_raw_transaction(bytes(repost), SKIP_PREFLIGHT)).value
    status = (await client.get_signature_statuses([sig])).value[0]
    assert abi.error_code_of(status.err) == E.BATCH_ALREADY_POSTED


async def test_resending_the_same_transaction_lands_it_once(client, rpc, poster):
    tx = bytes(await signed_post(client, rpc, poster, header(1)))
    first = (await client.send_raw_transaction(tx)).value
    second = (await client.send_raw_transaction(tx)).value
    assert first == second
    assert (await client.get_signature_statuses([first])).value[0].err is None


async def test_expired_blockhash_is_refused_then_a_fresh_one_lands(client, rpc, poster):
    stale = await signed_post(client, rpc, poster, header(1))
    for _ in range(devrpc.BLOCKHASH_VALIDITY_BLOCKS + 1):
        rpc.ledger.advance_slot()
    with pytest.raises(RPCException) as info:
        await client.send_raw_transaction(bytes(stale))
    assert "Blockhash not found" in info.value.args[0].message
    dropped = (await client.send_raw_transaction(bytes(stale), SKIP_PREFLIGHT)).value
    assert (await client.get_signature_statuses([dropped])).value == [None]
    fresh = await signed_post(client, rpc, poster, header(1))
    sig = (await client.send_raw_transaction(bytes(fresh))).value
    assert (await client.get_signature_statuses([sig])).value[0].err is None


async def test_blockhash_stays_valid_within_its_window(client, rpc, poster):
    tx = await signed_post(client, rpc, poster, header(1))
    for _ in range(devrpc.BLOCKHASH_VALIDITY_BLOCKS - 1):
        rpc.ledger.advance_slot()
    sig = (await client.send_raw_transaction(bytes(tx))).value
    assert (await client.get_signature_statuses([sig])).value[0].err is None


async def test_balance_and_rent_answers_match_the_ledger(client, rpc, poster):
    balance = await client.get_balance(poster.pubkey())
    assert balance.value == 10 * SOL and balance.context.slot == rpc.ledger.slot
    rent = (await client.get_minimum_balance_for_rent_exemption(abi.BatchAccount.SIZE)).value
    assert rent == rpc.ledger.svm.minimum_balance_for_rent_exemption(abi.BatchAccount.SIZE)
    await client.send_raw_transaction(bytes(await signed_post(client, rpc, poster, header(1))))
    after = (await client.get_balance(poster.pubkey())).value
    assert after == 10 * SOL - rent - 5000  # batch rent + one signature fee


async def test_missing_account_is_null(client):
    resp = await client.get_account_info(Keypair().pubkey())
    assert resp.value is None and resp.context.slot > 0


async def test_airdrop_funds_a_new_wallet(client):
    wallet = Keypair().pubkey()
    sig = (await client.request_airdrop(wallet, 2 * SOL)).value
    assert (await client.get_signature_statuses([sig])).value[0].err is None
    assert (await client.get_balance(wallet)).value == 2 * SOL


async def test_get_transaction_returns_logs_and_compute_units(client, rpc, poster):
    sig = (await client.send_raw_transaction(bytes(await signed_post(client, rpc, poster, header(1))))).value
    for encoding in ("base64", "json"):
        tx = (await client.get_transaction(sig, encoding=encoding)).value
        meta = tx.transaction.meta
        assert meta.err is None and 0 < meta.compute_units_consumed <= 10_000
        assert "Program log: Instruction: PostBatch" in meta.log_messages
    assert (await client.get_transaction(Keypair().sign_message(b"x"))).value is None


async def test_program_accounts_filter_batches_by_discriminator(client, rpc, poster):
    await client.send_raw_transaction(bytes(await signed_post(client, rpc, poster, header(1))))
    rpc.ledger.advance_slot()
    await client.send_raw_transaction(bytes(await signed_post(client, rpc, poster, header(2, h("root-1"), 11))))
    batch_disc = devrpc.b58encode(abi.account_discriminator("Batch"))
    resp = await client.get_program_accounts(
        rpc.ledger.program_id, filters=[MemcmpOpts(offset=0, bytes=batch_disc)], encoding="base64"
    )
    indices = sorted(abi.BatchAccount.decode(item.account.data).batch_index for item in resp.value)
    assert indices == [1, 2]
    everything = await client.get_program_accounts(rpc.ledger.program_id)
    assert len(everything.value) == 4  # config, one registered pair, two batches


async def _raw(url: str, payload) -> dict:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=payload) as resp:
            return await resp.json()


async def test_health_version_and_unknown_methods(rpc):
    assert (await _raw(rpc.url, {"jsonrpc": "2.0", "id": 1, "method": "getHealth"}))["result"] == "ok"
    version = (await _raw(rpc.url, {"jsonrpc": "2.0", "id": 2, "method": "getVersion"}))["result"]
    assert "solana-core" in version
    reply = await _raw(rpc.url, {"jsonrpc": "2.0", "id": 3, "method": "getClusterNodes"})
    assert reply["error"]["code"] == devrpc.JSONRPC_METHOD_NOT_FOUND and reply["id"] == 3
    batch = await _raw(rpc.url, [{"jsonrpc": "2.0", "id": 4, "method": "getSlot"}, {"jsonrpc": "2.0", "id": 5}])
    assert batch[0]["result"] == rpc.ledger.slot and batch[1]["error"]["code"] == devrpc.JSONRPC_INVALID_REQUEST


async def test_injected_faults_fail_then_recover(client, rpc):
    rpc.faults.fail_next["getLatestBlockhash"] = 2
    for _ in range(2):
        with pytest.raises(RPCException):
            await client.get_latest_blockhash()
    assert (await client.get_latest_blockhash()).value.blockhash == rpc.ledger.svm.latest_blockhash()


async def test_dropped_transaction_never_lands(client, rpc, poster):
    rpc.faults.drop_transactions = 1
    sig = (await client.send_raw_transaction(bytes(await signed_post(client, rpc, poster, header(1))))).value
    rpc.ledger.advance_slot()
    assert (await client.get_signature_statuses([sig])).value == [None]
    assert rpc.ledger.svm.get_account(abi.batch_address(rpc.ledger.program_id, 1)) is None


async def test_restarted_server_keeps_the_ledger(client, rpc, poster):
    sig = (await client.send_raw_transaction(bytes(await signed_post(client, rpc, poster, header(1))))).value
    port = rpc.port
    await rpc.stop()
    with pytest.raises(Exception):
        await client.get_slot()
    await rpc.start("127.0.0.1", port)
    assert (await client.get_signature_statuses([sig])).value[0].err is None


async def test_slot_clock_advances_and_confirms_on_its_own(ledger, poster):
    async with await devrpc.DevRpc(ledger, slot_ms=5).start() as rpc:
        async with AsyncClient(rpc.url) as client:
            sig = (await client.send_raw_transaction(bytes(await signed_post(client, rpc, poster, header(1))))).value
            for _ in range(200):
                status = (await client.get_signature_statuses([sig])).value[0]
                if status.confirmation_status != TransactionConfirmationStatus.Processed:
                    break
                await asyncio.sleep(0.005)
            assert status.confirmation_status in (TransactionConfirmationStatus.Confirmed,
                                                  TransactionConfirmationStatus.Finalized)


def test_setup_initializes_the_anchor_and_registers_pairs(ledger, poster):
    cfg = abi.ConfigAccount.decode(bytes(ledger.svm.get_account(abi.config_address(ledger.program_id)[0]).data))
    assert (cfg.poster, cfg.authority, cfg.last_state_root) == (
        poster.pubkey(), devrpc.dev_authority_keypair().pubkey(), GENESIS_ROOT)
    entry = ledger.svm.get_account(abi.registered_program_address(ledger.program_id, CODE_HASH, PROOF_HASH)[0])
    assert abi.RegisteredProgramAccount.decode(bytes(entry.data)).config_hash == CONFIG_HASH
    assert ledger.program_id == abi.dev_program_keypair().pubkey()


def test_solana_dev_command_serves_and_stops_on_sigint(program_elf, tmp_path):
    so = tmp_path / "anchor.so"
    so.write_bytes(program_elf)
    poster = Keypair().pubkey()
    proc = subprocess.Popen(
        [sys.executable, "-m", "batchposter.devrpc", "--port", "0", "--program-so", str(so), "--poster", str(poster),
         "--register", f"{CODE_HASH.hex()}:{PROOF_HASH.hex()}:{CONFIG_HASH.hex()}", "--airdrop", f"{poster}=3"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("solana-dev: listening on http://127.0.0.1:"), line
        url = line.split()[3]
        assert line.split("program=")[1].strip() == str(abi.dev_program_keypair().pubkey())

        async def probe():
            async with AsyncClient(url) as c:
                return (await c.get_balance(poster)).value

        assert asyncio.run(probe()) == 3 * SOL
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_solana_dev_command_reports_a_busy_port(program_elf, tmp_path):
    import socket

    so = tmp_path / "anchor.so"
    so.write_bytes(program_elf)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "batchposter.devrpc", "--port", str(port), "--program-so", str(so)],
            capture_output=True, text=True, timeout=60,
        )
    assert proc.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stdout
