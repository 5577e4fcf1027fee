"""Exceptions raised by the state tree (DESIGN §5).

Bad input raises a ``ValueError`` subclass *before* anything is written; damage on
disk raises ``StateCorruption``, never a silent "absent".
"""
from __future__ import annotations


class StateTreeError(Exception):
    """Base of every exception this package raises on purpose."""


class InvalidInput(StateTreeError, ValueError):
    """A key, value, version or proof argument that the API refuses; nothing was written."""


class VersionNotFound(StateTreeError, LookupError):
    """A read at a version that was never applied or has been pruned."""

    def __init__(self, version: int, detail: str) -> None:
        super().__init__(f"version {version}: {detail}")
        self.version = version


class StateCorruption(StateTreeError):
    """A stored node or value is missing or does not match the hash that refers to it.

    ``db_key`` is the LevelDB key that was missing or wrong and ``version`` the
    tree version being read, so an operator can tell what to restore.
    """

    def __init__(self, message: str, *, db_key: bytes = b"", version: int | None = None) -> None:
        super().__init__(f"{message} (db key {db_key.hex()}, version {version})")
        self.db_key = db_key
        self.version = version
