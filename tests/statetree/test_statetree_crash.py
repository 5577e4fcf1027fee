"""Crash atomicity: SIGKILL in the middle of ``apply``, many times (DESIGN §5, issue 3)."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crash_child import block_updates, universe
from statetree import StateTree, reference_root, verify

ROUNDS = 20
REPO = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("crash_child.py")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_apply_leaves_a_whole_version_that_proves(tmp_path):
    path = str(tmp_path / "state")
    keys = universe()
    rng = random.Random(99)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    expected = StateTree(str(tmp_path / "expected"), sync=False)
    model: dict[bytes, bytes] = {}
    resumed_from = []
    try:
        for _ in range(ROUNDS):
            child = subprocess.Popen([sys.executable, str(CHILD), path], env=env,
                                     stdout=subprocess.PIPE, text=True)
            ready = child.stdout.readline().split()
            assert ready[0] == "ready"
            resumed_from.append(int(ready[1]))
            time.sleep(rng.uniform(0.02, 0.5))
            child.send_signal(signal.SIGKILL)
            child.wait()
            child.stdout.close()

            tree = StateTree(path, sync=False, cache_nodes=0)
            try:
                version = tree.latest_version()
                assert version is not None
                # bring the in-process model up to the version the child reached
                while (expected.latest_version() or 0) < version:
                    v = (expected.latest_version() or 0) + 1
                    batch = block_updates(v, keys)
                    expected.apply(v, batch)
                    for k, val in batch.items():
                        if val is None:
                            model.pop(k, None)
                        else:
                            model[k] = val
                assert tree.root() == expected.root(version)
                assert tree.get_meta(b"height") == version.to_bytes(8, "big")
                root = tree.root()
                for key in rng.sample(keys, 60):
                    value = tree.get(key)
                    assert value == model.get(key)
                    assert verify(root, key, value, tree.prove(key))
            finally:
                tree.close()
        assert reference_root(model) == expected.root()
        # the child really was interrupted while working, round after round
        assert resumed_from[-1] > 3, "the child made too little progress to test anything"
    finally:
        expected.close()
