"""Fixed-layout regions (slab arenas, <= 10 MB) stored as keyed pages (DESIGN §5).

A slab's memory is one linear arena (EXCHANGE §3).  Storing it as one value would
rewrite megabytes per block; here it is cut into fixed-size pages, page ``i`` at
``derive_key("slab-page", region_id, i)``, and only pages dirtied since the last
commit are handed to the block's update set -- a block costs O(pages touched).

``PageRegion`` never writes by itself: ``updates()`` returns the entries to merge
into the block's single ``StateTree.apply`` (one block = one write batch), and
``mark_clean()`` is called once that apply has succeeded.  An all-zero page is
stored as *absent* (None), so a fresh arena costs nothing and the state root does
not depend on whether a zero page was ever touched.

Writes must go through ``write`` (or be declared with ``mark_dirty`` when code such
as the Cython matching core writes into ``buffer`` directly).
"""
from __future__ import annotations

from typing import Optional

from .errors import InvalidInput, StateCorruption
from .keys import derive_key
from .tree import MAX_VALUE_BYTES, StateTree

MAX_REGION_BYTES = 10 * 1024 * 1024
DEFAULT_PAGE_BYTES = 4096
META_MAGIC = b"PGR1"
_META_BYTES = len(META_MAGIC) + 8 + 4


def page_key(region_id: bytes, index: int) -> bytes:
    """State key of page ``index`` of ``region_id``."""
    return derive_key("slab-page", region_id, index)


def meta_key(region_id: bytes) -> bytes:
    """State key of the region's layout record (size and page size)."""
    return derive_key("slab-meta", region_id)


def _encode_meta(size: int, page_bytes: int) -> bytes:
    return META_MAGIC + size.to_bytes(8, "big") + page_bytes.to_bytes(4, "big")


class PageRegion:
    """A zero-initialised region of ``size`` bytes in pages of ``page_bytes`` (last may be short)."""

    def __init__(self, region_id: bytes, size: int, page_bytes: int = DEFAULT_PAGE_BYTES) -> None:
        if not isinstance(region_id, (bytes, bytearray)) or not region_id:
            raise InvalidInput("region_id must be non-empty bytes")
        if not isinstance(size, int) or not 0 < size <= MAX_REGION_BYTES:
            raise InvalidInput(f"region size must be in 1..{MAX_REGION_BYTES} bytes")
        if not isinstance(page_bytes, int) or not 0 < page_bytes <= MAX_VALUE_BYTES:
            raise InvalidInput(f"page size must be in 1..{MAX_VALUE_BYTES} bytes")
        self.region_id = bytes(region_id)
        self.size = size
        self.page_bytes = page_bytes
        self.page_count = (size + page_bytes - 1) // page_bytes
        self.buffer = bytearray(size)
        self._dirty: set[int] = set()
        self._meta_dirty = True

    @classmethod
    def load(cls, tree: StateTree, region_id: bytes, version: Optional[int] = None) -> "PageRegion":
        """The region as stored in ``tree`` at ``version`` (default latest)."""
        raw = tree.get(meta_key(region_id), version)
        if raw is None:
            raise InvalidInput(f"region {bytes(region_id).hex()} does not exist at version {version}")
        if len(raw) != _META_BYTES or not raw.startswith(META_MAGIC):
            raise StateCorruption("region layout record unreadable", db_key=meta_key(region_id),
                                  version=version)
        size = int.from_bytes(raw[4:12], "big")
        page_bytes = int.from_bytes(raw[12:16], "big")
        region = cls(region_id, size, page_bytes)
        for index in range(region.page_count):
            page = tree.get(page_key(region.region_id, index), version)
            if page is None:
                continue
            start, end = region._bounds(index)
            if len(page) != end - start:
                raise StateCorruption(f"page {index} has {len(page)} bytes, expected {end - start}",
                                      db_key=page_key(region.region_id, index), version=version)
            region.buffer[start:end] = page
        region._meta_dirty = False
        return region

    def _bounds(self, index: int) -> tuple[int, int]:
        start = index * self.page_bytes
        return start, min(start + self.page_bytes, self.size)

    def _check_range(self, offset: int, length: int) -> None:
        if not (isinstance(offset, int) and isinstance(length, int)
                and offset >= 0 and length >= 0 and offset + length <= self.size):
            raise InvalidInput(f"range [{offset}, {offset}+{length}) is outside the {self.size}-byte region")

    def read(self, offset: int, length: int) -> bytes:
        """Bytes ``[offset, offset+length)``."""
        self._check_range(offset, length)
        return bytes(self.buffer[offset:offset + length])

    def write(self, offset: int, data: bytes) -> None:
        """Overwrite bytes at ``offset`` and mark the pages they touch dirty."""
        self._check_range(offset, len(data))
        self.buffer[offset:offset + len(data)] = data
        self.mark_dirty(offset, len(data))

    def mark_dirty(self, offset: int, length: int) -> None:
        """Declare ``[offset, offset+length)`` changed (for writes made through ``buffer``)."""
        self._check_range(offset, length)
        if length:
            first = offset // self.page_bytes
            last = (offset + length - 1) // self.page_bytes
            self._dirty.update(range(first, last + 1))

    def dirty_pages(self) -> list[int]:
        """Indices of pages changed since the last ``mark_clean``, ascending."""
        return sorted(self._dirty)

    def updates(self) -> dict[bytes, Optional[bytes]]:
        """State updates for this block: dirty pages (None for all-zero pages) and, for a
        new region, its layout record.  Does not clear anything; see ``mark_clean``."""
        out: dict[bytes, Optional[bytes]] = {}
        if self._meta_dirty:
            out[meta_key(self.region_id)] = _encode_meta(self.size, self.page_bytes)
        for index in sorted(self._dirty):
            start, end = self._bounds(index)
            page = bytes(self.buffer[start:end])
            out[page_key(self.region_id, index)] = page if page.count(0) != len(page) else None
        return out

    def mark_clean(self) -> None:
        """Forget dirty pages: call after the ``apply`` carrying ``updates()`` returned."""
        self._dirty.clear()
        self._meta_dirty = False
