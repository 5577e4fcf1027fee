"""Slab set: built from the devnet CurveScript, persisted as pages, rebuilt bit-for-bit (DESIGN §5)."""
from __future__ import annotations

from pathlib import Path

import pytest

from executor import slabs as slabs_mod
from executor.curvescript import compile_file
from executor.slab.program import BUY, DLP
from statetree import StateTree

DEVNET = Path(__file__).resolve().parents[2] / "executor" / "curvescript" / "examples" / "devnet.curve"


@pytest.fixture(scope="module")
def config():
    return compile_file(DEVNET).config


def test_numbering_is_one_based_in_sorted_order(config):
    names = [s.slab_id for s in config.slabs]
    assert names == sorted(names)
    assert [slabs_mod.slab_number(config, n) for n in names] == list(range(1, len(names) + 1))
    assert slabs_mod.instrument_number(config, config.instruments[0].symbol) == 1


def test_book_config_carries_the_curvescript_parameters(config):
    book = next(s for s in config.slabs if s.kind == "book")
    cfg = slabs_mod.book_slab_config(config, book.slab_id)
    assert cfg.slab_id == slabs_mod.slab_number(config, book.slab_id)
    assert cfg.taker_fee_bps == book.fee.taker_bps and cfg.imr_bps == book.risk.imr_bps
    assert cfg.capacities.orders == book.pools.orders
    assert [i.symbol for i in cfg.instruments] == list(book.instruments)
    assert cfg.fee_cap_taker_bps <= config.router.fee_cap.taker_bps


def test_slab_set_round_trips_through_the_tree(config, tmp_path):
    tree = StateTree(str(tmp_path / "db"))
    sset = slabs_mod.SlabSet.genesis(config)
    tree.apply(1, sset.take_updates())
    sset.mark_clean()
    # Change one book slab, persist only its dirty pages, then rebuild everything from the tree.
    number = next(n for n in sset if config.slabs[n - 1].kind == "book")
    slab = sset.slabs[number]
    assert slab.set_collateral(7, 100_000_000, maker_class=DLP, now_ms=1).ok
    assert slab.update_oracle(0, 60_000_000_000, now_ms=1).ok
    assert slab.place_order(7, 0, BUY, 59_000_000_000, 1, now_ms=1).ok
    updates = sset.take_updates()
    assert 0 < len(updates) < 10, "only the touched pages are written"
    tree.apply(2, updates)
    sset.mark_clean()
    again = slabs_mod.SlabSet.load(config, tree)
    for n in sset:
        assert bytes(again.slabs[n].arena_bytes()) == bytes(sset.slabs[n].arena_bytes()), n
    assert again.slabs[number].best_bid(0) == slab.best_bid(0)
    tree.close()
