"""Block application (DESIGN §3–§5): envelope rules, replay protection, atomicity, determinism."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from executor.block import (MAX_TX_BYTES, MAX_VALIDITY_WINDOW_MS, BlockError, BlockInput, Executor,
                            dedup_key)
from executor.errors import ErrorCode
from executor.genesis import load_genesis
from executor.tx import sign_payload
from proto.assetl2.v1 import tx_pb2

EXAMPLES = Path(__file__).resolve().parents[2] / "executor" / "curvescript" / "examples"
GENESIS = load_genesis(EXAMPLES / "devnet.curve", EXAMPLES / "devnet-genesis.toml")
CHAIN = GENESIS.chain_id
T0 = 1_000_000


def dev_key(role: str) -> SigningKey:
    """The devnet's public dev keys (sha256 of a role name; see devnet-genesis.toml)."""
    return SigningKey(hashlib.sha256(f"assetl2-devnet-{role}".encode()).digest())


TAKER = dev_key("account-0")


def executor(path: Path) -> Executor:
    return Executor(path, GENESIS, governance=frozenset(GENESIS.governance),
                    bridge_relayers=frozenset(GENESIS.bridge_relayers), sync=False)


def envelope(body_name: str, body, *, key: SigningKey = TAKER, chain: str = CHAIN, nonce: int = 1,
             valid_until_ms: int = T0 + 60_000) -> bytes:
    payload = tx_pb2.Payload(chain_id=chain, valid_until_ms=valid_until_ms, client_nonce=nonce)
    getattr(payload, body_name).CopyFrom(body)
    return sign_payload(key, chain, payload).SerializeToString()


def cancel_hold(nonce: int = 1, **kw) -> bytes:
    """A transaction every account may send at any time; cancelling an unknown hold is a no-op (F2)."""
    return envelope("cancel_hold", tx_pb2.CancelHold(route_id=10_000 + nonce), nonce=nonce, **kw)


def test_genesis_root_is_the_same_in_two_fresh_executors(tmp_path):
    a, b = executor(tmp_path / "a"), executor(tmp_path / "b")
    assert a.height == b.height == 0
    assert a.state_root() == b.state_root()
    a.close(), b.close()


def bad_transactions() -> list[tuple[bytes, ErrorCode]]:
    good = tx_pb2.Envelope.FromString(cancel_hold(1))
    tampered = tx_pb2.Envelope(payload=good.payload + b"\x00", signer=good.signer, signature=good.signature)
    empty = sign_payload(TAKER, CHAIN, tx_pb2.Payload(chain_id=CHAIN, valid_until_ms=T0 + 1, client_nonce=9))
    return [
        (b"\x00" * (MAX_TX_BYTES + 1), ErrorCode.TX_TOO_LARGE),
        (b"\xff\xff\xff", ErrorCode.TX_MALFORMED),
        (tampered.SerializeToString(), ErrorCode.BAD_SIGNATURE),
        (cancel_hold(2, chain="assetl2-other"), ErrorCode.BAD_SIGNATURE),  # signed for another chain
        (cancel_hold(3, valid_until_ms=T0 - 1), ErrorCode.TX_EXPIRED),
        (cancel_hold(4, valid_until_ms=T0 + MAX_VALIDITY_WINDOW_MS + 1), ErrorCode.TX_VALIDITY_TOO_LONG),
        (empty.SerializeToString(), ErrorCode.TX_MALFORMED),
    ]


def test_each_bad_envelope_gets_its_code_and_changes_nothing(tmp_path):
    a, b = executor(tmp_path / "a"), executor(tmp_path / "b")
    bad = bad_transactions()
    out = a.apply_block(BlockInput(1, T0, tuple(raw for raw, _ in bad)))
    assert [ErrorCode(r.error_code) for r in out.receipts] == [code for _, code in bad]
    assert all(not r.ok and r.message for r in out.receipts)
    empty = b.apply_block(BlockInput(1, T0, ()))
    assert out.state_root == empty.state_root, "rejected transactions must leave no trace in state"
    assert out.tx_log_size == len(bad), "every ordered transaction is logged, rejected or not"
    a.close(), b.close()


def test_transaction_signed_for_another_chain_with_matching_signature_is_wrong_chain(tmp_path):
    ex = executor(tmp_path / "a")
    other = "assetl2-other"
    payload = tx_pb2.Payload(chain_id=other, valid_until_ms=T0 + 10, client_nonce=1,
                             cancel_hold=tx_pb2.CancelHold(route_id=1))
    # Signed over this chain's id but naming another chain in the payload.
    raw = sign_payload(TAKER, CHAIN, payload).SerializeToString()
    out = ex.apply_block(BlockInput(1, T0, (raw,)))
    assert ErrorCode(out.receipts[0].error_code) == ErrorCode.WRONG_CHAIN
    ex.close()


def test_a_duplicate_is_refused_until_its_window_closes_and_then_forgotten(tmp_path):
    ex = executor(tmp_path / "a")
    tx = cancel_hold(7, valid_until_ms=T0 + 5_000)
    out = ex.apply_block(BlockInput(1, T0, (tx, tx)))
    assert out.receipts[0].ok, out.receipts[0].message
    assert ErrorCode(out.receipts[1].error_code) == ErrorCode.TX_DUPLICATE
    out = ex.apply_block(BlockInput(2, T0 + 1_000, (tx,)))
    assert ErrorCode(out.receipts[0].error_code) == ErrorCode.TX_DUPLICATE
    h = tx_pb2.Envelope.FromString(tx).payload
    key = dedup_key(hashlib.sha256(h).digest())
    assert ex.tree.get(key) is not None
    ex.apply_block(BlockInput(3, T0 + 8_000, ()))
    assert ex.tree.get(key) is None, "the dedup record must be pruned after valid_until_ms"
    out = ex.apply_block(BlockInput(4, T0 + 9_000, (tx,)))
    assert ErrorCode(out.receipts[0].error_code) == ErrorCode.TX_EXPIRED
    ex.close()


def test_block_header_must_follow_the_executed_chain(tmp_path):
    ex = executor(tmp_path / "a")
    with pytest.raises(BlockError, match="height"):
        ex.apply_block(BlockInput(2, T0, ()))
    ex.apply_block(BlockInput(1, T0, ()))
    with pytest.raises(BlockError, match="timestamp"):
        ex.apply_block(BlockInput(2, T0, ()))
    ex.close()


def test_restart_resumes_at_the_last_block_with_the_same_root(tmp_path):
    ex = executor(tmp_path / "a")
    for h in range(1, 4):
        out = ex.apply_block(BlockInput(h, T0 + h * 60, (cancel_hold(h),)))
    root = out.state_root
    ex.close()
    again = executor(tmp_path / "a")
    assert again.height == 3 and again.state_root() == root
    info = again.block_info(3)
    assert info.state_root == root and info.tx_log_size == 3 and len(info.receipts) == 1
    again.apply_block(BlockInput(4, T0 + 400, ()))
    again.close()


REPLAY = r"""
import sys
sys.path.insert(0, {tests!r})
import test_block as tb
from executor.block import BlockInput
ex = tb.executor(__import__("pathlib").Path({path!r}))
for h in range(1, 41):
    txs = tuple(tb.cancel_hold(h * 10 + i) for i in range(h % 4))
    out = ex.apply_block(BlockInput(h, tb.T0 + h * 37, txs))
    print(h, out.state_root.hex(), out.tx_log_root.hex())
ex.close()
"""


def test_two_fresh_processes_produce_identical_roots_at_every_height(tmp_path):
    outputs = []
    for i, seed in enumerate(("1", "2")):
        code = REPLAY.format(tests=str(Path(__file__).parent), path=str(tmp_path / f"p{i}"))
        env = dict(os.environ, PYTHONHASHSEED=seed)
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
        assert res.returncode == 0, res.stderr
        outputs.append(res.stdout)
    assert outputs[0] == outputs[1]
    assert len(outputs[0].splitlines()) == 40


def test_a_router_rejection_keeps_its_detail_in_the_receipt(tmp_path):
    ex = executor(tmp_path / "a")
    place = tx_pb2.PlaceOrder(slab_id=1, instrument_id=2, side=tx_pb2.SIDE_BUY, qty_lots=1,
                              price_e6=3_000_000_000, time_in_force=tx_pb2.TIME_IN_FORCE_GTC)
    out = ex.apply_block(BlockInput(1, T0, (envelope("place_order", place),)))
    r = out.receipts[0]
    assert not r.ok and r.error_name == "BAD_ARGUMENT"
    assert "AMM" in r.message, "the router's specific reason must reach the client"
    ex.close()


def test_routing_to_a_slab_whose_registered_manifest_differs_from_the_running_code_is_refused(tmp_path):
    """Plan P11: genesis registers the running manifest; an executor running other code refuses."""
    from dataclasses import replace as dc_replace

    from executor.curvescript import compile_file
    from executor.manifest import build_manifest

    manifest = build_manifest(compile_file(EXAMPLES / "devnet.curve"))
    ex = Executor(tmp_path / "a", GENESIS, manifest=manifest, sync=False)
    ex.close()
    other = dc_replace(manifest, code_hash=bytes(32))
    again = Executor(tmp_path / "a", GENESIS, manifest=other, sync=False)
    place = tx_pb2.PlaceOrder(slab_id=2, instrument_id=1, side=tx_pb2.SIDE_BUY, qty_lots=1,
                              price_e6=59_000_000_000, time_in_force=tx_pb2.TIME_IN_FORCE_GTC)
    out = again.apply_block(BlockInput(1, T0, (envelope("place_order", place),)))
    assert out.receipts[0].error_name == "SLAB_MANIFEST_MISMATCH", out.receipts[0].message
    again.close()


def test_block_info_carries_the_consensus_identity_but_the_root_does_not_depend_on_it(tmp_path):
    a, b = executor(tmp_path / "a"), executor(tmp_path / "b")
    out_a = a.apply_block(BlockInput(1, T0, (), view=7, block_hash=b"\x01" * 32, parent_hash=b"\x02" * 32, proposer=3))
    out_b = b.apply_block(BlockInput(1, T0, ()))
    assert out_a.state_root == out_b.state_root
    info = a.block_info(1)
    assert (info.header.view, info.block_hash, info.header.parent_hash, info.header.proposer) == (
        7, b"\x01" * 32, b"\x02" * 32, 3)
    a.close(), b.close()


def test_signature_threads_and_admission_marks_change_speed_not_receipts(tmp_path):
    """Issue 6: each signature is checked once per node — by admission (marked) or here, in
    parallel threads.  Neither may change a receipt: a mark covers the exact envelope, so a
    tampered copy of a marked transaction is still refused."""
    from executor.tx import VerifiedSignatures, tx_hash
    good = [cancel_hold(n) for n in range(1, 120)]
    bad = [raw for raw, _ in bad_transactions()]
    txs = tuple(good[:60] + bad + good[60:])
    inline = Executor(tmp_path / "inline", GENESIS, sync=False, sig_threads=1)
    marks = VerifiedSignatures()
    for raw in good[:30]:
        env = tx_pb2.Envelope.FromString(raw)
        marks.mark(tx_hash(env.payload), env)
    forged = tx_pb2.Envelope.FromString(bad[2])        # tampered payload: mark the original
    marks.mark(tx_hash(forged.payload), tx_pb2.Envelope(payload=forged.payload, signer=forged.signer,
                                                        signature=bytes(64)))
    threaded = Executor(tmp_path / "threaded", GENESIS, sync=False, sig_threads=2, verified=marks)
    a = inline.apply_block(BlockInput(1, T0, txs))
    b = threaded.apply_block(BlockInput(1, T0, txs))
    assert [(r.ok, r.error_code) for r in a.receipts] == [(r.ok, r.error_code) for r in b.receipts]
    assert ErrorCode(b.receipts[62].error_code) == ErrorCode.BAD_SIGNATURE
    assert a.state_root == b.state_root
    assert len(marks) == 1, "each mark is taken once; the mark for another signature stays unused"
    inline.close(), threaded.close()


def test_verified_signatures_are_bounded_and_taken_once():
    from executor.tx import VerifiedSignatures
    marks = VerifiedSignatures(capacity=3)
    envs = [tx_pb2.Envelope.FromString(cancel_hold(n)) for n in range(5)]
    for i, env in enumerate(envs):
        marks.mark(bytes([i]) * 32, env)
    assert len(marks) == 3
    assert not marks.take(bytes([0]) * 32, envs[0]), "the oldest marks are dropped first"
    assert marks.take(bytes([4]) * 32, envs[4])
    assert not marks.take(bytes([4]) * 32, envs[4]), "a mark answers once"


def test_admission_check_refuses_wrong_chain_expired_and_malformed_and_reads_only(tmp_path):
    """Executor.admission_check (the sequencer's hook, DESIGN §3): what the executor would
    refuse for certain is refused at arrival with the receipt's code; the state root stays."""
    ex = executor(tmp_path / "a")
    root = ex.state_root()

    def check(raw: bytes, now_ms: int = T0):
        env = tx_pb2.Envelope.FromString(raw)
        return ex.admission_check(env.payload, env.signer, now_ms)

    assert check(cancel_hold(1)) is None
    code, message = check(cancel_hold(2, chain="assetl2-other"))
    assert code == ErrorCode.WRONG_CHAIN and "assetl2-other" in message
    code, _ = check(cancel_hold(3, valid_until_ms=T0 - 1))
    assert code == ErrorCode.TX_EXPIRED
    code, _ = ex.admission_check(b"\xff\xff", bytes(32), T0)
    assert code == ErrorCode.TX_MALFORMED
    assert ex.state_root() == root
    ex.close()
