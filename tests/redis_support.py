"""The local Redis servers the tests run on: the single server (``deploy/redis-local start``,
127.0.0.1:6379) and the 3-master Redis Cluster (``deploy/redis-local cluster start``,
127.0.0.1:7000-7002). Fixtures start them when they are not up yet."""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SINGLE = f"redis://127.0.0.1:{os.environ.get('REDIS_PORT', '6379')}/0"
CLUSTER = f"redis+cluster://127.0.0.1:{os.environ.get('REDIS_CLUSTER_PORT', '7000')}"


def _start(*args: str) -> None:
    subprocess.run([str(ROOT / "deploy" / "redis-local"), *args], check=True, stdout=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def redis_url() -> str:
    _start("start")
    return SINGLE


@pytest.fixture(scope="session")
def cluster_url() -> str:
    _start("cluster", "start")
    return CLUSTER


def with_namespace(url: str, namespace: str | None = None) -> str:
    """``url`` naming a namespace of its own (a fresh one by default)."""
    return f"{url}?namespace={namespace or 't' + uuid.uuid4().hex[:10]}"


def own_cluster(command: str, where: Path, port: int | str = "auto") -> int:
    """``deploy/redis-local cluster start|stop`` for a one-master cluster of a test's own, its
    data in ``where``, on free ports; returns its port (start prints it)."""
    env = {**os.environ, "REDIS_CLUSTER_PORT": str(port), "REDIS_CLUSTER_MASTERS": "1",
           "REDIS_CLUSTER_DATA": str(where)}
    out = subprocess.run([str(ROOT / "deploy" / "redis-local"), "cluster", command], env=env, check=True,
                         capture_output=True, text=True).stdout
    return int(re.search(r":(\d+)-", out).group(1)) if command == "start" else int(port)
