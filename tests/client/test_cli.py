"""`assetl2 client` and `assetl2 devnet`: every wrong argument is one line on stderr, exit ≠ 0."""
from __future__ import annotations

import subprocess
import sys

import pytest

from support import free_port

BAD = [
    (["client"], "COMMAND"),
    (["client", "nope"], "invalid choice"),
    (["client", "book", "--slab", "x", "--instrument", "1"], "--slab"),
    (["client", "book", "--slab", "0", "--instrument", "1"], "positive"),
    (["client", "book", "--instrument", "1"], "--slab"),
    (["client", "place", "--dev", "account-1", "--slab", "2", "--instrument", "1", "--side", "up",
      "--qty-lots", "1", "--price-e6", "1"], "--side"),
    (["client", "place", "--slab", "2", "--instrument", "1", "--side", "buy", "--qty-lots", "1",
      "--price-e6", "1"], "--key FILE or --dev ROLE"),
    (["client", "deposit", "--key", "/nonexistent/key.json", "--amount-atoms", "5"], "key"),
    (["client", "account", "--user", "not-base58!"], "base58"),
    (["client", "watch", "--kind", "everything"], "--kind"),
    (["client", "reserve", "--dev", "account-0", "--route-id", "1", "--instrument", "1", "--side", "buy",
      "--qty-lots", "1", "--limit-e6", "-5"], "--limit-e6"),
    (["devnet", "--nodes", "3"], "--nodes"),
    (["devnet", "--duration", "-1"], "--duration"),
    (["devnet", "--bogus"], "unrecognized"),
    (["bench", "nope"], "bench load"),
    (["bench", "load", "--clients", "0"], "--clients"),
    (["bench", "load", "--tx", "withdraw"], "--tx"),
]


def run(args, timeout=60):
    return subprocess.run([sys.executable, "-m", "node.cli", *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("args,needle", BAD, ids=[" ".join(a)[:60] for a, _ in BAD])
def test_a_wrong_argument_is_one_line_and_a_nonzero_exit(args, needle):
    res = run(args)
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert needle in lines[0] and "error" in lines[0]
    assert "Traceback" not in res.stderr


def test_an_unreachable_node_is_one_line():
    res = run(["client", "status", "--node", f"127.0.0.1:{free_port()}"])
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not answer" in lines[0]


def test_client_help_lists_the_commands():
    res = run(["client", "--help"])
    assert res.returncode == 0
    for cmd in ("deposit", "place", "cancel", "reserve", "commit", "cancel-hold", "book", "account",
                "block", "batch", "status", "watch"):
        assert cmd in res.stdout
