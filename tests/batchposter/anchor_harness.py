"""Test harness for the anchor program and the dev RPC: build once, deploy for real per test."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata

from batchposter import program_abi as abi
from batchposter import svm_deploy

SOL = 1_000_000_000


def h(label: str) -> bytes:
    """A readable 32-byte hash for test data."""
    return hashlib.sha256(label.encode()).digest()


GENESIS_ROOT = h("genesis-root")
CODE_HASH = h("code")
PROOF_HASH = h("proof")
CONFIG_HASH = h("config")


@pytest.fixture(scope="session")
def program_elf() -> bytes:
    """The program as CI builds it from a fresh clone (clang-14 + sbpf_link), once per session."""
    path = svm_deploy.build_program()
    return path.read_bytes()


@dataclass
class Anchor:
    """A LiteSVM with the program deployed through the upgradeable loader and initialized."""

    svm: LiteSVM
    program_id: Pubkey
    authority: Keypair
    poster: Keypair
    results: list = field(default_factory=list)

    def funded(self, lamports: int = 10 * SOL) -> Keypair:
        kp = Keypair()
        self.svm.airdrop(kp.pubkey(), lamports)
        return kp

    def run(self, instructions: list[Instruction], payer: Keypair, *signers: Keypair):
        """Send as a fresh transaction (new blockhash, so an identical re-send is not deduplicated)."""
        self.svm.expire_blockhash()
        keypairs = [payer, *[s for s in signers if s.pubkey() != payer.pubkey()]]
        tx = Transaction(keypairs, Message(instructions, payer.pubkey()), self.svm.latest_blockhash())
        result = self.svm.send_transaction(tx)
        self.results.append(result)
        return result

    def ok(self, instructions: list[Instruction], payer: Keypair, *signers: Keypair):
        result = self.run(instructions, payer, *signers)
        assert not isinstance(result, FailedTransactionMetadata), (result.err(), result.meta().logs())
        return result

    def fails_with(self, code: abi.ErrorCode, instructions: list[Instruction], payer: Keypair, *signers: Keypair):
        result = self.run(instructions, payer, *signers)
        assert isinstance(result, FailedTransactionMetadata), "transaction unexpectedly succeeded"
        assert abi.error_code_of(result.err()) == code, (result.err(), result.meta().logs())
        return result

    def config(self) -> abi.ConfigAccount:
        return abi.ConfigAccount.decode(bytes(self.svm.get_account(abi.config_address(self.program_id)[0]).data))

    def batch(self, index: int) -> abi.BatchAccount | None:
        account = self.svm.get_account(abi.batch_address(self.program_id, index))
        if account is None or len(account.data) == 0:
            return None
        return abi.BatchAccount.decode(bytes(account.data))

    def header(self, index: int, **overrides) -> abi.BatchHeader:
        """The valid next batch after the current config tip (ten blocks, ten log entries)."""
        cfg = self.config()
        first = cfg.last_height + 1 if cfg.last_batch_index else 1
        fields = dict(
            batch_index=index,
            first_height=first,
            last_height=first + 9,
            prev_state_root=cfg.last_state_root,
            state_root=h(f"root-{index}"),
            tx_log_size=cfg.tx_log_size + 10,
            tx_log_root=h(f"log-{index}"),
            code_hash=CODE_HASH,
            proof_hash=PROOF_HASH,
        )
        fields.update(overrides)
        return abi.BatchHeader(**fields)

    def post(self, header: abi.BatchHeader, poster: Keypair | None = None):
        poster = poster or self.poster
        return self.run([abi.post_batch_ix(self.program_id, poster.pubkey(), header)], poster)


def deploy(program_elf: bytes, mainnet_features: bool = False) -> tuple[LiteSVM, Pubkey, Keypair]:
    svm = LiteSVM().with_mainnet_features() if mainnet_features else LiteSVM()
    deployer = Keypair()
    svm.airdrop(deployer.pubkey(), 100 * SOL)
    program_id = svm_deploy.deploy_upgradeable(svm, deployer, Keypair(), program_elf)
    return svm, program_id, deployer


@pytest.fixture
def deployed(program_elf):
    """Deployed but not initialized: (svm, program_id, upgrade authority)."""
    return deploy(program_elf)


@pytest.fixture
def anchor(deployed) -> Anchor:
    """Deployed, initialized (deployer = authority) and one program pair registered."""
    svm, program_id, deployer = deployed
    poster = Keypair()
    svm.airdrop(poster.pubkey(), 10 * SOL)
    a = Anchor(svm, program_id, deployer, poster)
    a.ok([abi.initialize_ix(program_id, deployer.pubkey(), deployer.pubkey(), poster.pubkey(), GENESIS_ROOT)], deployer)
    a.ok([abi.register_program_ix(program_id, deployer.pubkey(), CODE_HASH, PROOF_HASH, CONFIG_HASH)], deployer)
    return a
