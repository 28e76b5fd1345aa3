"""Shared fixtures. Kafka tests use the real broker that ``deploy/kafka-local`` runs
(``KAFKA_PORT``, default 9092); it is started here if it is not up yet, with ``--secure``
so that tests/test_security.py finds its SASL_SSL and mutual TLS listeners."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from stream.config import Settings

ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP = f"127.0.0.1:{os.environ.get('KAFKA_PORT', '9092')}"


@pytest.fixture(scope="session")
def broker() -> str:
    script = str(ROOT / "deploy" / "kafka-local")
    if subprocess.run([script, "status"], stdout=subprocess.DEVNULL).returncode:
        subprocess.run([script, "start", "--secure"], check=True, stdout=subprocess.DEVNULL)
    return BOOTSTRAP


def own_broker_env(tmp_path: Path) -> dict[str, str]:
    """The environment for ``deploy/kafka-local`` to run a broker of one test's own: free
    client and controller ports and a data dir under ``tmp_path``, so it never touches the
    shared broker (whose ``KAFKA_PORT`` and ``KAFKA_LOCAL_DATA`` the test may inherit)."""
    sockets = [socket.socket() for _ in range(2)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    port, controller = (s.getsockname()[1] for s in sockets)
    for s in sockets:
        s.close()
    return {**os.environ, "KAFKA_PORT": str(port), "KAFKA_CONTROLLER_PORT": str(controller),
            "KAFKA_LOCAL_DATA": str(tmp_path / "kafka")}


def fresh_settings(broker: str) -> Settings:
    """Settings on fresh topics and a fresh group, so tests never see each other's records."""
    run = uuid.uuid4().hex[:8]
    return replace(
        Settings(), bootstrap_servers=broker, input_topic=f"t{run}-raw", output_topic=f"t{run}-articles",
        duplicates_topic=f"t{run}-dups", dlq_topic=f"t{run}-dlq", group_id=f"g{run}", instance_id=f"i{run}",
        partitions=3, workers=1, batch_size=64, stats_interval=1.0, metrics_port=0,
    )


@pytest.fixture
def settings(broker: str) -> Settings:
    return fresh_settings(broker)
