"""The executor's view of state: typed records over ``statetree`` with per-transaction undo.

DESIGN §3/§5 and EXCHANGE §2: every transaction is all-or-nothing, and a block is one
``statetree.apply``.  ``ExecState`` is a read-through cache of decoded records keyed by their
tree key, with

- an **undo journal**: ``savepoint()`` before a transaction, ``rollback(sp)`` on rejection
  restores every record it touched, so "a rejected transaction changes nothing" is structural
  rather than something each handler must remember;
- a **dirty set**: ``take_updates()`` encodes exactly the records changed since the last block,
  in key order, for ``StateTree.apply`` — nothing is iterated in hash order.

Records are immutable values (frozen dataclasses with ``encode``/``decode``); changing one means
``put``-ting a new value, which is what makes the journal a list of (key, previous value).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generic, Optional, Protocol, TypeVar

from statetree import StateTree, derive_key

R = TypeVar("R", bound="Record")
_ABSENT = object()


class Record(Protocol):
    """A value stored in the tree: canonical bytes in, canonical bytes out."""

    def encode(self) -> bytes: ...

    @classmethod
    def decode(cls: type[R], raw: bytes) -> R: ...


@dataclass(frozen=True)
class Table(Generic[R]):
    """One record type under one key namespace (statetree/keys.py)."""

    namespace: str
    record: type[R]

    def key(self, *parts) -> bytes:
        return derive_key(self.namespace, *parts)


class ExecState:
    """Records of the latest version plus this block's uncommitted changes."""

    def __init__(self, tree: StateTree):
        self.tree = tree
        self._cache: dict[bytes, object] = {}
        self._dirty: set[bytes] = set()
        self._journal: list[tuple[bytes, object, bool]] = []

    # ------------------------------------------------------------------ reads

    def get(self, table: Table[R], *parts) -> Optional[R]:
        """The record at ``table.key(*parts)``, or None."""
        return self.get_by_key(table, table.key(*parts))

    def get_by_key(self, table: Table[R], key: bytes) -> Optional[R]:
        value = self._cache.get(key, _ABSENT)
        if value is _ABSENT:
            raw = self.tree.get(key) if self.tree.latest_version() is not None else None
            value = None if raw is None else table.record.decode(raw)
            self._cache[key] = value
        return value  # type: ignore[return-value]

    # ------------------------------------------------------------------ writes

    def put(self, table: Table[R], parts: tuple, record: Optional[R]) -> None:
        """Set (or with None, delete) a record; journaled for rollback."""
        self.put_by_key(table, table.key(*parts), record)

    def put_by_key(self, table: Table[R], key: bytes, record: Optional[R]) -> None:
        old = self.get_by_key(table, key)
        self._journal.append((key, old, key in self._dirty))
        self._cache[key] = record
        self._dirty.add(key)

    # ------------------------------------------------------------------ transactions

    def savepoint(self) -> int:
        return len(self._journal)

    def rollback(self, savepoint: int) -> None:
        """Undo every put since ``savepoint``, newest first."""
        journal = self._journal
        while len(journal) > savepoint:
            key, old, was_dirty = journal.pop()
            self._cache[key] = old
            if not was_dirty:
                self._dirty.discard(key)

    def release(self, savepoint: int) -> None:
        """Keep the changes; at the outermost level the journal is dropped."""
        if savepoint == 0:
            self._journal.clear()

    # ------------------------------------------------------------------ block end

    def take_updates(self) -> dict[bytes, Optional[bytes]]:
        """Encoded changes since the last call, in key order; clears the dirty set."""
        if self._journal:
            raise RuntimeError("take_updates inside an open transaction")
        updates: dict[bytes, Optional[bytes]] = {}
        for key in sorted(self._dirty):
            value = self._cache[key]
            updates[key] = None if value is None else value.encode()  # type: ignore[attr-defined]
        self._dirty.clear()
        return updates

    def discard_block(self) -> None:
        """Forget uncommitted changes (a block that failed as a whole)."""
        for key in self._dirty:
            self._cache.pop(key, None)
        self._dirty.clear()
        self._journal.clear()


@dataclass(frozen=True)
class Raw:
    """A record that is its own bytes (indexes and counters the executor keeps in state)."""

    data: bytes

    def encode(self) -> bytes:
        return self.data

    @classmethod
    def decode(cls, raw: bytes) -> "Raw":
        return cls(raw)


RAW = Table("meta", Raw)
