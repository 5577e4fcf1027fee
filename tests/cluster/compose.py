"""Chaos harness for the docker-compose cluster (``docker-compose.yml`` at the repository root).

A :class:`Cluster` is one compose project with a unique name, so tests only ever touch the
containers, networks and volumes they created.  It drives ``docker compose`` (v2) or
``docker-compose`` (v1.29, Debian's package), whichever is installed, and ``docker`` itself
for what compose cannot do (network partitions, a crash by SIGKILL from the host).

Nodes are read from inside the compose network: ``docker exec <nodeN> assetl2-probe``
(the image's own probe), so no test traffic leaves the containers' network or loopback.

Every wait is bounded: each method takes a timeout and raises :class:`ComposeError` (with the
command's output) when it runs out.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
NODES = ("node0", "node1", "node2", "node3")
NETWORK = "assetl2"                       # the network's key in docker-compose.yml
BASE_IMAGE = "assetl2/debian-base:bookworm"
NODE_IMAGE = "assetl2/node:dev"
PROMETHEUS_IMAGE = "assetl2/prometheus:dev"
PROJECT_PREFIX = "assetl2test"
ADMIN_PORT = 9100


class ComposeError(RuntimeError):
    """A docker or compose command failed, or a wait ran out of time."""


def _run(cmd: Sequence[str], *, timeout: float, env: dict[str, str] | None = None,
         check: bool = True, cwd: Path = REPO) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(list(cmd), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise ComposeError(f"timed out after {timeout:.0f}s: {' '.join(cmd)}") from exc
    except FileNotFoundError as exc:
        raise ComposeError(f"not installed: {cmd[0]}") from exc
    if check and proc.returncode != 0:
        out = (proc.stdout + proc.stderr).strip()[-3000:]
        raise ComposeError(f"exit {proc.returncode}: {' '.join(cmd)}\n{out}")
    return proc


# ----------------------------------------------------------------------------- environment

def docker_problem() -> str | None:
    """Why docker-based tests cannot run here, or None when they can."""
    if shutil.which("docker") is None:
        return "the docker CLI is not installed"
    try:
        proc = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                              capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 30s"
    if proc.returncode != 0:
        return f"`docker info` failed: {proc.stderr.strip()[:300]}"
    if compose_command() is None:
        return "neither `docker compose` (v2) nor `docker-compose` (v1) is installed"
    return None


_COMPOSE: list[str] | None = None


def compose_command() -> list[str] | None:
    """``["docker", "compose"]`` when the v2 plugin works, else ``["docker-compose"]``, else None."""
    global _COMPOSE
    if _COMPOSE is None:
        for cand in (["docker", "compose"], ["docker-compose"]):
            try:
                ok = subprocess.run([*cand, "version"], capture_output=True, timeout=30).returncode == 0
            except (FileNotFoundError, subprocess.TimeoutExpired):
                ok = False
            if ok:
                _COMPOSE = cand
                break
    return _COMPOSE


def image_exists(image: str) -> bool:
    return _run(["docker", "image", "inspect", image], timeout=60, check=False).returncode == 0


def image_size_mb(image: str) -> float:
    out = _run(["docker", "image", "inspect", "-f", "{{.Size}}", image], timeout=60).stdout
    return int(out.strip()) / 1e6


def build_base_image(log_path: Path, *, timeout: float = 900) -> None:
    """Run deploy/docker/build-base-image.sh (a no-op when the image exists); log to ``log_path``."""
    with open(log_path, "ab") as log:
        try:
            proc = subprocess.run(["bash", str(REPO / "deploy/docker/build-base-image.sh")], cwd=REPO,
                                  stdout=log, stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise ComposeError(f"base image build timed out after {timeout:.0f}s (log: {log_path})") from exc
    if proc.returncode != 0:
        raise ComposeError(f"base image build failed (exit {proc.returncode}); log {log_path}:\n{_tail(log_path)}")


def builder_tag(tag: str) -> str:
    """Tag of the builder stage kept beside ``tag`` (``assetl2/node:dev`` → ``assetl2/node-builder:dev``)."""
    name, sep, version = tag.rpartition(":")
    if not sep or "/" in version:
        name, version = tag, "latest"
    return f"{name}-builder:{version}"


def build_node_image(tag: str, base: str, log_path: Path, *, timeout: float = 1200) -> float:
    """``docker build`` the node image; seconds taken.

    The layer cache makes an unchanged tree a matter of seconds and a code change only the
    project install.  The builder stage's image (the dependency venv and build tools) is then
    tagged ``<name>-builder``, so it stays the cache of the next build when earlier untagged
    images are pruned.
    """
    start = time.monotonic()
    cmd = ["docker", "build", "-f", str(REPO / "deploy/docker/Dockerfile"), "--build-arg", f"BASE_IMAGE={base}",
           "-t", tag, str(REPO)]
    with open(log_path, "ab") as log:
        try:
            proc = subprocess.run(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise ComposeError(f"node image build timed out after {timeout:.0f}s (log: {log_path})") from exc
    if proc.returncode != 0:
        raise ComposeError(f"node image build failed (exit {proc.returncode}); log {log_path}:\n{_tail(log_path)}")
    newest_builder = _run(["docker", "images", "-q", "--filter", "dangling=true",
                           "--filter", "label=org.assetl2.component=node-builder"], timeout=60).stdout.split()
    if newest_builder:                       # `docker images` lists the newest first
        _run(["docker", "tag", newest_builder[0], builder_tag(tag)], timeout=60, check=False)
    prune_superseded_images()
    return time.monotonic() - start


def build_prometheus_image(tag: str, base: str, log_path: Path, *, timeout: float = 900) -> float:
    """``docker build`` deploy/docker/prometheus.Dockerfile (Debian's prometheus package); seconds taken."""
    start = time.monotonic()
    cmd = ["docker", "build", "-f", str(REPO / "deploy/docker/prometheus.Dockerfile"),
           "--build-arg", f"BASE_IMAGE={base}", "-t", tag, str(REPO)]
    with open(log_path, "ab") as log:
        try:
            proc = subprocess.run(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise ComposeError(f"prometheus image build timed out after {timeout:.0f}s (log: {log_path})") from exc
    if proc.returncode != 0:
        raise ComposeError(f"prometheus image build failed (exit {proc.returncode}); log {log_path}:\n{_tail(log_path)}")
    return time.monotonic() - start


def prune_superseded_images(older_than: str = "30m") -> None:
    """Remove this project's untagged images (earlier builds) older than ``older_than``.

    Only images labelled ``org.assetl2.component`` (set by deploy/docker/*Dockerfile) and
    dangling are touched; the age limit leaves a build running in parallel alone.
    """
    _run(["docker", "image", "prune", "-f", "--filter", "label=org.assetl2.component",
          "--filter", f"until={older_than}"], timeout=120, check=False)


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def unique_project() -> str:
    """A compose project name unique to this process: ``assetl2test<pid>x<random>``."""
    return f"{PROJECT_PREFIX}{os.getpid()}x{secrets.token_hex(3)}"


def reap_stale_projects(timeout: float = 120) -> list[str]:
    """``down -v`` test projects whose creating process is gone (a run killed before its finaliser)."""
    out = _run(["docker", "ps", "-a", "--filter", "label=com.docker.compose.project",
                "--format", '{{.Label "com.docker.compose.project"}}'], timeout=60, check=False).stdout
    reaped = []
    for name in sorted(set(out.split())):
        m = re.fullmatch(rf"{PROJECT_PREFIX}(\d+)x[0-9a-f]+", name)
        if m and not _pid_alive(int(m.group(1))):
            Cluster(name).down(timeout=timeout)
            reaped.append(name)
    return reaped


# ----------------------------------------------------------------------------- the cluster

class Cluster:
    """One compose project of ``docker-compose.yml``; every method is bounded in time."""

    def __init__(self, project: str | None = None, *, image: str = NODE_IMAGE, base_image: str = BASE_IMAGE,
                 prometheus_image: str = PROMETHEUS_IMAGE, health_interval: str = "2s",
                 extra_env: dict[str, str] | None = None):
        if compose_command() is None:
            raise ComposeError("no docker compose command")
        self.project = project or unique_project()
        env = {k: v for k, v in os.environ.items()
               if not k.upper().startswith("ASSETL2__") and k != "COMPOSE_PROJECT_NAME"}
        env.update({
            "BASE_IMAGE": base_image,
            "ASSETL2_IMAGE": image,
            "ASSETL2_PROMETHEUS_IMAGE": prometheus_image,
            "ASSETL2_HEALTH_INTERVAL": health_interval,
            "ASSETL2_BIND": "127.0.0.1",
            "ASSETL2_RESTART": "unless-stopped",
        })
        # Docker picks the host ports: a developer's .env with fixed ports must not collide.
        for node in range(4):
            for kind in ("GRPC", "ADMIN", "PEER"):
                env[f"NODE{node}_{kind}_PORT"] = ""
        env["PROMETHEUS_PORT"] = ""
        env.update(extra_env or {})
        self.env = env
        self._ids: dict[str, str] = {}

    # -------------------------------------------------------------- raw commands

    def compose(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [*compose_command(), "-p", self.project, "-f", str(COMPOSE_FILE), *args]
        return _run(cmd, timeout=timeout, env=self.env, check=check)

    def docker(self, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        return _run(["docker", *args], timeout=timeout, env=self.env, check=check)

    # -------------------------------------------------------------- lifecycle

    def up(self, services: Iterable[str] = NODES, *, timeout: float = 180) -> None:
        self._ids.clear()
        self.compose("up", "-d", "--no-build", *services, timeout=timeout)

    def down(self, *, timeout: float = 180) -> None:
        """Remove the project's containers, network and volumes (never raises).

        ``compose down -v`` first; whatever it left (it timed out, a container was paused)
        is then removed by the project's label.
        """
        try:
            self.compose("down", "-v", "--remove-orphans", "-t", "5", timeout=timeout, check=False)
        except ComposeError:
            pass
        label = f"label=com.docker.compose.project={self.project}"
        try:
            left = self.docker("ps", "-aq", "--filter", label, check=False).stdout.split()
            if left:
                self.docker("rm", "-f", "-v", *left, timeout=120, check=False)
            for kind in ("network", "volume"):
                names = self.docker(kind, "ls", "-q", "--filter", label, check=False).stdout.split()
                if names:
                    self.docker(kind, "rm", *names, timeout=120, check=False)
        except ComposeError:
            pass
        self._ids.clear()

    def stop(self, service: str, *, timeout: float = 60) -> None:
        self.compose("stop", "-t", "10", service, timeout=timeout)

    def start(self, service: str, *, timeout: float = 60) -> None:
        self.compose("start", service, timeout=timeout)

    def restart(self, service: str, *, timeout: float = 60) -> None:
        self.compose("restart", "-t", "10", service, timeout=timeout)

    def pause(self, service: str, *, timeout: float = 60) -> None:
        self.compose("pause", service, timeout=timeout)

    def unpause(self, service: str, *, timeout: float = 60) -> None:
        self.compose("unpause", service, timeout=timeout)

    def kill(self, service: str, sig: str = "SIGKILL", *, timeout: float = 60) -> None:
        """``compose kill``: Docker counts it as a manual stop, so the restart policy does not apply."""
        self.compose("kill", "-s", sig, service, timeout=timeout)

    def crash(self, service: str, *, timeout: float = 60) -> None:
        """SIGKILL the container's main process from the host, as the kernel's OOM killer would.

        Docker sees an unexpected exit, so the restart policy brings the node back.  Needs the
        daemon on this host and permission to signal its processes; otherwise falls back to
        ``docker kill`` followed by ``start`` (same end state, without the policy's help).
        """
        pid = self.state(service)["Pid"]
        if pid <= 0:
            raise ComposeError(f"{service} is not running")
        try:
            os.kill(pid, signal.SIGKILL)
        except (PermissionError, ProcessLookupError):
            self.kill(service, timeout=timeout)
            self.start(service, timeout=timeout)

    # -------------------------------------------------------------- inspection

    def container_id(self, service: str) -> str:
        """The service's container (kept across kill/stop/start/restart; looked up once)."""
        if service not in self._ids:
            cid = self.docker("ps", "-aq", "--no-trunc",
                              "--filter", f"label=com.docker.compose.project={self.project}",
                              "--filter", f"label=com.docker.compose.service={service}").stdout.split()
            if len(cid) != 1:
                raise ComposeError(f"{service}: expected one container in project {self.project}, found {cid}")
            self._ids[service] = cid[0]
        return self._ids[service]

    def inspect(self, service: str) -> dict:
        out = self.docker("inspect", self.container_id(service)).stdout
        return json.loads(out)[0]

    def state(self, service: str) -> dict:
        return self.inspect(service)["State"]

    def health(self, service: str) -> str:
        """Docker's health status: starting, healthy, unhealthy; or the state when not running."""
        st = self.state(service)
        if st.get("Paused"):
            return "paused"
        if not st.get("Running"):
            return st.get("Status", "exited")
        return (st.get("Health") or {}).get("Status", "none")

    def restart_count(self, service: str) -> int:
        return int(self.inspect(service).get("RestartCount", 0))

    def logs(self, service: str | None = None, *, tail: int = 100) -> str:
        args = ["logs", "--no-color", "--tail", str(tail)]
        if service:
            args.append(service)
        proc = self.compose(*args, timeout=60, check=False)
        return proc.stdout + proc.stderr

    def network(self) -> str:
        """The project's own network, as Docker names it (``<project>_assetl2``)."""
        out = self.docker("network", "ls", "--filter", f"label=com.docker.compose.project={self.project}",
                          "--format", "{{.Name}}").stdout.split()
        for name in out:
            if name.endswith(f"_{NETWORK}"):
                return name
        raise ComposeError(f"project {self.project} has no {NETWORK} network (have {out})")

    def volumes(self) -> list[str]:
        return self.docker("volume", "ls", "--filter", f"label=com.docker.compose.project={self.project}",
                           "--format", "{{.Name}}").stdout.split()

    # -------------------------------------------------------------- talking to nodes

    def exec(self, service: str, *cmd: str, timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess:
        """``docker exec`` in the service's container (what ``compose exec -T`` does, minus its start-up)."""
        return self.docker("exec", self.container_id(service), *cmd, timeout=timeout, check=check)

    def probe(self, service: str, path: str = "/healthz", *, host: str = "127.0.0.1",
              probe_timeout: float = 2.0, timeout: float = 30) -> subprocess.CompletedProcess:
        """Run ``assetl2-probe`` inside ``service`` against ``host`` (a node name or loopback)."""
        return self.exec(service, "assetl2-probe", "--print", "--timeout", str(probe_timeout),
                         "--host", host, "--port", str(ADMIN_PORT), path, timeout=timeout, check=False)

    def can_reach(self, src: str, dst: str, *, probe_timeout: float = 2.0) -> bool:
        """Whether ``src`` gets an answer from ``dst``'s /healthz over the compose network."""
        return self.probe(src, "/healthz", host=dst, probe_timeout=probe_timeout).returncode == 0

    def prometheus_targets(self, service: str = "prometheus") -> dict[str, str]:
        """Health of each scrape target of Prometheus's ``assetl2-node`` job: ``{node label: health}``."""
        out = self.exec(service, "curl", "-fsS", "--max-time", "5", "http://127.0.0.1:9090/api/v1/targets",
                        timeout=30).stdout
        targets = json.loads(out)["data"]["activeTargets"]
        return {t["labels"].get("node", t["scrapeUrl"]): t["health"] for t in targets
                if t["labels"].get("job") == "assetl2-node"}

    def status(self, service: str, *, timeout: float = 30) -> dict:
        proc = self.probe(service, "/status", timeout=timeout)
        if proc.returncode != 0:
            raise ComposeError(f"{service} /status failed: {(proc.stdout + proc.stderr).strip()[:500]}")
        return json.loads(proc.stdout)

    # -------------------------------------------------------------- partitions

    def disconnect(self, service: str, *, timeout: float = 60) -> None:
        """Cut ``service`` off the cluster network (it keeps only its loopback)."""
        self.docker("network", "disconnect", self.network(), self.container_id(service), timeout=timeout)

    def connect(self, service: str, *, timeout: float = 60) -> None:
        """Reattach ``service``, under its service name so the others resolve it again."""
        self.docker("network", "connect", "--alias", service, self.network(), self.container_id(service),
                    timeout=timeout)

    # -------------------------------------------------------------- waiting

    def wait_for(self, what: str, predicate: Callable[[], bool], *, timeout: float, interval: float = 0.5,
                 services_for_logs: Sequence[str] = ()) -> None:
        deadline = time.monotonic() + timeout
        last_exc: Exception | None = None
        while True:
            try:
                if predicate():
                    return
                last_exc = None
            except ComposeError as exc:
                last_exc = exc
            if time.monotonic() >= deadline:
                logs = "".join(f"\n--- logs of {s} ---\n{self.logs(s, tail=40)}" for s in services_for_logs)
                cause = f" (last error: {last_exc})" if last_exc else ""
                raise ComposeError(f"timed out after {timeout:.0f}s waiting for {what}{cause}{logs}")
            time.sleep(interval)

    def wait_healthy(self, services: Iterable[str] = NODES, *, timeout: float = 120) -> None:
        services = list(services)
        self.wait_for(f"{', '.join(services)} to be healthy",
                      lambda: all(self.health(s) == "healthy" for s in services),
                      timeout=timeout, services_for_logs=services)

    def wait_restarted(self, service: str, *, since_count: int, timeout: float = 60) -> None:
        self.wait_for(f"{service} to be restarted by its restart policy",
                      lambda: self.restart_count(service) > since_count and self.state(service).get("Running"),
                      timeout=timeout, services_for_logs=[service])
