"""Fixtures shared by every role's tests."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Test helper modules (tests/support.py, tests/node/nodeproc.py) import by plain name.  They are
# appended, after the repository root, so tests/<role>/ never shadows the <role> package.
for _dir in (Path(__file__).parent, Path(__file__).parent / "node"):
    if str(_dir) not in sys.path:
        sys.path.append(str(_dir))


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def assetl2_cmd() -> list[str]:
    """The installed console command, run with this interpreter (works in any venv)."""
    return [sys.executable, "-m", "node.cli"]


@pytest.fixture
def clean_env() -> dict[str, str]:
    """The environment without ASSETL2__ overrides, so a developer's shell cannot leak in."""
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("ASSETL2__")}
