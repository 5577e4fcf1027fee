"""Operator mistakes: one line naming the cause, exit code != 0, nothing half-written (issue 2)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from node import keys
from node.store import DataDirError, NodeStore

import nodeproc


def run_cli(*args: str, env: dict | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("ASSETL2__")}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "node.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=environ)


def assert_one_line_error(res: subprocess.CompletedProcess, fragment: str) -> None:
    assert res.returncode != 0
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("assetl2: error: ")
    assert fragment in lines[0], lines[0]


def test_missing_config_file(tmp_path):
    assert_one_line_error(run_cli("run", "--config", str(tmp_path / "none.toml")), "does not exist")


def test_unknown_config_key_writes_nothing(tmp_path):
    cfg = tmp_path / "node.toml"
    cfg.write_text('[node]\ndata_dir = "data"\nbogus = 1\n')
    assert_one_line_error(run_cli("run", "--config", str(cfg), "--init"), "node.bogus")
    assert not (tmp_path / "data").exists()


def test_bad_environment_override(tmp_path):
    cfg, _, _ = nodeproc.write_config(tmp_path)
    res = run_cli("run", "--config", str(cfg), env={"ASSETL2__GRPC__LISTEN": "nowhere"})
    assert_one_line_error(res, "grpc.listen")


def test_missing_key_file_without_init(tmp_path):
    cfg, _, _ = nodeproc.write_config(tmp_path)
    assert_one_line_error(run_cli("run", "--config", str(cfg)), "keys new")
    assert not (tmp_path / "data" / "node.db").exists()


def test_world_readable_key_is_refused(tmp_path):
    cfg, _, _ = nodeproc.write_config(tmp_path)
    key_path = tmp_path / "data" / "node-key.json"
    keys.write(key_path, keys.NodeKey.generate())
    os.chmod(key_path, 0o644)
    assert_one_line_error(run_cli("run", "--config", str(cfg)), "chmod 600")
    assert not (tmp_path / "data" / "node.db").exists()


def test_invalid_keypair_file_is_refused(tmp_path):
    cfg, _, _ = nodeproc.write_config(tmp_path)
    key_path = tmp_path / "data" / "node-key.json"
    key_path.parent.mkdir(parents=True)
    key_path.write_text(json.dumps([1] * 10))
    os.chmod(key_path, 0o600)
    assert_one_line_error(run_cli("run", "--config", str(cfg)), "64 bytes")


@pytest.mark.parametrize("which", ["grpc", "admin"])
def test_port_in_use_is_one_line_and_opens_no_store(tmp_path, which):
    cfg, grpc_addr, admin_addr = nodeproc.write_config(tmp_path)
    host, port = (grpc_addr if which == "grpc" else admin_addr).rsplit(":", 1)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
        blocker.bind((host, int(port)))
        blocker.listen()
        res = run_cli("run", "--config", str(cfg), "--init")
    assert_one_line_error(res, f"{which}.listen")
    assert not (tmp_path / "data").exists(), "a failed start must not create the data dir or key"


def test_data_dir_of_another_chain_is_refused(tmp_path):
    store = NodeStore.open(tmp_path, chain_id="chain-a", node_id="n1")
    store.close()
    with pytest.raises(DataDirError, match="belongs to chain 'chain-a'"):
        NodeStore.open(tmp_path, chain_id="chain-b", node_id="n1")
    with pytest.raises(DataDirError, match="belongs to node n1"):
        NodeStore.open(tmp_path, chain_id="chain-a", node_id="n2")
    NodeStore.open(tmp_path, chain_id="chain-a", node_id="n1").close()


def test_keys_new_and_show(tmp_path):
    out = tmp_path / "k.json"
    res = run_cli("keys", "new", "--out", str(out))
    assert res.returncode == 0
    address = res.stdout.strip()
    assert run_cli("keys", "show", str(out)).stdout.strip() == address
    shown = json.loads(run_cli("keys", "show", str(out), "--json").stdout)
    assert shown["address"] == address and len(bytes.fromhex(shown["public_hex"])) == 32
    before = out.read_bytes()
    assert_one_line_error(run_cli("keys", "new", "--out", str(out)), "refusing to overwrite")
    assert out.read_bytes() == before


def test_keys_show_missing_file(tmp_path):
    assert_one_line_error(run_cli("keys", "show", str(tmp_path / "x.json")), "does not exist")


def test_check_config(tmp_path, repo):
    res = run_cli("check-config", "--config", str(repo / "deploy" / "node.example.toml"))
    assert res.returncode == 0 and "ok" in res.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[grpc]\nlisten = 1\n")
    assert_one_line_error(run_cli("check-config", "--config", str(bad)), "grpc.listen")


def test_unknown_command_exits_with_usage_error():
    res = run_cli("frobnicate")
    assert res.returncode == 2


def test_solana_dev_serves_json_rpc_and_stops_on_sigterm(tmp_path):
    """`assetl2 solana-dev` answers getHealth/getVersion on loopback and exits 0 on SIGTERM."""
    import signal
    import time
    import urllib.request

    from support import free_port

    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("ASSETL2__")}
    proc = subprocess.Popen([sys.executable, "-m", "node.cli", "solana-dev", "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=environ, text=True)
    try:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "getHealth"}).encode()
        deadline = time.monotonic() + 120
        answer = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}", data=body,
                                             headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=5) as resp:
                    answer = json.loads(resp.read())
                break
            except OSError:
                time.sleep(0.2)
        assert answer is not None, proc.stderr.read() if proc.poll() is not None else "no answer"
        assert answer["result"] == "ok"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert "listening on http://127.0.0.1" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_verify_anchor_against_an_unreachable_rpc_exits_3_with_one_line():
    from support import free_port

    res = run_cli("verify-anchor", "--rpc", f"http://127.0.0.1:{free_port()}")
    assert res.returncode == 3
    lines = [ln for ln in res.stderr.splitlines() + res.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("verify-anchor:"), lines
