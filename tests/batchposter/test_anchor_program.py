"""The anchor program in the real SVM (LiteSVM): every instruction and every rejection (DESIGN §8)."""

from __future__ import annotations


import pytest
from anchor_harness import CODE_HASH, CONFIG_HASH, GENESIS_ROOT, PROOF_HASH, SOL, Anchor, deploy, h
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer

from batchposter import program_abi as abi
from batchposter.program_abi import ErrorCode as E

POST_BATCH_CU_TARGET = 10_000
ZERO_KEY = Pubkey(bytes(32))


def _with_meta(ix: Instruction, index: int, meta: AccountMeta) -> Instruction:
    accounts = list(ix.accounts)
    accounts[index] = meta
    return Instruction(ix.program_id, ix.data, accounts)


# ---------------------------------------------------------------------------------------
# deploy and initialize
# ---------------------------------------------------------------------------------------


def test_upgradeable_deploy_leaves_an_executable_program_with_its_authority(deployed):
    svm, program_id, deployer = deployed
    program = svm.get_account(program_id)
    assert program.executable and program.owner == abi.UPGRADEABLE_LOADER_ID
    program_data = bytes(svm.get_account(abi.program_data_address(program_id)).data)
    assert program_data[12] == 1 and program_data[13:45] == bytes(deployer.pubkey())


def test_every_instruction_runs_under_the_mainnet_feature_set(program_elf):
    svm, program_id, deployer = deploy(program_elf, mainnet_features=True)
    poster = Keypair()
    svm.airdrop(poster.pubkey(), 10 * SOL)
    a = Anchor(svm, program_id, deployer, poster)
    a.ok([abi.initialize_ix(program_id, deployer.pubkey(), deployer.pubkey(), poster.pubkey(), GENESIS_ROOT)], deployer)
    a.ok([abi.register_program_ix(program_id, deployer.pubkey(), CODE_HASH, PROOF_HASH, CONFIG_HASH)], deployer)
    a.ok([abi.post_batch_ix(program_id, poster.pubkey(), a.header(1))], poster)
    new_poster = a.funded()
    a.ok([abi.set_poster_ix(program_id, deployer.pubkey(), new_poster.pubkey())], deployer)
    a.ok([abi.set_authority_ix(program_id, deployer.pubkey(), new_poster.pubkey())], deployer)
    a.fails_with(E.BATCH_ALREADY_POSTED, [abi.post_batch_ix(program_id, new_poster.pubkey(), a.header(1))], new_poster)
    assert a.config().authority == new_poster.pubkey() and a.batch(1).batch_index == 1


def test_prefunded_config_and_registry_addresses_do_not_block_setup(deployed):
    svm, program_id, deployer = deployed
    a = Anchor(svm, program_id, deployer, Keypair())
    griefer = a.funded()
    config_pda = abi.config_address(program_id)[0]
    registry_pda = abi.registered_program_address(program_id, CODE_HASH, PROOF_HASH)[0]
    dust = svm.minimum_balance_for_rent_exemption(0)
    a.ok([transfer(TransferParams(from_pubkey=griefer.pubkey(), to_pubkey=k, lamports=dust))
          for k in (config_pda, registry_pda)], griefer)
    a.ok([abi.initialize_ix(program_id, deployer.pubkey(), deployer.pubkey(), deployer.pubkey(), GENESIS_ROOT)], deployer)
    a.ok([abi.register_program_ix(program_id, deployer.pubkey(), CODE_HASH, PROOF_HASH, CONFIG_HASH)], deployer)
    assert a.config().last_state_root == GENESIS_ROOT
    assert svm.get_account(registry_pda).owner == program_id
    assert svm.get_account(config_pda).lamports == svm.minimum_balance_for_rent_exemption(abi.ConfigAccount.SIZE)


def test_initialize_creates_config_with_keys_and_genesis_root(deployed):
    svm, program_id, deployer = deployed
    a = Anchor(svm, program_id, deployer, Keypair())
    authority = Keypair().pubkey()
    a.ok([abi.initialize_ix(program_id, deployer.pubkey(), authority, a.poster.pubkey(), GENESIS_ROOT)], deployer)
    cfg = a.config()
    assert (cfg.authority, cfg.poster) == (authority, a.poster.pubkey())
    assert (cfg.last_batch_index, cfg.last_height, cfg.tx_log_size) == (0, 0, 0)
    assert cfg.last_state_root == GENESIS_ROOT
    config_pda, bump = abi.config_address(program_id)
    account = svm.get_account(config_pda)
    assert account.owner == program_id and cfg.bump == bump
    assert account.lamports == svm.minimum_balance_for_rent_exemption(abi.ConfigAccount.SIZE)


def test_initialize_twice_is_rejected(anchor: Anchor):
    payer = anchor.authority
    ix = abi.initialize_ix(anchor.program_id, payer.pubkey(), payer.pubkey(), payer.pubkey(), h("other-genesis"))
    anchor.fails_with(E.ALREADY_INITIALIZED, [ix], payer)
    assert anchor.config().last_state_root == GENESIS_ROOT


def test_initialize_by_someone_else_than_the_upgrade_authority_is_rejected(deployed):
    svm, program_id, _ = deployed
    a = Anchor(svm, program_id, Keypair(), Keypair())
    intruder = a.funded()
    ix = abi.initialize_ix(program_id, intruder.pubkey(), intruder.pubkey(), intruder.pubkey(), GENESIS_ROOT)
    a.fails_with(E.NOT_UPGRADE_AUTHORITY, [ix], intruder)


def test_initialize_of_an_immutable_program_is_rejected(program_elf):
    # add_program leaves the ProgramData without upgrade authority: nobody may initialize.
    from solders.litesvm import LiteSVM

    svm = LiteSVM()
    program_id = Keypair().pubkey()
    svm.add_program(program_id, program_elf)
    a = Anchor(svm, program_id, Keypair(), Keypair())
    payer = a.funded()
    ix = abi.initialize_ix(program_id, payer.pubkey(), payer.pubkey(), payer.pubkey(), GENESIS_ROOT)
    a.fails_with(E.NOT_UPGRADE_AUTHORITY, [ix], payer)


def test_initialize_with_another_programs_program_data_is_rejected(deployed, program_elf):
    svm, program_id, deployer = deployed
    other = Keypair()
    from batchposter import svm_deploy

    svm_deploy.deploy_upgradeable(svm, deployer, other, program_elf)
    a = Anchor(svm, program_id, deployer, Keypair())
    ix = abi.initialize_ix(program_id, deployer.pubkey(), deployer.pubkey(), deployer.pubkey(), GENESIS_ROOT)
    ix = _with_meta(ix, 2, AccountMeta(abi.program_data_address(other.pubkey()), False, False))
    a.fails_with(E.ACCOUNT_NOT_PROGRAM_DATA, [ix], deployer)


def test_initialize_at_a_non_canonical_config_address_is_rejected(deployed):
    svm, program_id, deployer = deployed
    a = Anchor(svm, program_id, deployer, Keypair())
    ix = abi.initialize_ix(program_id, deployer.pubkey(), deployer.pubkey(), deployer.pubkey(), GENESIS_ROOT)
    ix = _with_meta(ix, 0, AccountMeta(Keypair().pubkey(), False, True))
    a.fails_with(E.CONSTRAINT_SEEDS, [ix], deployer)


@pytest.mark.parametrize("which", ["authority", "poster"])
def test_initialize_with_the_zero_key_is_rejected(deployed, which):
    svm, program_id, deployer = deployed
    a = Anchor(svm, program_id, deployer, Keypair())
    keys = {"authority": deployer.pubkey(), "poster": deployer.pubkey(), which: ZERO_KEY}
    ix = abi.initialize_ix(program_id, deployer.pubkey(), keys["authority"], keys["poster"], GENESIS_ROOT)
    a.fails_with(E.INVALID_KEY, [ix], deployer)


def test_initialize_with_a_wrong_system_program_is_rejected(deployed):
    svm, program_id, deployer = deployed
    a = Anchor(svm, program_id, deployer, Keypair())
    ix = abi.initialize_ix(program_id, deployer.pubkey(), deployer.pubkey(), deployer.pubkey(), GENESIS_ROOT)
    ix = _with_meta(ix, 3, AccountMeta(abi.UPGRADEABLE_LOADER_ID, False, False))
    a.fails_with(E.INVALID_PROGRAM_ID, [ix], deployer)


# ---------------------------------------------------------------------------------------
# register_program
# ---------------------------------------------------------------------------------------


def test_register_program_stores_the_manifest_pair(anchor: Anchor):
    code, proof = h("code-2"), h("proof-2")
    anchor.ok([abi.register_program_ix(anchor.program_id, anchor.authority.pubkey(), code, proof, h("cfg-2"))], anchor.authority)
    address, bump = abi.registered_program_address(anchor.program_id, code, proof)
    entry = abi.RegisteredProgramAccount.decode(bytes(anchor.svm.get_account(address).data))
    assert (entry.code_hash, entry.proof_hash, entry.config_hash, entry.bump) == (code, proof, h("cfg-2"), bump)
    assert entry.registered_slot == anchor.svm.get_clock().slot


def test_register_program_by_non_authority_is_rejected(anchor: Anchor):
    intruder = anchor.funded()
    ix = abi.register_program_ix(anchor.program_id, intruder.pubkey(), h("c"), h("p"), h("f"))
    anchor.fails_with(E.UNAUTHORIZED_AUTHORITY, [ix], intruder)


def test_register_program_twice_is_rejected(anchor: Anchor):
    ix = abi.register_program_ix(anchor.program_id, anchor.authority.pubkey(), CODE_HASH, PROOF_HASH, h("new-config"))
    anchor.fails_with(E.PROGRAM_ALREADY_REGISTERED, [ix], anchor.authority)


def test_register_program_at_a_wrong_registry_address_is_rejected(anchor: Anchor):
    ix = abi.register_program_ix(anchor.program_id, anchor.authority.pubkey(), h("c"), h("p"), h("f"))
    wrong = abi.registered_program_address(anchor.program_id, h("p"), h("c"))[0]
    ix = _with_meta(ix, 1, AccountMeta(wrong, False, True))
    anchor.fails_with(E.CONSTRAINT_SEEDS, [ix], anchor.authority)


def test_register_program_without_authority_signature_is_rejected(anchor: Anchor):
    payer = anchor.funded()
    ix = abi.register_program_ix(anchor.program_id, anchor.authority.pubkey(), h("c"), h("p"), h("f"))
    ix = _with_meta(ix, 2, AccountMeta(anchor.authority.pubkey(), False, True))
    anchor.fails_with(E.CONSTRAINT_SIGNER, [ix], payer)


# ---------------------------------------------------------------------------------------
# post_batch: the happy path
# ---------------------------------------------------------------------------------------


def test_post_batch_stores_the_batch_and_advances_the_config(anchor: Anchor):
    header = anchor.header(1)
    anchor.ok([abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), header)], anchor.poster)
    batch = anchor.batch(1)
    assert batch.header() == header
    assert batch.poster == anchor.poster.pubkey()
    assert batch.slot == anchor.svm.get_clock().slot
    assert anchor.svm.get_account(abi.batch_address(anchor.program_id, 1)).owner == anchor.program_id
    cfg = anchor.config()
    assert (cfg.last_batch_index, cfg.last_height, cfg.tx_log_size) == (1, header.last_height, header.tx_log_size)
    assert (cfg.last_state_root, cfg.tx_log_root) == (header.state_root, header.tx_log_root)


def test_post_batch_emits_an_anchor_event_with_the_batch(anchor: Anchor):
    result = anchor.ok([abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), anchor.header(1))], anchor.poster)
    events = abi.batch_posted_events(result.logs())
    assert events == [anchor.batch(1)]


def test_post_batch_chains_consecutive_batches(anchor: Anchor):
    for index in range(1, 6):
        anchor.ok([abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), anchor.header(index))], anchor.poster)
    roots = [anchor.batch(i).prev_state_root for i in range(1, 6)]
    assert roots == [GENESIS_ROOT] + [h(f"root-{i}") for i in range(1, 5)]
    assert anchor.config().last_batch_index == 5


def test_post_batch_accepts_an_empty_heartbeat_range(anchor: Anchor):
    anchor.ok([abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), anchor.header(1))], anchor.poster)
    cfg = anchor.config()
    heartbeat = anchor.header(
        2, first_height=cfg.last_height + 1, last_height=cfg.last_height, state_root=cfg.last_state_root,
        tx_log_size=cfg.tx_log_size, tx_log_root=cfg.tx_log_root,
    )
    anchor.ok([abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), heartbeat)], anchor.poster)
    assert anchor.config().last_height == cfg.last_height


def test_post_batch_succeeds_when_someone_prefunded_the_batch_address(anchor: Anchor):
    griefer = anchor.funded()
    batch_pda = abi.batch_address(anchor.program_id, 1)
    anchor.ok([transfer(TransferParams(from_pubkey=griefer.pubkey(), to_pubkey=batch_pda, lamports=anchor.svm.minimum_balance_for_rent_exemption(0)))], griefer)
    anchor.ok([abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), anchor.header(1))], anchor.poster)
    account = anchor.svm.get_account(batch_pda)
    assert account.owner == anchor.program_id
    assert account.lamports == anchor.svm.minimum_balance_for_rent_exemption(abi.BatchAccount.SIZE)
    assert anchor.batch(1).batch_index == 1


def test_post_batch_compute_units_stay_under_target(anchor: Anchor):
    used = []
    for index in range(1, 9):  # the batch address costs the same for every index
        result = anchor.ok([abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), anchor.header(index))], anchor.poster)
        used.append(result.compute_units_consumed())
    assert max(used) <= POST_BATCH_CU_TARGET, used


# ---------------------------------------------------------------------------------------
# post_batch: rejections
# ---------------------------------------------------------------------------------------


def test_reposting_an_anchored_batch_fails_cleanly_and_changes_nothing(anchor: Anchor):
    header = anchor.header(1)
    anchor.ok([abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), header)], anchor.poster)
    before = (anchor.config(), anchor.batch(1))
    anchor.fails_with(E.BATCH_ALREADY_POSTED, [abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), header)], anchor.poster)
    assert (anchor.config(), anchor.batch(1)) == before


def test_post_batch_with_an_older_index_is_already_posted(anchor: Anchor):
    for index in (1, 2):
        anchor.ok([abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), anchor.header(index))], anchor.poster)
    stale = anchor.header(1)
    anchor.fails_with(E.BATCH_ALREADY_POSTED, [abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), stale)], anchor.poster)


def test_post_batch_out_of_order_is_rejected(anchor: Anchor):
    anchor.fails_with(E.BATCH_INDEX_GAP, [abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), anchor.header(2))], anchor.poster)
    assert anchor.batch(2) is None and anchor.config().last_batch_index == 0


def test_post_batch_with_a_wrong_previous_root_is_rejected(anchor: Anchor):
    header = anchor.header(1, prev_state_root=h("not-genesis"))
    anchor.fails_with(E.PREV_STATE_ROOT_MISMATCH, [abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), header)], anchor.poster)


def test_post_batch_naming_an_unregistered_pair_is_rejected(anchor: Anchor):
    header = anchor.header(1, code_hash=h("rogue-code"))
    anchor.fails_with(E.PROGRAM_NOT_REGISTERED, [abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), header)], anchor.poster)


def test_post_batch_with_the_registry_entry_of_another_pair_is_rejected(anchor: Anchor):
    header = anchor.header(1, proof_hash=h("rogue-proof"))
    ix = abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), header)
    registered = abi.registered_program_address(anchor.program_id, CODE_HASH, PROOF_HASH)[0]
    ix = _with_meta(ix, 2, AccountMeta(registered, False, False))
    anchor.fails_with(E.REGISTRY_MISMATCH, [ix], anchor.poster)


def test_post_batch_by_a_wrong_poster_is_rejected(anchor: Anchor):
    intruder = anchor.funded()
    anchor.fails_with(E.UNAUTHORIZED_POSTER, [abi.post_batch_ix(anchor.program_id, intruder.pubkey(), anchor.header(1))], intruder)


def test_post_batch_by_the_authority_is_rejected(anchor: Anchor):
    auth = anchor.authority
    anchor.fails_with(E.UNAUTHORIZED_POSTER, [abi.post_batch_ix(anchor.program_id, auth.pubkey(), anchor.header(1))], auth)


def test_post_batch_without_the_poster_signature_is_rejected(anchor: Anchor):
    payer = anchor.funded()
    ix = abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), anchor.header(1))
    ix = _with_meta(ix, 3, AccountMeta(anchor.poster.pubkey(), False, True))
    anchor.fails_with(E.CONSTRAINT_SIGNER, [ix], payer)


def test_post_batch_at_a_wrong_batch_address_is_rejected(anchor: Anchor):
    ix = abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), anchor.header(1))
    ix = _with_meta(ix, 1, AccountMeta(abi.batch_address(anchor.program_id, 2), False, True))
    anchor.fails_with(E.CONSTRAINT_SEEDS, [ix], anchor.poster)


def test_post_batch_with_a_read_only_config_is_rejected(anchor: Anchor):
    ix = abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), anchor.header(1))
    ix = _with_meta(ix, 0, AccountMeta(abi.config_address(anchor.program_id)[0], False, False))
    anchor.fails_with(E.CONSTRAINT_MUT, [ix], anchor.poster)


def test_post_batch_with_a_forged_config_owned_by_another_program_is_rejected(anchor: Anchor):
    fake = Keypair().pubkey()
    real = anchor.svm.get_account(abi.config_address(anchor.program_id)[0])
    anchor.svm.set_account(fake, Account(real.lamports, bytes(real.data), abi.UPGRADEABLE_LOADER_ID))
    ix = _with_meta(abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), anchor.header(1)), 0, AccountMeta(fake, False, True))
    anchor.fails_with(E.ACCOUNT_OWNED_BY_WRONG_PROGRAM, [ix], anchor.poster)


def test_post_batch_with_a_registry_entry_in_place_of_config_is_rejected(anchor: Anchor):
    registered = abi.registered_program_address(anchor.program_id, CODE_HASH, PROOF_HASH)[0]
    ix = _with_meta(abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), anchor.header(1)), 0, AccountMeta(registered, False, True))
    anchor.fails_with(E.ACCOUNT_DISCRIMINATOR_MISMATCH, [ix], anchor.poster)


def test_post_batch_with_a_wrong_system_program_is_rejected(anchor: Anchor):
    ix = abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), anchor.header(1))
    ix = _with_meta(ix, 4, AccountMeta(anchor.program_id, False, False))
    anchor.fails_with(E.INVALID_PROGRAM_ID, [ix], anchor.poster)


def test_post_batch_with_too_few_accounts_is_rejected(anchor: Anchor):
    ix = abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), anchor.header(1))
    ix = Instruction(ix.program_id, ix.data, list(ix.accounts)[:4])
    anchor.fails_with(E.ACCOUNT_NOT_ENOUGH_KEYS, [ix], anchor.poster)


def test_post_batch_with_an_inverted_height_range_is_rejected(anchor: Anchor):
    header = anchor.header(1, first_height=10, last_height=5)
    anchor.fails_with(E.INVALID_HEIGHT_RANGE, [abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), header)], anchor.poster)


def test_post_batch_leaving_a_height_gap_is_rejected(anchor: Anchor):
    anchor.ok([abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), anchor.header(1))], anchor.poster)
    first = anchor.config().last_height + 2
    header = anchor.header(2, first_height=first, last_height=first + 3)
    anchor.fails_with(E.HEIGHT_GAP, [abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), header)], anchor.poster)


def test_post_batch_shrinking_the_tx_log_is_rejected(anchor: Anchor):
    anchor.ok([abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), anchor.header(1))], anchor.poster)
    header = anchor.header(2, tx_log_size=anchor.config().tx_log_size - 1)
    anchor.fails_with(E.TX_LOG_SHRUNK, [abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), header)], anchor.poster)


def test_post_batch_rewriting_the_tx_log_at_equal_size_is_rejected(anchor: Anchor):
    anchor.ok([abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), anchor.header(1))], anchor.poster)
    header = anchor.header(2, tx_log_size=anchor.config().tx_log_size, tx_log_root=h("forked-log"))
    anchor.fails_with(E.TX_LOG_ROOT_CHANGED, [abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), header)], anchor.poster)


# ---------------------------------------------------------------------------------------
# instruction decoding
# ---------------------------------------------------------------------------------------


def _raw(anchor: Anchor, data: bytes) -> Instruction:
    ix = abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), anchor.header(1))
    return Instruction(ix.program_id, data, list(ix.accounts))


@pytest.mark.parametrize("length", [0, 1, 7])
def test_instruction_without_a_full_discriminator_is_rejected(anchor: Anchor, length):
    anchor.fails_with(E.INSTRUCTION_MISSING, [_raw(anchor, b"\xac" * length)], anchor.poster)


def test_instruction_with_an_unknown_discriminator_is_rejected(anchor: Anchor):
    data = abi.instruction_discriminator("delete_config") + anchor.header(1).encode()
    anchor.fails_with(E.INSTRUCTION_FALLBACK_NOT_FOUND, [_raw(anchor, data)], anchor.poster)


def test_account_discriminator_is_not_accepted_as_instruction(anchor: Anchor):
    data = abi.account_discriminator("Batch") + anchor.header(1).encode()
    anchor.fails_with(E.INSTRUCTION_FALLBACK_NOT_FOUND, [_raw(anchor, data)], anchor.poster)


@pytest.mark.parametrize("name", abi.INSTRUCTIONS)
@pytest.mark.parametrize("delta", [-1, +1])
def test_instruction_arguments_of_wrong_length_are_rejected(anchor: Anchor, name, delta):
    args_len = {"initialize": 96, "register_program": 96, "post_batch": abi.BatchHeader.BORSH.size,
                "set_authority": 32, "set_poster": 32, "close_batch": 8}[name]
    data = abi.instruction_discriminator(name) + bytes(max(args_len + delta, 0))
    anchor.fails_with(E.INSTRUCTION_DID_NOT_DESERIALIZE, [_raw(anchor, data)], anchor.poster)


def test_truncated_post_batch_leaves_no_trace(anchor: Anchor):
    data = abi.instruction_discriminator("post_batch") + anchor.header(1).encode()[:-5]
    anchor.fails_with(E.INSTRUCTION_DID_NOT_DESERIALIZE, [_raw(anchor, data)], anchor.poster)
    assert anchor.batch(1) is None and anchor.config().last_batch_index == 0


# ---------------------------------------------------------------------------------------
# key rotation
# ---------------------------------------------------------------------------------------


def test_set_poster_hands_posting_to_the_new_key(anchor: Anchor):
    new_poster = anchor.funded()
    anchor.ok([abi.set_poster_ix(anchor.program_id, anchor.authority.pubkey(), new_poster.pubkey())], anchor.authority)
    assert anchor.config().poster == new_poster.pubkey()
    anchor.fails_with(E.UNAUTHORIZED_POSTER, [abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), anchor.header(1))], anchor.poster)
    anchor.ok([abi.post_batch_ix(anchor.program_id, new_poster.pubkey(), anchor.header(1))], new_poster)


def test_set_authority_hands_registration_to_the_new_key(anchor: Anchor):
    old, new = anchor.authority, anchor.funded()
    anchor.ok([abi.set_authority_ix(anchor.program_id, old.pubkey(), new.pubkey())], old)
    assert anchor.config().authority == new.pubkey()
    anchor.fails_with(E.UNAUTHORIZED_AUTHORITY, [abi.register_program_ix(anchor.program_id, old.pubkey(), h("c"), h("p"), h("f"))], old)
    anchor.ok([abi.register_program_ix(anchor.program_id, new.pubkey(), h("c"), h("p"), h("f"))], new)


@pytest.mark.parametrize("builder", [abi.set_poster_ix, abi.set_authority_ix])
def test_key_rotation_by_non_authority_is_rejected(anchor: Anchor, builder):
    intruder = anchor.funded()
    anchor.fails_with(E.UNAUTHORIZED_AUTHORITY, [builder(anchor.program_id, intruder.pubkey(), intruder.pubkey())], intruder)
    assert anchor.config().authority == anchor.authority.pubkey()


@pytest.mark.parametrize("builder", [abi.set_poster_ix, abi.set_authority_ix])
def test_key_rotation_to_the_zero_key_is_rejected(anchor: Anchor, builder):
    anchor.fails_with(E.INVALID_KEY, [builder(anchor.program_id, anchor.authority.pubkey(), ZERO_KEY)], anchor.authority)


def test_key_rotation_without_authority_signature_is_rejected(anchor: Anchor):
    payer = anchor.funded()
    ix = abi.set_poster_ix(anchor.program_id, anchor.authority.pubkey(), payer.pubkey())
    ix = _with_meta(ix, 1, AccountMeta(anchor.authority.pubkey(), False, False))
    anchor.fails_with(E.CONSTRAINT_SIGNER, [ix], payer)


def test_key_rotation_with_a_read_only_config_is_rejected(anchor: Anchor):
    ix = abi.set_poster_ix(anchor.program_id, anchor.authority.pubkey(), anchor.poster.pubkey())
    ix = _with_meta(ix, 0, AccountMeta(abi.config_address(anchor.program_id)[0], False, False))
    anchor.fails_with(E.CONSTRAINT_MUT, [ix], anchor.authority)


def test_instructions_before_initialize_report_missing_config(deployed):
    svm, program_id, deployer = deployed
    a = Anchor(svm, program_id, deployer, deployer)
    header = abi.BatchHeader(1, 1, 1, GENESIS_ROOT, h("r"), 1, h("l"), CODE_HASH, PROOF_HASH)
    a.fails_with(E.ACCOUNT_NOT_INITIALIZED, [abi.post_batch_ix(program_id, deployer.pubkey(), header)], deployer)


# ---------------------------------------------------------------------------------------
# the program against the Python model of its rules
# ---------------------------------------------------------------------------------------

_small = st.integers(min_value=0, max_value=40)
_roots = st.sampled_from([h("r0"), h("r1"), GENESIS_ROOT])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    attempts=st.lists(
        st.tuples(st.integers(0, 4), _small, _small, _roots, _small, st.booleans()), min_size=1, max_size=6
    )
)
def test_post_batch_agrees_with_the_python_rule_model(program_elf, attempts):
    svm, program_id, deployer = deploy(program_elf)
    poster = Keypair()
    svm.airdrop(poster.pubkey(), 10 * SOL)
    a = Anchor(svm, program_id, deployer, poster)
    a.ok([abi.initialize_ix(program_id, deployer.pubkey(), deployer.pubkey(), poster.pubkey(), GENESIS_ROOT)], deployer)
    a.ok([abi.register_program_ix(program_id, deployer.pubkey(), CODE_HASH, PROOF_HASH, CONFIG_HASH)], deployer)
    for index_delta, first, span, prev_root, log_growth, same_log_root in attempts:
        cfg = a.config()
        header = abi.BatchHeader(
            batch_index=cfg.last_batch_index + index_delta - 1 if index_delta else 0,
            first_height=first,
            last_height=max(first + span - 20, 0),
            prev_state_root=prev_root,
            state_root=h(f"state-{first}-{span}"),
            tx_log_size=max(cfg.tx_log_size + log_growth - 5, 0),
            tx_log_root=cfg.tx_log_root if same_log_root else h(f"log-{log_growth}"),
            code_hash=CODE_HASH,
            proof_hash=PROOF_HASH,
        )
        expected = abi.predict_post_batch_error(cfg, header)
        result = a.post(header)
        assert abi.error_code_of(getattr(result, "err", lambda: None)()) == expected, (header, cfg)
        if expected is None:
            assert a.batch(header.batch_index).header() == header


# ---------------------------------------------------------------------------------------
# close_batch
# ---------------------------------------------------------------------------------------


def _post_n(anchor: Anchor, n: int) -> None:
    for index in range(1, n + 1):
        anchor.ok([abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), anchor.header(index))], anchor.poster)


def test_close_batch_returns_the_rent_and_a_repost_is_still_refused(anchor: Anchor):
    _post_n(anchor, 2)
    recipient = Keypair().pubkey()
    rent = anchor.svm.get_account(abi.batch_address(anchor.program_id, 1)).lamports
    anchor.ok([abi.close_batch_ix(anchor.program_id, anchor.authority.pubkey(), 1, recipient)], anchor.authority)
    assert anchor.batch(1) is None
    assert anchor.svm.get_balance(recipient) == rent
    stale = abi.BatchHeader(1, 1, 10, GENESIS_ROOT, h("root-1"), 10, h("log-1"), CODE_HASH, PROOF_HASH)
    anchor.fails_with(E.BATCH_ALREADY_POSTED, [abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), stale)], anchor.poster)
    anchor.ok([abi.post_batch_ix(anchor.program_id, anchor.poster.pubkey(), anchor.header(3))], anchor.poster)


def test_close_batch_refuses_the_tip_and_unposted_batches(anchor: Anchor):
    _post_n(anchor, 1)
    for index in (1, 2):
        ix = abi.close_batch_ix(anchor.program_id, anchor.authority.pubkey(), index, anchor.authority.pubkey())
        anchor.fails_with(E.BATCH_IS_TIP, [ix], anchor.authority)
    assert anchor.batch(1) is not None


def test_close_batch_by_non_authority_is_rejected(anchor: Anchor):
    _post_n(anchor, 2)
    anchor.fails_with(E.UNAUTHORIZED_AUTHORITY,
                      [abi.close_batch_ix(anchor.program_id, anchor.poster.pubkey(), 1, anchor.poster.pubkey())],
                      anchor.poster)


def test_close_batch_twice_is_rejected(anchor: Anchor):
    _post_n(anchor, 2)
    ix = abi.close_batch_ix(anchor.program_id, anchor.authority.pubkey(), 1, anchor.authority.pubkey())
    anchor.ok([ix], anchor.authority)
    anchor.fails_with(E.ACCOUNT_NOT_INITIALIZED, [ix], anchor.authority)


def test_close_batch_with_another_batch_account_is_rejected(anchor: Anchor):
    _post_n(anchor, 3)
    ix = abi.close_batch_ix(anchor.program_id, anchor.authority.pubkey(), 1, anchor.authority.pubkey())
    ix = _with_meta(ix, 1, AccountMeta(abi.batch_address(anchor.program_id, 2), False, True))
    anchor.fails_with(E.CONSTRAINT_SEEDS, [ix], anchor.authority)
    assert anchor.batch(2) is not None


def test_close_batch_into_itself_is_rejected(anchor: Anchor):
    _post_n(anchor, 2)
    batch = abi.batch_address(anchor.program_id, 1)
    anchor.fails_with(E.CONSTRAINT_CLOSE,
                      [abi.close_batch_ix(anchor.program_id, anchor.authority.pubkey(), 1, batch)], anchor.authority)
