"""The docker-compose cluster: 4 nodes come up healthy, survive SIGKILL with their identity,
and are partitioned and healed (DESIGN §1 chaos tests, §9 operations).

The static checks at the top need no Docker.  The cluster tests share one compose project
(module fixture) that is always removed with ``down -v`` at the end, whatever happened.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import compose
from compose import NODES, REPO, Cluster

from node import config as config_mod

# The first docker test may build the base image (debootstrap, 1-4 min) and the node image
# (pip + Cython, 4-12 min on 2 busy cores) in its fixtures; later sessions hit the layer cache.
DOCKER_TIMEOUT = 2400


# ----------------------------------------------------------------------------- static checks

@pytest.mark.parametrize("node", NODES)
def test_compose_node_config_is_valid(node):
    cfg = config_mod.load(REPO / "deploy/compose" / f"{node}.toml", environ={})
    assert cfg.node.chain_id == "assetl2-devnet-1"
    assert cfg.node.roles == ["sequencer", "executor"]
    assert cfg.data_dir == Path("/var/lib/assetl2")
    for listen in (cfg.grpc.listen, cfg.admin.listen, cfg.peer.listen):
        assert listen.startswith("0.0.0.0:"), "inside a container the node must listen on all interfaces"
    assert cfg.admin.listen.endswith(f":{compose.ADMIN_PORT}")


def test_image_default_config_is_valid():
    cfg = config_mod.load(REPO / "deploy/docker/node.toml", environ={})
    assert cfg.data_dir == Path("/var/lib/assetl2")
    assert cfg.admin.listen == f"0.0.0.0:{compose.ADMIN_PORT}"


def test_compose_file_wires_every_node():
    text = (REPO / "docker-compose.yml").read_text()
    for node in NODES:
        assert re.search(rf"^  {node}:$", text, re.M), f"service {node} missing"
        assert f"./deploy/compose/{node}.toml:/etc/assetl2/node.toml:ro" in text
        assert f"{node}-data:/var/lib/assetl2" in text
    assert text.count("- committee:/var/lib/assetl2-committee") == len(NODES), "every node shares the committee volume"
    assert "assetl2-probe" in text and "restart:" in text


@pytest.mark.parametrize("node", NODES)
def test_compose_nodes_form_one_committee_through_the_shared_volume(node):
    cfg = config_mod.load(REPO / "deploy/compose" / f"{node}.toml", environ={})
    sc = cfg.sequencer
    assert not sc.committee_keys and sc.committee_dir == "/var/lib/assetl2-committee"
    assert sc.committee_size == len(NODES) and sc.advertise_peer == f"{node}:50061"


def test_prometheus_scrapes_every_node():
    text = (REPO / "deploy/prometheus/prometheus.yml").read_text()
    targets = re.findall(r'"(node\d):(\d+)"', text)
    assert sorted(t[0] for t in targets) == list(NODES)
    assert {int(t[1]) for t in targets} == {compose.ADMIN_PORT}


def test_probe_script_reads_a_node_admin_endpoint(tmp_path, assetl2_cmd, clean_env):
    """The image's healthcheck script against a real node on loopback (no Docker needed)."""
    import socket

    ports = []
    for _ in range(3):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    cfg = tmp_path / "node.toml"
    cfg.write_text(
        f'[node]\ndata_dir = "data"\nlog_format = "text"\n'
        f'[grpc]\nlisten = "127.0.0.1:{ports[0]}"\n[admin]\nlisten = "127.0.0.1:{ports[1]}"\n'
        f'[peer]\nlisten = "127.0.0.1:{ports[2]}"\n'
    )
    probe = [sys.executable, str(REPO / "deploy/docker/assetl2-probe"), "--port", str(ports[1]), "--timeout", "1"]
    assert subprocess.run([*probe, "/healthz"], capture_output=True, timeout=30).returncode == 1  # nothing there yet
    proc = subprocess.Popen([*assetl2_cmd, "run", "--config", str(cfg), "--init"], env=clean_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while subprocess.run([*probe, "/healthz"], capture_output=True, timeout=30).returncode != 0:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "node did not answer /healthz within 60s"
            time.sleep(0.2)
        out = subprocess.run([*probe, "--print", "/status"], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0 and '"node_id"' in out.stdout
        assert subprocess.run([*probe, "/nope"], capture_output=True, timeout=30).returncode == 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# ----------------------------------------------------------------------------- the cluster


@pytest.fixture(scope="module")
def cluster(node_image):
    c = Cluster(image=node_image, base_image=os.environ.get("BASE_IMAGE") or compose.BASE_IMAGE)
    try:
        c.up(NODES)
        c.wait_healthy(NODES, timeout=120)
        yield c
    finally:
        c.down()


@pytest.fixture(scope="module")
def identities(cluster) -> dict[str, str]:
    """node_id of every node as first seen."""
    return {n: cluster.status(n)["node_id"] for n in NODES}


@pytest.mark.docker
@pytest.mark.timeout(DOCKER_TIMEOUT)
def test_cluster_is_healthy_with_distinct_ids_and_one_chain(cluster, identities):
    statuses = {n: cluster.status(n) for n in NODES}
    assert {s["chain_id"] for s in statuses.values()} == {"assetl2-devnet-1"}
    assert len(set(identities.values())) == len(NODES), identities
    for n, s in statuses.items():
        assert s["node_id"] == identities[n]
        # The node runs its own deploy/compose/nodeN.toml, not the image's default config.
        assert {r["role"] for r in s["roles"] if r.get("enabled")} == {"sequencer", "executor"}, s
    # Each node created its own key in its own volume; no key came from the image or the repo.
    volumes = cluster.volumes()
    assert all(any(v.endswith(f"_{n}-data") for v in volumes) for n in NODES), volumes
    for n in NODES:
        listing = cluster.exec(n, "ls", "-l", "/var/lib/assetl2/node-key.json").stdout
        assert listing.startswith("-rw-------") and " assetl2 " in listing, listing
    # ... and the four are one committee (published through the shared volume), deciding one chain
    details = [s.get("sequencer_detail", "") for s in statuses.values()]
    assert sorted(d.split("; ")[1] for d in details) == [f"member {i} of a committee of 4" for i in range(4)], details
    cluster.wait_for("every node past height 5", lambda: all(_height(cluster, n) >= 5 for n in NODES),
                     timeout=60, interval=1)
    blocks = {n: _block(cluster, n, 5) for n in NODES}
    assert len(set(blocks.values())) == 1, blocks


@pytest.mark.docker
@pytest.mark.timeout(DOCKER_TIMEOUT)
def test_nodes_reach_each_other_and_serve_metrics(cluster):
    for src, dst in [("node0", "node1"), ("node1", "node2"), ("node2", "node3"), ("node3", "node0")]:
        assert cluster.can_reach(src, dst), f"{src} cannot reach {dst}"
    metrics = cluster.probe("node0", "/metrics", host="node3")
    assert metrics.returncode == 0 and "assetl2" in metrics.stdout


@pytest.mark.docker
@pytest.mark.timeout(DOCKER_TIMEOUT)
def test_prometheus_scrapes_all_nodes(cluster, prometheus_image):
    cluster.up(["prometheus"])
    cluster.wait_healthy(["prometheus"], timeout=90)
    cluster.wait_for("prometheus to scrape all 4 nodes",
                     lambda: cluster.prometheus_targets() == {n: "up" for n in NODES},
                     timeout=60, interval=1, services_for_logs=["prometheus"])


@pytest.mark.docker
@pytest.mark.timeout(DOCKER_TIMEOUT)
def test_sigkilled_node_is_restarted_with_same_identity(cluster, identities):
    victim = "node1"
    before = cluster.restart_count(victim)
    cluster.crash(victim)
    cluster.wait_for(f"{victim} to go down", lambda: cluster.health(victim) != "healthy"
                     or cluster.restart_count(victim) > before, timeout=30, interval=0.1)
    cluster.wait_healthy([victim], timeout=90)
    assert cluster.status(victim)["node_id"] == identities[victim], "restarted node lost its key (data volume)"
    assert cluster.can_reach("node0", victim)


@pytest.mark.docker
@pytest.mark.timeout(DOCKER_TIMEOUT)
def test_killed_and_started_node_keeps_identity(cluster, identities):
    victim = "node2"
    cluster.kill(victim)                     # a manual kill: the restart policy stays out of it
    cluster.wait_for(f"{victim} to stop", lambda: not cluster.state(victim).get("Running"), timeout=30)
    assert cluster.state(victim)["ExitCode"] == 137
    assert not cluster.can_reach("node0", victim, probe_timeout=1)
    cluster.start(victim)
    cluster.wait_healthy([victim], timeout=90)
    assert cluster.status(victim)["node_id"] == identities[victim]
    _caught_up(cluster, victim)


def _caught_up(cluster, victim: str) -> None:
    """``victim`` reaches the height node0 had when it came back (catch-up, issue 6)."""
    target = _height(cluster, "node0")
    try:
        cluster.wait_for(f"{victim} to catch up to height {target}", lambda: _height(cluster, victim) >= target,
                         timeout=120, interval=1, services_for_logs=[victim])
    except compose.ComposeError as exc:
        heights = {n: cluster.status(n).get("sequencer_detail") for n in NODES}
        raise AssertionError(f"{exc}\nnodes: {heights}") from None


@pytest.mark.docker
@pytest.mark.timeout(DOCKER_TIMEOUT)
def test_partitioned_node_is_cut_off_then_heals(cluster, identities):
    victim = "node3"
    cluster.disconnect(victim)
    try:
        for other in ("node0", "node1"):
            assert not cluster.can_reach(other, victim, probe_timeout=1), f"{other} still reaches {victim}"
        assert not cluster.can_reach(victim, "node0", probe_timeout=1)
        # Cut off, not dead: the node itself stays up and healthy.
        assert cluster.health(victim) == "healthy"
        assert cluster.status(victim)["node_id"] == identities[victim]
        # three of four are a quorum (f = 1): the committee keeps deciding without it
        start = _height(cluster, "node0")
        cluster.wait_for("the other three to decide 5 more blocks", lambda: _height(cluster, "node0") >= start + 5,
                         timeout=60, interval=0.5)
    finally:
        cluster.connect(victim)
    cluster.wait_for(f"{victim} reachable again", lambda: cluster.can_reach("node0", victim, probe_timeout=1)
                     and cluster.can_reach(victim, "node0", probe_timeout=1), timeout=30)
    assert cluster.status(victim)["node_id"] == identities[victim]
    _caught_up(cluster, victim)
    h = _height(cluster, victim)
    assert _block(cluster, victim, h) == _block(cluster, "node0", h), "one chain after the partition heals"


def _height(cluster, node: str) -> int:
    return int(cluster.status(node).get("height", 0))


def _block(cluster, node: str, height: int) -> tuple[str, str]:
    """(block hash, state root) of ``height`` once ``node`` has executed it (status heights can
    run a block ahead of execution), within 30 s."""
    deadline = time.monotonic() + 30
    while True:
        out = cluster.exec(node, "assetl2", "client", "block", "--height", str(height), "--json", check=False)
        if out.returncode == 0:
            b = json.loads(out.stdout)
            return b["block_hash"], b["state_root"]
        assert "not executed" in out.stdout + out.stderr and time.monotonic() < deadline, out.stdout + out.stderr
        time.sleep(0.5)


@pytest.mark.docker
@pytest.mark.timeout(DOCKER_TIMEOUT)
def test_paused_node_stops_answering_then_resumes(cluster):
    victim = "node0"
    cluster.pause(victim)
    try:
        assert not cluster.can_reach("node1", victim, probe_timeout=1)
    finally:
        cluster.unpause(victim)
    cluster.wait_for(f"{victim} answering after unpause",
                     lambda: cluster.can_reach("node1", victim, probe_timeout=1), timeout=30)
    cluster.wait_healthy(NODES, timeout=60)


@pytest.mark.docker
@pytest.mark.timeout(DOCKER_TIMEOUT)
def test_graceful_stop_exits_zero_and_start_restores(cluster, identities):
    victim = "node1"
    cluster.stop(victim)
    state = cluster.state(victim)
    assert not state["Running"] and state["ExitCode"] == 0, state    # SIGTERM: clean shutdown
    assert "node stopped" in cluster.logs(victim, tail=20)
    cluster.start(victim)
    cluster.wait_healthy([victim], timeout=90)
    assert cluster.status(victim)["node_id"] == identities[victim]
