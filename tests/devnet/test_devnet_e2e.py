"""`assetl2 devnet` end to end (issue 8): a real Solana dev RPC, a real 4-node cluster with
all three roles and the demo workload, observed from outside with the client SDK and the
auditor check; and a one-node devnet stopped with Ctrl-C.  Bounded in time, loopback only."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from node.client import Client, Wallet

DUR_4 = 70
REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
# docs/client.md's examples and a line each must print when it worked
EXAMPLES = {"read_state.py": "tampered proof rejected", "trade.py": "committed at height",
            "stream_orders.py": "10 executed", "watch.py": "block "}
READY_S = 150


def start(tmp: Path, *args: str) -> tuple[subprocess.Popen, Path]:
    out = tmp / "devnet.out"
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ASSETL2__")}
    proc = subprocess.Popen([sys.executable, "-m", "node.cli", "devnet", "--auto-ports", "--dir", str(tmp / "dn"),
                             "--summary-json", str(tmp / "summary.json"), *args],
                            stdout=open(out, "w"), stderr=subprocess.STDOUT, env=env, start_new_session=True)
    return proc, out


def wait_ready(proc: subprocess.Popen, tmp: Path, out: Path) -> dict:
    deadline = time.monotonic() + READY_S
    info = tmp / "dn" / "devnet.json"
    while time.monotonic() < deadline:
        assert proc.poll() is None, out.read_text()
        if info.exists():
            return json.loads(info.read_text())
        time.sleep(0.3)
    proc.kill()
    raise AssertionError("devnet never became ready:\n" + out.read_text())


def finish(proc: subprocess.Popen, out: Path, timeout: float) -> str:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError("devnet did not stop in time:\n" + out.read_text())
    return out.read_text()


async def anchored_batch(c: Client, min_index: int, timeout_s: float):
    """The first batch with index >= min_index that a node reports confirmed with a signature."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            b = await c.batch()
            if b.batch_index >= min_index:
                for i in range(min_index, b.batch_index + 1):
                    bi = await c.batch(i)
                    if bi.status == 3:
                        return bi
        except Exception:  # noqa: BLE001 - not posted yet
            pass
        time.sleep(0.5)
    raise AssertionError("no batch anchored in time")


@pytest.mark.timeout(300)
async def test_four_node_devnet_trades_agrees_and_anchors_verifiable_state(tmp_path):
    proc, out = start(tmp_path, "--nodes", "4", "--duration", str(DUR_4))
    try:
        info = wait_ready(proc, tmp_path, out)
        assert len(info["nodes"]) == 4
        clients = [await Client.connect(n["grpc"], "assetl2-devnet-1") for n in info["nodes"]]
        try:
            # all nodes: the same state root at the same height
            time.sleep(5)
            h = min([(await c.status()).height for c in clients])
            assert h > 0
            roots = {(await c.block(h)).state_root for c in clients}
            assert len(roots) == 1, f"nodes disagree at height {h}"
            # an account proof, verified by the SDK against a root anchored on the local RPC
            batch = await anchored_batch(clients[0], 2, 60)
            account0 = Wallet.dev("account-0").public
            acc = await clients[1].account(account0)          # proofs verified by default
            vault = acc.proofs[0]
            at = await clients[1].state_value(bytes(vault.key), height=batch.last_height)
            assert at.anchor.state_root == batch.state_root
        finally:
            for c in clients:
                await c.close()
        claim = {"key": bytes(vault.key).hex(), "value": bytes(at.value.value).hex(),
                 "proof": bytes(at.value.proof).hex(), "height": batch.last_height}
        (tmp_path / "claim.json").write_text(json.dumps(claim))
        res = subprocess.run([sys.executable, "-m", "node.cli", "verify-anchor", "--rpc", info["rpc_url"],
                              "--proof", str(tmp_path / "claim.json")], capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stdout + res.stderr
        text = finish(proc, out, DUR_4 + 90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, text
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["agreement"]["agree"] and len(s["agreement"]["roots"]) == 4, s["agreement"]
    assert s["fills"] > 0 and s["ok"].get("commit", 0) > 0 and s["ok"].get("place order", 0) > 0, s
    assert s["ok"].get("funding crank", 0) >= 1 and s["ok"].get("oracle update", 0) > 0, s
    assert s["batches_anchored"] >= 2, s
    assert s["audit"]["ok"] and s["audit"]["batch"] >= 2, s["audit"]
    assert all(code == 0 for code in s["exit_codes"].values()), s["exit_codes"]
    assert "[devnet] stopped" in text and (tmp_path / "dn" / "node3" / "node.log").exists(), "data kept"
    progress = [line for line in text.splitlines() if line.startswith("[devnet] height ")]
    assert progress and all(w in progress[-1] for w in ("view ", "epoch ", "tx/s ", "fills ", "batches anchored ")), text
    anchored = [line for line in text.splitlines() if " anchored: heights " in line]
    assert len(anchored) >= 2 and any(len(line.rsplit("solana ", 1)[1]) >= 80 for line in anchored), \
        "anchored batches are shown with their Solana signatures"


@pytest.mark.timeout(200)
async def test_one_node_devnet_runs_the_demo_and_stops_cleanly_on_ctrl_c(tmp_path):
    proc, out = start(tmp_path, "--nodes", "1", "--clean")
    try:
        info = wait_ready(proc, tmp_path, out)
        assert len(info["nodes"]) == 1
        deadline = time.monotonic() + 60
        c = await Client.connect(info["nodes"][0]["grpc"], "assetl2-devnet-1")
        try:
            while time.monotonic() < deadline and "batch 1 anchored" not in out.read_text():
                time.sleep(0.5)
            assert (await c.status()).height > 0
        finally:
            await c.close()
        env = dict(os.environ, ASSETL2_NODE=info["nodes"][0]["grpc"])
        for example, expect in EXAMPLES.items():
            res = subprocess.run([sys.executable, str(DOCS / "examples" / example)], capture_output=True, text=True,
                                 timeout=90, env=env, cwd=REPO)
            assert res.returncode == 0, f"{example}:\n{res.stdout}{res.stderr}"
            assert expect in res.stdout, f"{example}:\n{res.stdout}"
        load = subprocess.run([sys.executable, "-m", "node.cli", "bench", "load", "--node", info["nodes"][0]["grpc"],
                               "--clients", "5", "--rate", "100", "--duration", "4", "--json"],
                              capture_output=True, text=True, timeout=90)
        assert load.returncode == 0, load.stderr
        r = json.loads(load.stdout.strip().splitlines()[-1])
        assert r["sent"] > 0 and r["decided"] == r["admitted"] > 0 and r["decide_latency"]["n"] > 0, r
        assert r["admission_latency"]["p50_ms"] <= r["decide_latency"]["p99_ms"]
        c = await Client.connect(info["nodes"][0]["grpc"], "assetl2-devnet-1")
        try:
            assert (await c.status()).height > 0
        finally:
            await c.close()
        os.killpg(proc.pid, signal.SIGINT)   # what Ctrl-C in a terminal does
        text = finish(proc, out, 60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, text
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["fills"] > 0 and s["batches_anchored"] >= 1, s
    assert all(code == 0 for code in s["exit_codes"].values()), s["exit_codes"]
    assert not (tmp_path / "dn").exists(), "--clean removes the data directory"


def test_the_client_guide_shows_exactly_the_tested_examples():
    """docs/client.md embeds each example verbatim, so what readers copy is what the tests run."""
    md = (DOCS / "client.md").read_text()
    for example in EXAMPLES:
        marker = f"<!-- example: docs/examples/{example}"
        assert marker in md, f"{example} is not shown in docs/client.md"
        block = md.split(marker, 1)[1].split("```python\n", 1)[1].split("```\n", 1)[0]
        assert block == (DOCS / "examples" / example).read_text(), f"docs/client.md shows a stale {example}"
    assert set(EXAMPLES) == {p.name for p in (DOCS / "examples").glob("*.py")}
