"""The sequencer's admission pre-check (DESIGN §3, issue 6 item 4) agrees with the executor.

``Router.admission_check`` applies the same pure rule (``check_reveal``) as a commit does, at
the admission clock: for every commit it refuses, executing the commit at that moment gives
the same code, and it never changes anything."""
from __future__ import annotations

import pytest

from executor.errors import ErrorCode as E
from executor.errors import ExecutorError
from proto.assetl2.v1 import tx_pb2
from router_support import BTC, BTC_A, BTC_B, BUY, MAKER_A, MAKER_B, SALT, SELL, TAKER, TAKER2, World, book_px


def commit_payload(route_id: int, qty: int = 10, salt: bytes = SALT) -> tx_pb2.Payload:
    p = tx_pb2.Payload(chain_id="test", valid_until_ms=1)
    p.commit.CopyFrom(tx_pb2.Commit(route_id=route_id, reveal=tx_pb2.Reveal(
        salt=salt, instrument_id=BTC, side=BUY, qty_lots=qty, limit_price_e6=book_px(60000))))
    return p


def admission(w: World, signer: bytes, payload) -> E | None:
    snap = w.snapshot()
    try:
        w.router.admission_check(signer, payload, w.now)
        code = None
    except ExecutorError as err:
        code = err.code
    assert w.snapshot() == snap, "admission reads only"
    return code


def execute(w: World, signer: bytes, payload) -> E | None:
    code, _events = w.try_apply(signer, commit=payload.commit)
    return None if code == 0 else E(code)


@pytest.fixture
def reserved():
    w = World()
    w.place(MAKER_A, BTC_A, BTC, SELL, 5, book_px(59900))
    w.place(MAKER_B, BTC_B, BTC, SELL, 5, book_px(59950))
    w.reserve(TAKER, 1, BTC, BUY, 10, book_px(60000), ttl=120)
    return w


@pytest.mark.parametrize("case, expected", [
    ("same epoch", E.COMMIT_SAME_EPOCH),
    ("wrong salt", E.REVEAL_MISMATCH),
    ("other fields", E.REVEAL_MISMATCH),
    ("expired", E.HOLD_EXPIRED),
    ("committed", E.HOLD_ALREADY_COMMITTED),
    ("cancelled", E.HOLD_CLOSED),
    ("good", None),
])
def test_admission_refuses_exactly_what_the_commit_would_refuse(reserved, case, expected):
    w = reserved
    payload = commit_payload(1)
    if case != "same epoch":
        w.next_epoch()
    if case == "wrong salt":
        payload = commit_payload(1, salt=b"x" * 16)
    elif case == "other fields":
        payload = commit_payload(1, qty=9)
    elif case == "expired":
        w.now += 200              # past the 120 ms TTL, before the next boundary sweeps it
    elif case == "committed":
        w.commit(TAKER, 1, BTC, BUY, 10, book_px(60000))
        w.next_epoch()
    elif case == "cancelled":
        w.cancel_hold(TAKER, 1)
    assert admission(w, TAKER, payload) == expected
    assert execute(w, TAKER, payload) == expected


def test_unknown_route_and_other_transactions_are_left_to_the_executor(reserved):
    w = reserved
    w.next_epoch()
    assert admission(w, TAKER2, commit_payload(1)) is None, "TAKER2's route 1 may still be in flight"
    assert admission(w, TAKER, commit_payload(7)) is None
    p = tx_pb2.Payload(chain_id="test", valid_until_ms=1)
    p.cancel_hold.CopyFrom(tx_pb2.CancelHold(route_id=1))
    assert admission(w, TAKER, p) is None
