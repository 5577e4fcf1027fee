"""End to end: blocks applied to a real StateTree are batched, anchored through the poster on the
dev RPC, and an auditor verifies state proofs against the on-chain roots (issue 7, DESIGN §1, §8)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json

import pytest
from anchor_harness import CODE_HASH, PROOF_HASH
from prometheus_client import CollectorRegistry
from solders.account import Account
from solders.keypair import Keypair
from test_poster_harness import FAST_BACKOFF, PosterEnv

from batchposter import audit
from batchposter import program_abi as abi
from batchposter.batcher import BatchPolicy, BlockRecord, StateCertificate
from batchposter.poster import BatchPosterService, PosterConfig
from statetree import EMPTY_HASH, StateTree, derive_key
from statetree.txlog import TxLog

CHAIN_ID = "assetl2-e2e"
BLOCKS = 12
BLOCKS_PER_BATCH = 4


def vault(user: int) -> bytes:
    return derive_key("vault", f"user-{user}".encode(), "USDC")


def block_updates(height: int) -> dict[bytes, bytes | None]:
    """Deterministic synthetic blocks: deposits to a few vaults, one withdrawal-to-zero (delete)."""
    updates: dict[bytes, bytes | None] = {vault(height * 3 + i): f"{height}:{i}".encode() for i in range(3)}
    if height % 4 == 0:
        updates[vault(3)] = None  # user 3's vault (written at height 1) is emptied at height 4
    return updates


class OneNodeChain:
    """An executor stand-in: applies blocks to a StateTree and a TxLog, attests each root."""

    def __init__(self, tmp_path):
        self.tree = StateTree(str(tmp_path / "state"), sync=False)
        self.txlog = TxLog(str(tmp_path / "txlog.sqlite"))
        self.node_key = Keypair()
        self.executed: dict[int, tuple[BlockRecord, StateCertificate]] = {}

    def execute(self, height: int) -> tuple[BlockRecord, StateCertificate]:
        updates = block_updates(height)
        root = self.tree.apply(height, updates)
        tx_hashes = [hashlib.sha256(b"tx" + key + (value or b"")).digest() for key, value in sorted(
            updates.items(), key=lambda kv: kv[0])]
        size, log_root = self.txlog.append_block(tx_hashes)
        record = BlockRecord(height, 1_000 * height, root, size, log_root)
        self.executed[height] = (record, StateCertificate.attest(self.node_key, CHAIN_ID, height, root))
        return self.executed[height]

    def close(self) -> None:
        self.tree.close()
        self.txlog.close()


@pytest.fixture
async def anchored(program_elf, tmp_path):
    """A one-node chain of BLOCKS blocks, anchored in BLOCKS / BLOCKS_PER_BATCH batches."""
    env = await PosterEnv(program_elf, tmp_path, genesis_root=EMPTY_HASH).start()
    chain = OneNodeChain(tmp_path)
    config = PosterConfig(env.rpc.url, env.ledger.program_id, str(tmp_path / "outbox"), CODE_HASH, PROOF_HASH,
                          policy=BatchPolicy(max_blocks=BLOCKS_PER_BATCH, max_age_ms=60_000), poll_interval_s=0.02,
                          backoff=FAST_BACKOFF)
    service = BatchPosterService(config, env.poster_key, registry=CollectorRegistry())
    try:
        await service.start(timeout_s=10)
        assert service.next_height == 1
        for height in range(1, BLOCKS + 1):
            record, certificate = chain.execute(height)
            service.feed_block(record)
            service.feed_certificate(certificate)
        await service.poster.wait_confirmed(BLOCKS // BLOCKS_PER_BATCH, timeout_s=30)
        yield env, chain, service
    finally:
        await service.stop()
        chain.close()
        await env.close()


async def test_the_auditor_verifies_the_anchored_chain_and_state_proofs(anchored):
    env, chain, service = anchored
    assert service.status() == {"last_confirmed_batch": 3, "last_queued_batch": 3, "backlog_batches": 0,
                                "in_flight": 0, "next_height": BLOCKS + 1, "open_blocks": 0, "halted": None}
    report = await audit.verify_anchor(env.rpc.url, env.ledger.program_id)
    assert report.ok and report.problems == []
    assert (report.last_batch_index, report.last_height, report.batches_checked) == (3, 12, 3)
    assert report.last_state_root == chain.tree.root(12).hex()
    assert [env.batch_account(i).state_root for i in (1, 2, 3)] == [chain.tree.root(h) for h in (4, 8, 12)]

    # inclusion: user 25's vault was written at height 8 (8 * 3 + 1), the end of batch 2
    inclusion = audit.ProofClaim.from_tree(chain.tree, vault(25), 8)
    assert inclusion.value == b"8:1"
    report = await audit.verify_anchor(env.rpc.url, env.ledger.program_id, proof=inclusion)
    assert report.ok and report.proof.inclusion and report.proof.batch_index == 2

    # non-inclusion: user 3's vault was deleted at height 4; user 999 never existed
    for key in (vault(3), vault(999)):
        absent = audit.ProofClaim.from_tree(chain.tree, key, 12)
        assert absent.value is None
        report = await audit.verify_anchor(env.rpc.url, env.ledger.program_id, proof=absent)
        assert report.ok and not report.proof.inclusion and report.proof.batch_index == 3


async def test_the_auditor_rejects_a_tampered_proof_a_wrong_value_and_an_unanchored_height(anchored):
    env, chain, _ = anchored
    good = audit.ProofClaim.from_tree(chain.tree, vault(25), 8)
    tampered_bytes = bytearray(good.proof)
    tampered_bytes[-1] ^= 0x01
    cases = {
        "tampered proof": dataclasses.replace(good, proof=bytes(tampered_bytes)),
        "wrong value": dataclasses.replace(good, value=b"8:999"),
        "claimed absent": dataclasses.replace(good, value=None),
        "proof from another height": dataclasses.replace(good, proof=chain.tree.prove(vault(25), 12).to_bytes()),
    }
    for name, claim in cases.items():
        report = await audit.verify_anchor(env.rpc.url, env.ledger.program_id, proof=claim)
        assert report.chain_ok and not report.ok and not report.proof.ok, name
    mid_batch = audit.ProofClaim.from_tree(chain.tree, vault(25), 9)
    report = await audit.verify_anchor(env.rpc.url, env.ledger.program_id, proof=mid_batch)
    assert not report.ok and "height 12" in report.proof.detail
    beyond = dataclasses.replace(good, height=99)
    report = await audit.verify_anchor(env.rpc.url, env.ledger.program_id, proof=beyond)
    assert not report.ok and "no anchored batch" in report.proof.detail


async def test_the_auditor_reports_a_broken_chain_of_batches(anchored):
    env, _, _ = anchored
    address = abi.batch_address(env.ledger.program_id, 2)
    account = env.ledger.svm.get_account(address)
    data = bytearray(account.data)
    offset = abi.BatchAccount.LAYOUT.size - 6 * 32  # prev_state_root
    data[offset] ^= 0xFF
    env.ledger.svm.set_account(address, Account(account.lamports, bytes(data), account.owner, account.executable,
                                                account.rent_epoch))
    report = await audit.verify_anchor(env.rpc.url, env.ledger.program_id)
    assert not report.ok
    assert report.problems == ["batch 2: prev_state_root is not batch 1's state root"]


async def test_verify_anchor_cli_reads_a_proof_file_and_sets_the_exit_code(anchored, tmp_path):
    env, chain, _ = anchored
    good = tmp_path / "good.json"
    good.write_text(json.dumps(audit.ProofClaim.from_tree(chain.tree, vault(25), 8).to_json()))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(dict(audit.ProofClaim.from_tree(chain.tree, vault(25), 8).to_json(), value="00")))
    args = ["--rpc", env.rpc.url, "--program-id", str(env.ledger.program_id)]
    assert await asyncio.to_thread(audit.main, args + ["--proof", str(good)]) == 0
    assert await asyncio.to_thread(audit.main, args + ["--proof", str(bad), "--json"]) == 1
    assert await asyncio.to_thread(audit.main, args + ["--proof", str(tmp_path / "missing.json")]) == 2
    assert await asyncio.to_thread(audit.main, ["--rpc", "http://127.0.0.1:9", "--program-id",
                                                str(env.ledger.program_id)]) == 3


def test_an_unreachable_rpc_is_reported_in_one_readable_line(capsys):
    assert audit.main(["--rpc", "http://127.0.0.1:9"]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("verify-anchor: cannot read the anchor from http://127.0.0.1:9:") and "\n" not in err
    assert "<class" not in err and "solana-dev" in err, err


async def test_a_restarted_service_resumes_at_the_next_height_and_anchors_a_heartbeat(anchored):
    env, chain, service = anchored
    await service.stop()
    config = dataclasses.replace(service.config, policy=BatchPolicy(max_blocks=BLOCKS_PER_BATCH, max_age_ms=60_000,
                                                                    heartbeat_ms=5_000))
    again = BatchPosterService(config, env.poster_key, registry=CollectorRegistry())
    try:
        await again.start(timeout_s=10)
        assert again.next_height == BLOCKS + 1
        for height in range(9, 17):  # the node replays from an older height; batched blocks are ignored
            record, certificate = chain.executed.get(height) or chain.execute(height)
            again.feed_block(record)
            again.feed_certificate(certificate)
        assert again.tick(16_000 + 4_999) == []
        [heartbeat] = again.tick(16_000 + 5_000)
        assert heartbeat.is_heartbeat and heartbeat.header.batch_index == 5
        await again.poster.wait_confirmed(5, timeout_s=20)
    finally:
        await again.stop()
    assert [(b.first_height, b.last_height) for b in map(env.batch_account, (4, 5))] == [(13, 16), (17, 16)]
    assert env.batch_account(5).state_root == chain.tree.root(16)
    report = await audit.verify_anchor(env.rpc.url, env.ledger.program_id)
    assert report.ok and report.last_batch_index == 5 and report.last_height == 16


async def test_closed_batch_accounts_are_reported_and_the_rest_still_verifies(anchored):
    env, chain, _ = anchored
    from batchposter import svm_deploy

    authority = env.ledger.upgrade_authority
    svm_deploy.send(env.ledger.svm, authority,
                    [abi.close_batch_ix(env.ledger.program_id, authority.pubkey(), 1, authority.pubkey())])
    report = await audit.verify_anchor(env.rpc.url, env.ledger.program_id,
                                       proof=audit.ProofClaim.from_tree(chain.tree, vault(25), 8))
    assert report.ok and report.batches_closed == [1] and report.batches_checked == 2
    closed = audit.ProofClaim.from_tree(chain.tree, vault(5), 4)  # batch 1 ends at height 4
    report = await audit.verify_anchor(env.rpc.url, env.ledger.program_id, proof=closed)
    assert report.chain_ok and not report.proof.ok and "closed" in report.proof.detail
