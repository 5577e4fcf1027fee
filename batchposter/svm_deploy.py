"""Deploying the anchor program into a LiteSVM the way a real cluster does (DESIGN §8).

Tests and the dev RPC (`devrpc.py`) go through the upgradeable loader — create a buffer,
write the ELF in transaction-sized chunks, deploy — rather than `LiteSVM.add_program`, so
the program runs with a real ProgramData account whose upgrade authority `initialize`
checks.  Also finds (and in a source checkout, builds) the program's ELF.
"""

from __future__ import annotations

import importlib.util
import os
import struct
from pathlib import Path
from typing import Sequence

from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.system_program import CreateAccountParams, create_account
from solders.sysvar import CLOCK, RENT
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata

from batchposter.program_abi import UPGRADEABLE_LOADER_ID, program_data_address

PROGRAM_ELF_ENV = "ASSETL2_ANCHOR_SO"
REPO_ROOT = Path(__file__).resolve().parent.parent
PROGRAM_DIR = REPO_ROOT / "deploy" / "program"
DEFAULT_ELF_PATH = PROGRAM_DIR / "build" / "assetl2_anchor.so"

# bincode tags and header sizes of UpgradeableLoaderInstruction / UpgradeableLoaderState
LOADER_INITIALIZE_BUFFER = 0
LOADER_WRITE = 1
LOADER_DEPLOY_WITH_MAX_DATA_LEN = 2
BUFFER_HEADER_LEN = 37
PROGRAM_ACCOUNT_LEN = 36
PROGRAM_DATA_HEADER_LEN = 45
# Write payload per transaction: a 1232-byte packet minus signature, keys and headers.
WRITE_CHUNK_LEN = 900


class DeployError(RuntimeError):
    """A deploy transaction failed in the SVM."""


def program_elf(path: Path | None = None, build_if_missing: bool = True) -> bytes:
    """The anchor program's ELF: `path`, else $ASSETL2_ANCHOR_SO, else deploy/program/build/.

    In a source checkout a missing build is produced with deploy/program/build.py, so a
    fresh clone (CI) needs nothing but clang-14.
    """
    candidate = path or (Path(os.environ[PROGRAM_ELF_ENV]) if os.environ.get(PROGRAM_ELF_ENV) else DEFAULT_ELF_PATH)
    if not candidate.exists() and build_if_missing and candidate == DEFAULT_ELF_PATH:
        build_program()
    return candidate.read_bytes()


def build_program(out_dir: Path | None = None) -> Path:
    """Run deploy/program/build.py (compile + link) and return the path of the .so."""
    spec = importlib.util.spec_from_file_location("assetl2_program_build", PROGRAM_DIR / "build.py")
    if spec is None or spec.loader is None:
        raise DeployError(f"no build script at {PROGRAM_DIR}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build(out_dir) if out_dir else module.build()


def send(svm: LiteSVM, payer: Keypair, instructions: list[Instruction], signers: Sequence[Keypair] = ()):
    """Sign with payer (+ signers) on the latest blockhash and process; raise on failure."""
    keypairs = [payer, *[s for s in signers if s.pubkey() != payer.pubkey()]]
    tx = Transaction(keypairs, Message(instructions, payer.pubkey()), svm.latest_blockhash())
    result = svm.send_transaction(tx)
    if isinstance(result, FailedTransactionMetadata):
        raise DeployError(f"{result.err()}: {result.meta().logs()}")
    return result


def deploy_upgradeable(
    svm: LiteSVM, payer: Keypair, program: Keypair, elf: bytes, authority: Keypair | None = None
) -> Pubkey:
    """Deploy `elf` at `program`'s address with `authority` (default payer) as upgrade authority.

    Afterwards the clock is warped one slot ahead: a program deployed in slot N can only be
    invoked from slot N + 1.
    """
    authority = authority or payer
    buffer = Keypair()
    rent_buffer = svm.minimum_balance_for_rent_exemption(BUFFER_HEADER_LEN + len(elf))
    send(
        svm,
        payer,
        [
            create_account(
                CreateAccountParams(
                    from_pubkey=payer.pubkey(),
                    to_pubkey=buffer.pubkey(),
                    lamports=rent_buffer,
                    space=BUFFER_HEADER_LEN + len(elf),
                    owner=UPGRADEABLE_LOADER_ID,
                )
            ),
            Instruction(
                UPGRADEABLE_LOADER_ID,
                struct.pack("<I", LOADER_INITIALIZE_BUFFER),
                [
                    AccountMeta(buffer.pubkey(), is_signer=False, is_writable=True),
                    AccountMeta(authority.pubkey(), is_signer=False, is_writable=False),
                ],
            ),
        ],
        [buffer],
    )
    for offset in range(0, len(elf), WRITE_CHUNK_LEN):
        chunk = elf[offset : offset + WRITE_CHUNK_LEN]
        data = struct.pack("<IIQ", LOADER_WRITE, offset, len(chunk)) + chunk
        send(
            svm,
            payer,
            [
                Instruction(
                    UPGRADEABLE_LOADER_ID,
                    data,
                    [
                        AccountMeta(buffer.pubkey(), is_signer=False, is_writable=True),
                        AccountMeta(authority.pubkey(), is_signer=True, is_writable=False),
                    ],
                )
            ],
            [authority],
        )
    program_id = program.pubkey()
    send(
        svm,
        payer,
        [
            create_account(
                CreateAccountParams(
                    from_pubkey=payer.pubkey(),
                    to_pubkey=program_id,
                    lamports=svm.minimum_balance_for_rent_exemption(PROGRAM_ACCOUNT_LEN),
                    space=PROGRAM_ACCOUNT_LEN,
                    owner=UPGRADEABLE_LOADER_ID,
                )
            ),
            Instruction(
                UPGRADEABLE_LOADER_ID,
                struct.pack("<IQ", LOADER_DEPLOY_WITH_MAX_DATA_LEN, len(elf)),
                [
                    AccountMeta(payer.pubkey(), is_signer=True, is_writable=True),
                    AccountMeta(program_data_address(program_id), is_signer=False, is_writable=True),
                    AccountMeta(program_id, is_signer=False, is_writable=True),
                    AccountMeta(buffer.pubkey(), is_signer=False, is_writable=True),
                    AccountMeta(RENT, is_signer=False, is_writable=False),
                    AccountMeta(CLOCK, is_signer=False, is_writable=False),
                    AccountMeta(SYSTEM_PROGRAM_ID, is_signer=False, is_writable=False),
                    AccountMeta(authority.pubkey(), is_signer=True, is_writable=False),
                ],
            ),
        ],
        [program, authority],
    )
    svm.warp_to_slot(svm.get_clock().slot + 1)
    return program_id
