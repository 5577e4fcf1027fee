"""CurveScript test fixtures; also makes ``cs_helpers`` importable (--import-mode=importlib)."""
import shutil
import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from cs_helpers import DEVNET_CURVE, compile_stub  # noqa: E402


@pytest.fixture(scope="session")
def devnet_source() -> str:
    return DEVNET_CURVE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def devnet_compiled(devnet_source):
    return compile_stub(devnet_source)


@pytest.fixture(scope="session")
def frozen_executor(tmp_path_factory):
    """A copy of executor/ sources: others edit the live tree while these tests run."""
    from cs_helpers import REPO
    dst = tmp_path_factory.mktemp("frozen") / "executor"
    shutil.copytree(REPO / "executor", dst, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.c"))
    return dst
