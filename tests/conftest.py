"""Shared fixtures. Kafka tests use the real broker that ``deploy/kafka-local`` runs
(``KAFKA_PORT``, default 9092); it is started here if it is not up yet, with ``--secure``
so that tests/test_security.py finds its SASL_SSL and mutual TLS listeners."""

from __future__ import annotations

import os
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
