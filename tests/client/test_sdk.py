"""Client SDK (issue 8): builders, signing, commit-reveal, proof checks, typed errors."""
from __future__ import annotations

import os
import stat

import pytest

from executor import commitment as node_commitment
from executor.errors import ErrorCode
from executor.tx import signature_valid
from node.client import (PendingReveal, ProofError, TxRejected, Wallet, new_reveal, txs,
                         verify_proofs)
from proto.assetl2.v1 import client_pb2, state_pb2, tx_pb2
from statetree import StateTree

CHAIN = "assetl2-devnet-1"
USER = b"\x07" * 32
MAN = txs.manifest(b"\x01" * 32, b"\x02" * 32, b"\x03" * 32)


def every_body() -> dict[str, txs.Body]:
    p = new_reveal(5, 1, tx_pb2.SIDE_BUY, 3, 60_000_000_000)
    return {
        "deposit": txs.deposit(USER, 1_000_000),
        "withdraw": txs.withdraw(5, USER),
        "place_order": txs.place_order(2, 1, tx_pb2.SIDE_SELL, 4, 60_001_000_000, tif=tx_pb2.TIME_IN_FORCE_IOC,
                                       client_order_id=9),
        "cancel_order": txs.cancel_order(2, 1, 17),
        "modify_order": txs.modify_order(2, 1, 17, 2, 60_002_000_000),
        "reserve": txs.reserve(p, ttl_ms=5_000, slab_ids=[2, 3]),
        "commit": txs.commit(p),
        "cancel_hold": txs.cancel_hold(5),
        "liquidate": txs.liquidate(USER),
        "oracle_update": txs.oracle_update(1, 1, 60_000_000_000, 123),
        "register_slab": txs.register_slab(9, USER, b"cfg", MAN),
        "upgrade_slab": txs.upgrade_slab(9, b"cfg2", MAN, active=False),
        "funding_crank": txs.funding_crank(1),
        "amm_add_liquidity": txs.amm_add_liquidity(1, 2, 10, 30_000_000, 1),
        "amm_remove_liquidity": txs.amm_remove_liquidity(1, 2, 5),
    }


def test_there_is_a_builder_for_every_body_of_the_payload():
    oneof = tx_pb2.Payload.DESCRIPTOR.oneofs_by_name["body"]
    assert {f.name for f in oneof.fields} == set(every_body())


@pytest.mark.parametrize("name", sorted(every_body()))
def test_each_body_round_trips_through_a_signed_envelope(name):
    w = Wallet.dev("account-0", CHAIN)
    body = every_body()[name]
    env = w.sign(body, now_ms=1_000, valid_for_ms=60_000, nonce=42)
    assert signature_valid(env, CHAIN)
    assert not signature_valid(env, "another-chain"), "a signature must not carry over to another chain"
    got_name, got = txs.body_of(env)
    assert (got_name, got) == (name, body[1])
    payload = tx_pb2.Payload.FromString(env.payload)
    assert (payload.chain_id, payload.valid_until_ms, payload.client_nonce) == (CHAIN, 61_000, 42)
    assert env.signer == w.public


def test_dev_wallets_are_the_genesis_accounts():
    assert Wallet.dev("account-0").address == "AFJP6vspQzTreHnBXfUs73QgfyEU7Zhag5sd8YCQYkeQ"
    assert Wallet.dev("feeder-0").address == "FGcWj73Bcj4mCBAiXc45HAXi7Zhx4sbSG6i7uFUYfspU"


def test_wallet_loads_a_solana_keypair_file(tmp_path):
    from node import keys
    k = keys.NodeKey.generate()
    keys.write(tmp_path / "k.json", k)
    assert Wallet.load(tmp_path / "k.json", CHAIN).address == k.address


def test_nonces_differ_so_identical_orders_are_distinct_transactions():
    w = Wallet.dev("account-1", CHAIN)
    a, b = (w.sign(txs.cancel_hold(1), now_ms=5) for _ in range(2))
    assert txs.envelope_hash(a) != txs.envelope_hash(b)


def test_commitment_helper_matches_the_executor_and_reveals_open_it():
    p = new_reveal(7, 1, 1, 10, 60_000_000_000)
    assert len(p.salt) == 32 and p.salt != new_reveal(7, 1, 1, 10, 60_000_000_000).salt
    assert p.commitment == node_commitment.commitment(7, 1, 1, 10, 60_000_000_000, p.salt)
    r = p.reveal()
    assert node_commitment.reveal_matches(p.commitment, 7, r.instrument_id, r.side, r.qty_lots,
                                          r.limit_price_e6, r.salt)
    assert not node_commitment.reveal_matches(p.commitment, 7, 1, 1, 11, 60_000_000_000, p.salt)
    _, reserve = txs.reserve(p)
    assert reserve.commitment == p.commitment and reserve.route_id == 7


def test_a_short_salt_is_refused():
    with pytest.raises(ValueError, match="salt"):
        new_reveal(1, 1, 1, 1, 1, salt=b"x" * 8)


def test_saved_reveal_is_private_and_round_trips(tmp_path):
    p = new_reveal(3, 2, 2, 5, 3_000_000_000)
    path = tmp_path / "r" / "3.json"
    p.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert PendingReveal.from_json(path.read_text()) == p


def proven(tmp_path):
    tree = StateTree(tmp_path / "db", sync=False)
    k_present, k_absent = b"\x11" * 32, b"\x22" * 32
    tree.apply(1, {k_present: b"vault:100", b"\x33" * 32: b"other"})
    root = tree.root(1)
    pvs = [state_pb2.ProvenValue(kind="vault", key=k_present, value=b"vault:100", present=True,
                                 proof=tree.prove(k_present, 1).to_bytes()),
           state_pb2.ProvenValue(kind="vault", key=k_absent, present=False,
                                 proof=tree.prove(k_absent, 1).to_bytes())]
    tree.close()
    return root, pvs


def test_valid_inclusion_and_non_inclusion_proofs_verify(tmp_path):
    root, pvs = proven(tmp_path)
    assert verify_proofs(root, pvs) == 2


@pytest.mark.parametrize("tamper", ["value", "proof", "absent", "root"])
def test_a_tampered_proof_raises_proof_error(tmp_path, tamper):
    root, pvs = proven(tmp_path)
    pv = pvs[0]
    if tamper == "value":
        pv.value = b"vault:999"
    elif tamper == "proof":
        raw = bytearray(pv.proof)
        raw[-1] ^= 1
        pv.proof = bytes(raw)
    elif tamper == "absent":
        pvs[1].present = True
        pvs[1].value = b"made up"
    else:
        root = bytes([root[0] ^ 1]) + root[1:]
    with pytest.raises(ProofError, match="does not verify|malformed"):
        verify_proofs(root, pvs)


def test_rejections_carry_the_nodes_error_code():
    err = TxRejected("execution", ErrorCode.ROUTE_UNFILLABLE, "ROUTE_UNFILLABLE", "widen the limit")
    assert err.code is ErrorCode.ROUTE_UNFILLABLE and "ROUTE_UNFILLABLE (2020)" in str(err)
    admission = TxRejected("admission", 0, "RATE_LIMITED", "slow down", grpc_status=8)
    assert admission.code == 0 and admission.name == "RATE_LIMITED"
    unknown = TxRejected("execution", 65_000, "", "new code")
    assert unknown.name == "CODE_65000"
