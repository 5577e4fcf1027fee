"""Page store for fixed-layout regions: only dirty pages go into a block (DESIGN §5)."""
from __future__ import annotations

import pytest

from statetree import InvalidInput, StateTree, verify
from statetree.pages import MAX_REGION_BYTES, PageRegion, meta_key, page_key

SLAB = b"slab-7"


def test_a_new_region_writes_only_its_layout_and_the_pages_touched(tree):
    region = PageRegion(SLAB, 10 * 4096 + 100, page_bytes=4096)
    assert region.page_count == 11
    region.write(4095, b"\x01\x02")          # straddles pages 0 and 1
    region.write(10 * 4096 + 99, b"\xff")     # last, short page
    updates = region.updates()
    assert set(updates) == {meta_key(SLAB), page_key(SLAB, 0), page_key(SLAB, 1), page_key(SLAB, 10)}
    assert len(updates[page_key(SLAB, 10)]) == 100
    tree.apply(1, updates)
    region.mark_clean()
    assert region.updates() == {}
    loaded = PageRegion.load(tree, SLAB)
    assert loaded.buffer == region.buffer and loaded.size == region.size


def test_a_later_block_rewrites_only_dirty_pages(tree):
    region = PageRegion(SLAB, 64 * 1024, page_bytes=1024)
    region.write(0, b"\x01" * (64 * 1024))
    tree.apply(1, region.updates())
    region.mark_clean()
    region.write(5000, b"abc")
    region.mark_dirty(40 * 1024, 1)
    assert region.dirty_pages() == [4, 40]
    assert set(region.updates()) == {page_key(SLAB, 4), page_key(SLAB, 40)}
    root = tree.apply(2, region.updates())
    assert PageRegion.load(tree, SLAB).read(5000, 3) == b"abc"
    assert PageRegion.load(tree, SLAB, version=1).read(5000, 3) == b"\x01" * 3
    key = page_key(SLAB, 4)
    assert verify(root, key, tree.get(key), tree.prove(key))


def test_zeroed_pages_are_deleted_so_the_root_matches_a_fresh_region(tmp_path):
    a = StateTree(str(tmp_path / "a"), sync=False)
    b = StateTree(str(tmp_path / "b"), sync=False)
    try:
        region = PageRegion(SLAB, 8192, page_bytes=4096)
        region.write(10, b"junk")
        a.apply(1, region.updates())
        region.mark_clean()
        region.write(10, b"\x00" * 4)
        assert region.updates() == {page_key(SLAB, 0): None}
        a.apply(2, region.updates())
        assert a.root() == b.apply(1, PageRegion(SLAB, 8192, page_bytes=4096).updates())
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("size, page", [(0, 4096), (MAX_REGION_BYTES + 1, 4096), (4096, 0),
                                        (4096, 1 << 20)])
def test_bad_layouts_are_refused(size, page):
    with pytest.raises(InvalidInput):
        PageRegion(SLAB, size, page_bytes=page)


def test_out_of_range_access_is_refused():
    region = PageRegion(SLAB, 100, page_bytes=10)
    for call in (lambda: region.write(99, b"ab"), lambda: region.read(-1, 2),
                 lambda: region.mark_dirty(0, 101)):
        with pytest.raises(InvalidInput):
            call()
    assert region.dirty_pages() == []


def test_the_maximum_region_fits(tree):
    region = PageRegion(SLAB, MAX_REGION_BYTES)
    region.write(MAX_REGION_BYTES - 1, b"\x01")
    tree.apply(1, region.updates())
    assert PageRegion.load(tree, SLAB).read(MAX_REGION_BYTES - 1, 1) == b"\x01"


def test_loading_a_region_that_does_not_exist_is_refused(tree):
    tree.apply(1, {})
    with pytest.raises(InvalidInput):
        PageRegion.load(tree, b"nope")
