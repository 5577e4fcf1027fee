"""``python -m executor.curvescript``: the operator's check/fmt/transcript/manifest tool."""
from __future__ import annotations

import json

import pytest

from executor.curvescript.__main__ import main

from cs_helpers import DEVNET_CURVE

try:
    import executor.slab.layout  # noqa: F401
except ImportError as exc:
    pytest.skip(f"executor.slab.layout not importable yet ({exc}); the CLI uses the real arena check",
                allow_module_level=True)


def test_check_prints_the_fingerprint(capsys):
    assert main(["check", str(DEVNET_CURVE)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok config-fingerprint ") and len(out.split()[-1]) == 64


def test_check_lists_every_error_and_fails(tmp_path, capsys):
    bad = tmp_path / "bad.curve"
    bad.write_text("ROUTER {\n    CAP_TTL ms=0\n}\n")
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert f"{bad}:2:16: CS205 CAP_TTL ms=0 is outside [1, 120000]" in err and len(err) == 5


def test_fmt_transcript_and_manifest_agree(capsys):
    assert main(["check", str(DEVNET_CURVE)]) == 0
    fp = capsys.readouterr().out.split()[-1]
    assert main(["transcript", str(DEVNET_CURVE)]) == 0
    assert f"config-fingerprint {fp}\n" in capsys.readouterr().out
    assert main(["manifest", str(DEVNET_CURVE)]) == 0
    assert json.loads(capsys.readouterr().out)["config_fingerprint"] == fp
    assert main(["fmt", str(DEVNET_CURVE)]) == 0
    assert capsys.readouterr().out.startswith("ROUTER {\n    COLLATERAL asset=USDC decimals=6")
