"""Fixtures for the statetree tests (DESIGN §5).

``tests/`` is on ``sys.path`` (root conftest), where this folder would shadow the
``statetree`` package as a namespace package; the repository root goes first so the
real package is imported, and this folder is added for ``statetree_helpers``.
"""
from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
for _dir in (_HERE, _HERE.parent.parent):
    if str(_dir) in sys.path:
        sys.path.remove(str(_dir))
    sys.path.insert(0, str(_dir))
if "statetree" in sys.modules and getattr(sys.modules["statetree"], "__file__", None) is None:
    del sys.modules["statetree"]  # a namespace-package stand-in for this folder

import pytest  # noqa: E402

from statetree import StateTree  # noqa: E402


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "state")


@pytest.fixture
def tree(db_path):
    t = StateTree(db_path, sync=False)
    yield t
    t.close()
