"""The Python side of the anchor's interface: Anchor derivations, Borsh layouts, addresses (DESIGN §8)."""

from __future__ import annotations

import dataclasses
import hashlib
import struct

import pytest
from anchor_harness import CODE_HASH, GENESIS_ROOT, PROOF_HASH, h
from hypothesis import given
from hypothesis import strategies as st
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction_status import (
    InstructionErrorCustom,
    InstructionErrorFieldless,
    TransactionErrorFieldless,
    TransactionErrorInstructionError,
)

from batchposter import program_abi as abi

PROGRAM = Keypair().pubkey()
hashes = st.binary(min_size=32, max_size=32)
u64s = st.integers(min_value=0, max_value=abi.U64_MAX)


def test_discriminators_follow_anchors_derivation():
    assert abi.instruction_discriminator("post_batch") == hashlib.sha256(b"global:post_batch").digest()[:8]
    assert abi.account_discriminator("Batch") == hashlib.sha256(b"account:Batch").digest()[:8]
    assert len({abi.instruction_discriminator(n) for n in abi.INSTRUCTIONS}) == len(abi.INSTRUCTIONS)


@given(u64s, u64s, u64s, hashes, hashes, u64s, hashes, hashes, hashes)
def test_post_batch_arguments_are_borsh_in_declaration_order(index, first, last, prev, root, size, log, code, proof):
    header = abi.BatchHeader(index, first, last, prev, root, size, log, code, proof)
    data = header.encode()
    assert len(data) == 192
    assert struct.unpack_from("<QQQ", data) == (index, first, last)
    assert data[24:56] == prev and data[56:88] == root
    assert struct.unpack_from("<Q", data, 88)[0] == size
    assert data[96:128] == log and data[128:160] == code and data[160:192] == proof


def test_post_batch_instruction_names_the_accounts_the_program_expects():
    poster = Keypair().pubkey()
    header = abi.BatchHeader(7, 1, 2, GENESIS_ROOT, h("r"), 3, h("l"), CODE_HASH, PROOF_HASH)
    ix = abi.post_batch_ix(PROGRAM, poster, header)
    keys = [(m.pubkey, m.is_signer, m.is_writable) for m in ix.accounts]
    assert keys == [
        (abi.config_address(PROGRAM)[0], False, True),
        (abi.batch_address(PROGRAM, 7), False, True),
        (abi.registered_program_address(PROGRAM, CODE_HASH, PROOF_HASH)[0], False, False),
        (poster, True, True),
        (Pubkey.default(), False, False),
    ]
    assert bytes(ix.data) == abi.instruction_discriminator("post_batch") + header.encode()


def test_a_hash_of_the_wrong_length_is_refused_before_encoding():
    header = abi.BatchHeader(1, 1, 1, b"short", h("r"), 1, h("l"), CODE_HASH, PROOF_HASH)
    with pytest.raises(ValueError):
        header.encode()


def test_batch_address_is_create_with_seed_of_the_config():
    config = abi.config_address(PROGRAM)[0]
    assert abi.batch_seed(0x1F) == "batch000000000000001f"
    assert abi.batch_address(PROGRAM, 0x1F) == Pubkey.create_with_seed(config, "batch000000000000001f", PROGRAM)
    assert abi.batch_address(PROGRAM, 1) != abi.batch_address(PROGRAM, 2)
    with pytest.raises(ValueError):
        abi.batch_seed(-1)


def test_account_decoding_rejects_the_wrong_discriminator_and_short_data():
    data = abi.account_discriminator("Config") + bytes(abi.ConfigAccount.SIZE - 8)
    assert abi.ConfigAccount.decode(data).last_batch_index == 0
    with pytest.raises(abi.AccountDecodeError):
        abi.BatchAccount.decode(data + bytes(200))
    with pytest.raises(abi.AccountDecodeError):
        abi.ConfigAccount.decode(data[:-1])


def test_error_code_of_reads_custom_program_errors_only():
    custom = TransactionErrorInstructionError(0, InstructionErrorCustom(6007))
    assert abi.error_code_of(custom) is abi.ErrorCode.BATCH_ALREADY_POSTED
    assert abi.error_code_of(TransactionErrorInstructionError(0, InstructionErrorCustom(42))) == 42
    builtin = TransactionErrorInstructionError(0, InstructionErrorFieldless.InvalidAccountData)
    assert abi.error_code_of(builtin) is None
    assert abi.error_code_of(TransactionErrorFieldless.BlockhashNotFound) is None
    assert abi.error_code_of(None) is None


def test_every_anchor_rule_has_a_distinct_code_and_message():
    user = [c for c in abi.ErrorCode if c >= abi.ANCHOR_USER_ERROR_OFFSET]
    assert [int(c) for c in user] == list(range(6000, 6000 + len(user)))
    assert set(abi.ERROR_MESSAGES) == set(user)


@given(st.integers(0, 5), st.integers(0, 50), st.integers(0, 50))
def test_rule_model_accepts_exactly_the_next_contiguous_batch(last_index, last_height, log_size):
    cfg = abi.ConfigAccount(Keypair().pubkey(), Keypair().pubkey(), last_index, last_height, log_size,
                            GENESIS_ROOT, h("log"), 255)
    nxt = abi.BatchHeader(last_index + 1, last_height + 1, last_height + 5, GENESIS_ROOT, h("r"), log_size + 1,
                          h("l2"), CODE_HASH, PROOF_HASH)
    assert abi.predict_post_batch_error(cfg, nxt) is None
    again = dataclasses.replace(nxt, batch_index=last_index)
    assert abi.predict_post_batch_error(cfg, again) is abi.ErrorCode.BATCH_ALREADY_POSTED
