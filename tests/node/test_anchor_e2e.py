"""End to end (issue 7): a one-node chain executes blocks, the poster anchors them on the local
Solana RPC (the real program in LiteSVM), and the auditor check verifies a state proof served
by the node against the anchored root — and refuses a tampered one."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from nacl.signing import SigningKey

from executor.block import Executor
from executor.curvescript import compile_file
from executor.genesis import load_genesis
from executor.manifest import build_manifest
from node import keys
from proto.assetl2.v1 import client_pb2, client_pb2_grpc, state_pb2
from statetree import verify

import nodeproc
from support import free_port

EXAMPLES = Path(__file__).resolve().parents[2] / "executor" / "curvescript" / "examples"
ACCOUNT0 = bytes(SigningKey(hashlib.sha256(b"assetl2-devnet-account-0").digest()).verify_key)
DEADLINE_S = 180


def genesis_root(tmp: Path, manifest) -> bytes:
    """The node's genesis root: the same genesis and running manifest (the registry holds it)."""
    genesis = load_genesis(EXAMPLES / "devnet.curve", EXAMPLES / "devnet-genesis.toml")
    ex = Executor(tmp / "probe", genesis, governance=frozenset(genesis.governance),
                  bridge_relayers=frozenset(genesis.bridge_relayers), manifest=manifest, sync=False)
    root = ex.state_root(0)
    ex.close()
    return root


def wait_rpc(url: str, proc: subprocess.Popen) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "getHealth"}).encode()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "solana-dev exited"
        try:
            req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=5) as resp:
                if json.loads(resp.read()).get("result") == "ok":
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("solana-dev did not answer")


@pytest.fixture
def chain(tmp_path):
    key = keys.NodeKey.generate()
    keys.write(tmp_path / "data" / "node-key.json", key)
    manifest = build_manifest(compile_file(EXAMPLES / "devnet.curve"))
    port = free_port()
    rpc_url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ASSETL2__")}
    rpc_log = open(tmp_path / "solana-dev.log", "ab")
    rpc = subprocess.Popen(
        [sys.executable, "-m", "node.cli", "solana-dev", "--host", "127.0.0.1", "--port", str(port),
         "--slot-ms", "100", "--poster", key.address, "--genesis-root", genesis_root(tmp_path, manifest).hex(),
         "--register", f"{manifest.code_hash.hex()}:{manifest.proof_hash.hex()}:{manifest.config_fingerprint.hex()}",
         "--airdrop", f"{key.address}=10"],
        stdout=rpc_log, stderr=subprocess.STDOUT, env=env)
    rpc_log.close()
    node = None
    try:
        wait_rpc(rpc_url, rpc)
        node = nodeproc.start(tmp_path, init=False, extra=(
            f'[batchposter]\nrpc_url = "{rpc_url}"\nmax_blocks = 5\nmax_age_ms = 300\n'))
        yield node, rpc_url, tmp_path
    finally:
        if node is not None:
            node.kill()
        rpc.send_signal(signal.SIGTERM)
        try:
            rpc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            rpc.kill()


def test_batches_are_anchored_and_a_proof_verifies_against_the_anchored_root(chain):
    node, rpc_url, tmp = chain
    with grpc.insecure_channel(node.grpc) as ch:
        stub = client_pb2_grpc.ClientApiStub(ch)
        deadline = time.monotonic() + DEADLINE_S
        confirmed = 0
        while time.monotonic() < deadline:
            confirmed = stub.GetStatus(client_pb2.GetStatusRequest(), timeout=5).last_confirmed_batch
            if confirmed >= 2:
                break
            time.sleep(0.5)
        assert confirmed >= 2, "no two batches confirmed on the local Solana RPC in time"
        batch = stub.GetBatch(client_pb2.GetBatchRequest(batch_index=confirmed), timeout=5)
        assert batch.status == state_pb2.BATCH_STATUS_CONFIRMED, batch
        assert batch.solana_signature
        # The account's vault record, proven at the batch's last height against its anchored root.
        account = stub.GetAccount(client_pb2.GetAccountRequest(user=ACCOUNT0), timeout=5)
        assert account.vaults[0].amount_atoms == 1_000_000_000_000
        vault = account.proofs[0]
        assert vault.present and verify(account.anchor.state_root, vault.key, vault.value, vault.proof)
        at = stub.GetStateValue(client_pb2.GetStateValueRequest(key=vault.key, height=batch.last_height), timeout=5)
        assert at.anchor.state_root == batch.state_root
    claim = {"key": vault.key.hex(), "value": at.value.value.hex(), "proof": at.value.proof.hex(),
             "height": batch.last_height}
    good = tmp / "claim.json"
    good.write_text(json.dumps(claim))
    res = subprocess.run([sys.executable, "-m", "node.cli", "verify-anchor", "--rpc", rpc_url, "--proof", str(good)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    tampered = dict(claim, value=(int(claim["value"][:2], 16) ^ 1).to_bytes(1, "big").hex() + claim["value"][2:])
    bad = tmp / "bad.json"
    bad.write_text(json.dumps(tampered))
    res = subprocess.run([sys.executable, "-m", "node.cli", "verify-anchor", "--rpc", rpc_url, "--proof", str(bad)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 1, res.stdout + res.stderr
