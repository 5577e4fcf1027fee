"""Fixtures for the docker-compose cluster tests (tests/cluster/test_compose.py).

The images are built once per test session: the local base image only when it does not
exist yet (deploy/docker/build-base-image.sh, debootstrap), the node image with `docker
build` every session, which the layer cache turns into a few seconds when the code has not
changed (and only the Cython compile when it has), so the cluster always runs the tree under
test.

Environment:
  ASSETL2_DOCKER_TESTS=0       skip the docker tests
  BASE_IMAGE=<image>           build the node image on another base (it must exist locally)
  ASSETL2_TEST_IMAGE=<tag>     node image tag to build and run (default assetl2/node:dev)
  ASSETL2_DOCKER_BUILD=reuse   run an existing node image as it is instead of building
                               (faster when the code changed, but the cluster then runs old code)
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import compose  # noqa: E402  (tests/cluster/compose.py)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "docker: needs a working Docker engine and compose; builds local images (tests/cluster)"
    )


@pytest.fixture(scope="session")
def node_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The node image tag, built for this session; skips when Docker cannot be used here."""
    if os.environ.get("ASSETL2_DOCKER_TESTS", "1") == "0":
        pytest.skip("docker tests disabled by ASSETL2_DOCKER_TESTS=0")
    problem = compose.docker_problem()
    if problem:
        pytest.skip(f"docker tests need a working Docker engine and compose: {problem}")
    logs = tmp_path_factory.mktemp("docker-build")
    base = os.environ.get("BASE_IMAGE") or compose.BASE_IMAGE
    if base == compose.BASE_IMAGE:
        if not compose.image_exists(base):
            if os.geteuid() != 0:
                pytest.skip(f"base image {base} does not exist and building it (debootstrap) needs root: "
                            f"run `sudo deploy/docker/build-base-image.sh` once")
            started = time.monotonic()
            try:
                compose.build_base_image(logs / "base.log")
            except compose.ComposeError as exc:
                pytest.skip(f"cannot build the local base image {base}: {exc}")
            print(f"\nbuilt {base} in {time.monotonic() - started:.0f}s", file=sys.stderr)
    elif not compose.image_exists(base):
        pytest.skip(f"BASE_IMAGE={base} is not present in the local engine (no registry to pull from)")
    tag = os.environ.get("ASSETL2_TEST_IMAGE", compose.NODE_IMAGE)
    if os.environ.get("ASSETL2_DOCKER_BUILD", "always") == "reuse" and compose.image_exists(tag):
        print(f"\nreusing {tag} as it is (ASSETL2_DOCKER_BUILD=reuse)", file=sys.stderr)
    else:
        took = compose.build_node_image(tag, base, logs / "node.log")
        print(f"\nnode image {tag} ready in {took:.0f}s ({compose.image_size_mb(tag):.0f} MB)", file=sys.stderr)
    compose.reap_stale_projects()
    return tag


@pytest.fixture(scope="session")
def prometheus_image(node_image: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The Prometheus image, built on the same base (a cache hit after the first time)."""
    base = os.environ.get("BASE_IMAGE") or compose.BASE_IMAGE
    tag = compose.PROMETHEUS_IMAGE
    took = compose.build_prometheus_image(tag, base, tmp_path_factory.mktemp("prometheus-build") / "build.log")
    print(f"\nprometheus image {tag} ready in {took:.0f}s", file=sys.stderr)
    return tag
