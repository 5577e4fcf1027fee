"""The sequencer's admission enforces the reserve→commit rules ahead of the executor (DESIGN §3,
issue 6 item 4), through the executor role's hook, on a real node over real gRPC.

A route is reserved and executed; a commit that reveals the wrong salt, or that arrives in the
reserve's own epoch, is refused at submission with the executor's stable code and never
sequenced; the right commit in a later epoch is admitted and fills."""
from __future__ import annotations

import asyncio
import hashlib
import time

import grpc
import pytest
from nacl.signing import SigningKey

from executor.commitment import commitment
from executor.router.records import HOLD_COMMITTED
from executor.tx import sign_payload
from inproc import DEVNET_CHAIN, running_node
from proto.assetl2.v1 import client_pb2_grpc, tx_pb2

pytestmark = pytest.mark.timeout(60)

BTC, BOOK_A = 1, 2                      # devnet: instrument 1 BTC-PERP, wire slab 2 book:BTC-A
MID, TICK = 60_000_000_000, 100_000
SALT = b"s" * 16
FEEDER = SigningKey(hashlib.sha256(b"assetl2-devnet-feeder-0").digest())


def signed(key: SigningKey, nonce: int, **body) -> tx_pb2.Envelope:
    (name, msg), = body.items()
    p = tx_pb2.Payload(chain_id=DEVNET_CHAIN, valid_until_ms=int(time.time() * 1000) + 60_000,
                       client_nonce=nonce)
    getattr(p, name).CopyFrom(msg)
    return sign_payload(key, DEVNET_CHAIN, p)


def commit(key: SigningKey, nonce: int, salt: bytes = SALT) -> tx_pb2.Envelope:
    return signed(key, nonce, commit=tx_pb2.Commit(route_id=1, reveal=tx_pb2.Reveal(
        salt=salt, instrument_id=BTC, side=tx_pb2.SIDE_BUY, qty_lots=1, limit_price_e6=MID + 10 * TICK)))


async def until(predicate, what: str, timeout_s: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_admission_refuses_a_wrong_reveal_and_a_same_epoch_commit_with_the_executor_codes(tmp_path):
    maker, taker = SigningKey(b"m" * 32), SigningKey(b"t" * 32)
    async with running_node(tmp_path) as node:
        ex = node.roles["executor"]
        async with grpc.aio.insecure_channel(node.cfg.grpc.listen) as ch:
            api = client_pb2_grpc.ClientApiStub(ch)

            async def submit(env):
                return await api.SubmitTransaction(env, timeout=10)

            now = int(time.time() * 1000)
            setup = [signed(FEEDER, 1, oracle_update=tx_pb2.OracleUpdate(
                         oracle_id=1, instrument_id=BTC, price_e6=MID, publish_time_ms=now - 50))]
            for i, k in enumerate((maker, taker)):
                setup.append(signed(k, 10 + i, deposit=tx_pb2.Deposit(
                    user=bytes(k.verify_key), amount_atoms=10**12, source=tx_pb2.DEPOSIT_SOURCE_FAUCET)))
            setup.append(signed(maker, 20, place_order=tx_pb2.PlaceOrder(
                slab_id=BOOK_A, instrument_id=BTC, side=tx_pb2.SIDE_SELL, qty_lots=1, price_e6=MID + TICK,
                time_in_force=tx_pb2.TIME_IN_FORCE_GTC, maker_class=tx_pb2.MAKER_CLASS_DLP)))
            for env in setup:
                assert (await submit(env)).accepted
            await until(lambda: ex.executor.router.slabs[BOOK_A].best_ask(0) is not None, "the maker's ask")
            reserve = signed(taker, 30, reserve=tx_pb2.Reserve(
                route_id=1, instrument_id=BTC, side=tx_pb2.SIDE_BUY, qty_lots=1, limit_price_e6=MID + 10 * TICK,
                ttl_ms=10_000, commitment=commitment(1, BTC, tx_pb2.SIDE_BUY, 1, MID + 10 * TICK, SALT)))
            assert (await submit(reserve)).accepted
            hold = lambda: ex.executor.router.hold(bytes(taker.verify_key), 1)  # noqa: E731
            await until(lambda: hold() is not None, "the reserve to execute")
            root = ex.executor.state_root()

            wrong = await submit(commit(taker, 40, salt=b"x" * 16))
            assert not wrong.accepted and wrong.error_name == "REVEAL_MISMATCH", wrong
            if int(time.time() * 1000) // 50 == hold().reserve_epoch:
                same = await submit(commit(taker, 41))
                assert not same.accepted and same.error_name == "COMMIT_SAME_EPOCH", same
            assert ex.executor.state_root() == root, "a refused commit changes nothing"

            await until(lambda: int(time.time() * 1000) // 50 > hold().reserve_epoch, "a later epoch")
            good = await submit(commit(taker, 42))
            assert good.accepted, good
            await until(lambda: hold().status == HOLD_COMMITTED, "the commit to fill")
        refused = ex.ctx.registry.get_sample_value("executor_admission_refused_total", {"code": "REVEAL_MISMATCH"})
    assert refused == 1
