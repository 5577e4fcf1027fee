"""Arena persistence and whole-slab properties of the AMM (DESIGN §5, EXCHANGE §3/§4): bit-for-
bit rebuild, dirty pages, rejected operations change nothing, invariants over random streams,
determinism across processes, building from the devnet CurveScript."""
from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amm_support import (BUY, POOL_USER, PX, T0, apply_op, arena, make_config,
                         make_slab, random_op)
from executor.amm.config import AmmCapacities, AmmSlabConfig
from executor.amm.program import AmmSlab
from executor.errors import ErrorCode as E
from executor.errors import ExecutorError
from executor.slab.layout import MAX_ARENA_BYTES, PAGE_SIZE
from executor.slab.results import CommitResult, ReleaseResult, ReserveResult

REPO = Path(__file__).absolute().parents[2]


def _run(slab, seed, n, ids=None):
    rng = random.Random(seed)
    ids = {} if ids is None else ids
    return [apply_op(slab, random_op(rng, step), ids) for step in range(n)], ids


def test_rebuild_from_arena_is_bit_for_bit_and_continues_identically():
    slab = make_slab()
    _results, ids = _run(slab, 1, 500)
    copy = AmmSlab.from_arena(slab.config, slab.arena_bytes())
    assert arena(copy) == arena(slab) and copy.dirty_pages() == []
    assert copy.pool() == slab.pool() and copy.open_holds() == slab.open_holds()
    ids_copy = {k: list(v) for k, v in ids.items()}
    rng_a, rng_b = random.Random(99), random.Random(99)
    for step in range(500, 800):
        assert apply_op(slab, random_op(rng_a, step), ids) == apply_op(copy, random_op(rng_b, step),
                                                                        ids_copy)
    assert arena(copy) == arena(slab)


def test_from_arena_refuses_wrong_size_or_other_config():
    slab = make_slab()
    with pytest.raises(ExecutorError) as exc:
        AmmSlab.from_arena(slab.config, arena(slab)[:-PAGE_SIZE])
    assert exc.value.code == E.ARENA_MISMATCH
    with pytest.raises(ExecutorError) as exc:
        AmmSlab.from_arena(make_config(swap_fee_bps=11), arena(slab))
    assert exc.value.code == E.ARENA_MISMATCH


def test_dirty_pages_cover_every_changed_page():
    slab = make_slab()
    slab.clear_dirty()
    rng = random.Random(5)
    ids: dict = {}
    for step in range(300):
        before = arena(slab)
        apply_op(slab, random_op(rng, step), ids)
        after = arena(slab)
        changed = {i // PAGE_SIZE for i in range(0, len(after), 8) if before[i:i + 8] != after[i:i + 8]}
        assert changed <= set(slab.dirty_pages())
        for p in slab.dirty_pages():
            assert slab.page(p) == after[p * PAGE_SIZE:(p + 1) * PAGE_SIZE]
        slab.clear_dirty()


def test_arena_layout_is_whole_pages_and_refuses_more_than_10_mb():
    cfg = make_config()
    assert AmmSlab(cfg).layout.size % PAGE_SIZE == 0
    with pytest.raises(ExecutorError) as exc:
        AmmSlab(make_config(capacities=AmmCapacities(accounts=2, positions=2, reservations=2,
                                                     trades=MAX_ARENA_BYTES // 80 + 1)))
    assert exc.value.code == E.ARENA_TOO_LARGE
    with pytest.raises(ExecutorError) as exc:
        AmmSlab(make_config(base_reserve_lots=1))
    assert exc.value.code == E.BAD_CONFIG


_USERS = (1, 2, 3, 11, 12, 99)
_stream = st.lists(st.tuples(st.sampled_from(("reserve", "reserve", "commit", "commit", "release",
                                              "add", "remove", "batch_open", "oracle",
                                              "funding", "quote")),
                             st.sampled_from(_USERS), st.integers(0, 1),
                             st.sampled_from((1, 5, 40, 300, 2_500, 0, -3)),
                             st.integers(-40, 40), st.integers(0, 1 << 20)),
                   min_size=1, max_size=60)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_stream)
def test_rejected_operations_leave_the_arena_byte_identical(ops):
    slab = make_slab()
    ids: dict = {}
    for step, op in enumerate(ops):
        before = arena(slab)
        r = apply_op(slab, (*op, step), ids)
        if not r.ok or getattr(r, "noop", False) or op[0] == "quote":
            assert arena(slab) == before, (op, r)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_stream)
def test_invariants_hold_over_random_streams(ops):
    """k never decreases across a commit; open holds never oversell the curve; a commit fills
    exactly its captured quantity and price, once; positions and fees net to zero."""
    slab = make_slab()
    ids: dict = {}
    captured: dict = {}
    committed: set = set()
    for step, op in enumerate(ops):
        p0 = slab.pool()
        r = apply_op(slab, (*op, step), ids)
        p1 = slab.pool()
        if isinstance(r, ReserveResult) and r.ok:
            captured[r.hold_id] = (r.held_qty, r.vwap_px_e6)
        if isinstance(r, CommitResult):
            if r.ok:
                assert p1.base_reserve_lots * p1.quote_reserve_atoms >= (
                    p0.base_reserve_lots * p0.quote_reserve_atoms)
                assert r.hold_id not in committed
                committed.add(r.hold_id)
                assert (r.filled_qty, r.fills[0].price_e6) == captured[r.hold_id]
                assert r.fills[0].qty_lots == r.filled_qty
                fill = r.fills[0]
                assert fill.maker_user == POOL_USER and fill.maker_fee_atoms == -fill.taker_fee_atoms
                assert r.fee_pool_delta_atoms == r.arg_tax_atoms >= 0
            elif r.hold_id in committed:
                assert r.code == E.RESERVATION_CLOSED
        if isinstance(r, ReleaseResult) and r.hold_id in committed:
            assert r.ok and r.noop
        holds = slab.open_holds()
        assert p1.pending_buy_lots == sum(h["qty_lots"] for h in holds if h["side"] == BUY)
        assert p1.pending_sell_lots == sum(h["qty_lots"] for h in holds if h["side"] != BUY)
        assert p1.open_holds == len(holds)
        assert 1 <= p1.base_reserve_lots - p1.pending_buy_lots
        assert p1.quote_reserve_atoms >= 1
        traders = sum(slab.position(u)["qty_lots"] for u in _USERS)
        assert traders + slab.position(POOL_USER)["qty_lots"] == 0
        assert sum(slab.account(u).get("fees_paid_atoms", 0) for u in _USERS) == (
            slab.account(POOL_USER)["fees_earned_atoms"])
        assert p1.total_shares == sum(slab.account(u).get("lp_shares", 0)
                                      for u in (POOL_USER,) + _USERS)


_CHILD = """
import hashlib, random, sys
sys.path.insert(0, {here!r})
from amm_support import apply_op, arena, make_slab, random_op
slab = make_slab(); rng = random.Random(3); ids = {{}}
for step in range(400):
    apply_op(slab, random_op(rng, step), ids)
print(hashlib.sha256(arena(slab)).hexdigest())
"""


def test_same_operations_give_the_same_arena_in_separate_processes():
    code = _CHILD.format(here=str(Path(__file__).parent))
    digests = set()
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=REPO, env={**os.environ, "PYTHONHASHSEED": seed})
        assert out.returncode == 0, out.stderr
        digests.add(out.stdout.strip())
    slab = make_slab()
    _run(slab, 3, 400)
    assert digests == {hashlib.sha256(arena(slab)).hexdigest()}


def test_devnet_curvescript_amm_slab_builds_and_quotes_at_the_genesis_price():
    from executor.curvescript.checker import compile_file
    compiled = compile_file(REPO / "executor/curvescript/examples/devnet.curve")
    cfg = AmmSlabConfig.from_curvescript(compiled.config, "amm:ETH")
    assert cfg.instrument.symbol == "ETH-PERP" and cfg.swap_fee_bps == 10
    assert (cfg.base_reserve_lots, cfg.quote_reserve_atoms) == (100_000, 3_000_000_000_000)
    slab = AmmSlab(cfg)
    assert slab.layout.size <= MAX_ARENA_BYTES
    assert slab.update_oracle(0, PX, now_ms=T0).ok and slab.set_collateral(1, 10**12, now_ms=T0).ok
    q = slab.quote(0, BUY, 1, PX * 101 // 100, now_ms=T0)
    assert q.ok and PX < q.vwap_px_e6 <= PX + 5 * 10_000             # 1 lot barely moves it
    with pytest.raises(ExecutorError) as exc:
        AmmSlabConfig.from_curvescript(compiled.config, "book:ETH-A")
    assert exc.value.code == E.BAD_CONFIG
