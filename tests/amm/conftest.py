"""Makes ``amm_support`` and ``reference`` importable by plain name (like tests/support.py)."""
from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
