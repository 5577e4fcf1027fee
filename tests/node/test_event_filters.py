"""StreamEvents filters (client.proto): kinds and user select what a subscriber receives."""
from __future__ import annotations

from node.executor_role import _concerns, _kinds
from proto.assetl2.v1 import client_pb2, state_pb2

ALICE, BOB = b"\x01" * 32, b"\x02" * 32


def test_no_kinds_means_every_kind():
    assert _kinds([]) == {"block", "fill", "order_update", "batch"}
    assert _kinds([client_pb2.EVENT_KIND_FILL]) == {"fill"}


def test_user_filter_keeps_own_fills_and_orders_and_all_blocks():
    fill = state_pb2.Event(height=1, fill=state_pb2.Fill(maker=ALICE, taker=BOB))
    order = state_pb2.Event(height=1, order_update=state_pb2.OrderUpdate(owner=BOB))
    block = state_pb2.Event(height=1, block=state_pb2.BlockInfo())
    assert _concerns(fill, ALICE) and _concerns(fill, BOB)
    assert not _concerns(order, ALICE) and _concerns(order, BOB)
    assert _concerns(block, ALICE)
    assert _concerns(order, b"")
