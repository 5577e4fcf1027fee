"""Start ``assetl2 run`` as a real subprocess on free loopback ports, for tests."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from support import free_port

START_TIMEOUT_S = 30.0


@dataclass
class NodeProc:
    proc: subprocess.Popen
    grpc: str
    admin: str
    data_dir: Path
    config: Path
    log_path: Path

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def http(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://{self.admin}{path}", timeout=5) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def status(self) -> dict:
        return json.loads(self.http("/status")[1])

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def write_config(tmp: Path, *, chain_id: str = "assetl2-devnet-1", extra: str = "") -> tuple[Path, str, str]:
    grpc_addr = f"127.0.0.1:{free_port()}"
    admin_addr = f"127.0.0.1:{free_port()}"
    peer_addr = f"127.0.0.1:{free_port()}"
    cfg = tmp / "node.toml"
    cfg.write_text(
        f'[node]\nchain_id = "{chain_id}"\ndata_dir = "data"\nlog_format = "json"\nshutdown_grace_s = 2\n'
        f'[grpc]\nlisten = "{grpc_addr}"\n[admin]\nlisten = "{admin_addr}"\nloop_lag_interval_ms = 50\n'
        f'[peer]\nlisten = "{peer_addr}"\n{extra}'
    )
    return cfg, grpc_addr, admin_addr


def start(tmp: Path, *, init: bool = True, env: dict | None = None, **kw) -> NodeProc:
    cfg, grpc_addr, admin_addr = write_config(tmp, **kw)
    args = [sys.executable, "-m", "node.cli", "run", "--config", str(cfg)] + (["--init"] if init else [])
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("ASSETL2__")}
    environ.update(env or {})
    # Logs go to a file: an unread pipe fills up and then blocks the node's event loop.
    log_path = tmp / "node.log"
    log_file = open(log_path, "ab")
    proc = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT, env=environ)
    log_file.close()
    node = NodeProc(proc, grpc_addr, admin_addr, tmp / "data", cfg, log_path)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"node exited {proc.returncode}: {node.logs()[-4000:]}")
        try:
            # /readyz turns 200 only after start-up finished, i.e. once SIGTERM is handled;
            # a node that stays unready is still returned once it is healthy (callers check).
            if node.http("/readyz")[0] == 200 or (node.http("/healthz")[0] == 200 and time.monotonic() > deadline - START_TIMEOUT_S / 2):
                return node
        except OSError:
            pass
        time.sleep(0.1)
    node.kill()
    raise RuntimeError("node did not become healthy in time")
