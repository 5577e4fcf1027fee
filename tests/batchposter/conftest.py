"""Fixtures of tests/batchposter; the helpers live in anchor_harness.py, importable by name."""

import sys
from pathlib import Path

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from anchor_harness import anchor, deployed, program_elf  # noqa: E402,F401
