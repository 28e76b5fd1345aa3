"""Secure connections, on the real broker started with ``deploy/kafka-local start --secure``
(SASL_SSL on ``KAFKA_PORT``+1, mutual TLS on +3; the variables come from ``secure-env``) and
on a Redis of the test's own that requires a password and serves TLS.

A run and a replay over SASL_SSL lose nothing under exactly-once; wrong credentials, an
unknown CA and missing security settings end the process with one line naming the setting;
no log line, error or metrics page carries a password.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import orjson
import pytest

from stream.config import Settings
from stream.dedup.index import Entry
from stream.dedup.store import open_index
from stream.errors import ConfigError, ConnectError
from stream.kafka import security
from stream.kafka.topics import produce, read
from tests import stories
from tests.service_support import env, outputs, spawn, stop, wait_for_log
from tests.test_faults import check as check_outputs
from tests.test_faults import redis_server, story_of
from tests.test_health import get

pytestmark = pytest.mark.kafka
ROOT = Path(__file__).resolve().parent.parent
KAFKA_LOCAL = str(ROOT / "deploy" / "kafka-local")


def secure_env(*args: str) -> dict[str, str]:
    """The settings ``deploy/kafka-local secure-env`` prints, as Settings fields."""
    done = subprocess.run([KAFKA_LOCAL, "secure-env", *args], capture_output=True, text=True)
    if done.returncode:
        pytest.fail(done.stderr)
    pairs = (line.removeprefix("export ").split("=", 1) for line in done.stdout.splitlines() if line.strip())
    return {name.removeprefix("STREAM_").lower(): value for name, value in pairs}


@pytest.fixture(scope="session")
def secured() -> dict[str, str]:
    started = subprocess.run([KAFKA_LOCAL, "start", "--secure"], capture_output=True, text=True)
    if started.returncode:
        pytest.fail(started.stderr)
    return secure_env()


@pytest.fixture
def secure(settings: Settings, secured: dict[str, str]) -> Settings:
    """Fresh topics, reached over SASL_SSL."""
    return replace(settings, **secured)


def password(s: Settings) -> str:
    return Path(s.sasl_password_file).read_text()


def command(s: Settings, *args: str, **extra: str) -> subprocess.CompletedProcess:
    """``stream <args>`` configured through STREAM_* variables; a hang fails the test."""
    return subprocess.run([sys.executable, "-m", "stream", *args], env=env(s, **extra), capture_output=True,
                          text=True, timeout=60)


async def test_run_and_replay_over_sasl_ssl_lose_nothing_and_log_no_password(secure, tmp_path):
    secret = password(secure)
    run = replace(secure, sasl_password=secret, sasl_password_file="")  # the password in the environment
    values = stories.stream(100, 3)
    proc = spawn(run, log := tmp_path / "run.log")
    try:
        await wait_for_log(log, "consumer.partitions_assigned")
        await produce(secure, secure.input_topic, values)
        records = await outputs(secure, len(values))
        port = next(orjson.loads(line)["metrics_port"] for line in log.read_text().splitlines()
                    if '"service.started"' in line)
        status, _, metrics = await get(port, "/metrics")
    finally:
        assert stop(proc) == 0
    check_outputs(records, secure, story_of(values), exactly_once=True)
    assert status == 200 and secret.encode() not in metrics

    again = replace(secure, output_topic=secure.output_topic + "-replay", duplicates_topic=secure.duplicates_topic
                    + "-replay", dlq_topic=secure.dlq_topic + "-replay")
    replayed = command(again, "replay")  # the password from its file
    assert replayed.returncode == 0, replayed.stderr
    check_outputs(await outputs(again, len(values)), again, story_of(values), exactly_once=True)

    lines = log.read_text().splitlines() + (replayed.stdout + replayed.stderr).splitlines()
    events = {orjson.loads(line)["event"] for line in log.read_text().splitlines()}
    assert {"service.started", "index.restored", "stats", "service.stopping"} <= events
    assert "replay.done" in replayed.stdout
    assert not [line for line in lines if secret in line]


def _refusals(s: Settings) -> dict[str, tuple[Settings, str]]:
    plain = replace(s, security_protocol="PLAINTEXT", sasl_mechanism="PLAIN", sasl_username="",
                    sasl_password_file="", ssl_cafile="")
    return {
        "wrong password": (replace(s, sasl_password_file="", sasl_password="not-the-password"), "STREAM_SASL_PASSWORD"),
        "no security settings": (plain, "STREAM_SECURITY_PROTOCOL"),
        "unknown CA": (replace(s, ssl_cafile=""), "STREAM_SSL_CAFILE"),
        "wrong mechanism": (replace(s, sasl_mechanism="SCRAM-SHA-256"), "STREAM_SASL_MECHANISM"),
    }


@pytest.mark.parametrize("case", ["wrong password", "no security settings", "unknown CA", "wrong mechanism"])
def test_a_refused_connection_ends_the_run_with_one_line_naming_the_setting(secure, case):
    s, setting = _refusals(secure)[case]
    done = command(s, "run")
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1 and setting in done.stderr, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert password(secure) not in done.stdout + done.stderr
    assert not s.sasl_password or s.sasl_password not in done.stdout + done.stderr  # nor the wrong one


def test_a_replay_with_a_wrong_password_ends_with_one_line(secure):
    done = command(replace(secure, sasl_password_file="", sasl_password="not-the-password"), "replay")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1 and "STREAM_SASL_PASSWORD" in done.stderr, done.stderr


async def test_mutual_tls_needs_the_client_certificate(settings, secured):
    mtls = replace(settings, **secure_env("--mtls"))
    await produce(mtls, mtls.input_topic, [b"one", b"two"])
    assert sorted(r.value for r in await read(mtls, [mtls.input_topic], 2, timeout=30)) == [b"one", b"two"]
    with pytest.raises(ConnectError, match="STREAM_SSL_CERTFILE"):
        await security.check(replace(mtls, ssl_certfile="", ssl_keyfile=""))


def test_unreadable_tls_files_are_config_errors(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ConfigError, match="STREAM_SSL_CAFILE"):
        security.kwargs(Settings(security_protocol="SSL", ssl_cafile=str(bad)))
    with pytest.raises(ConfigError, match="STREAM_SSL_CERTFILE"):
        security.kwargs(Settings(security_protocol="SSL", ssl_certfile=str(bad), ssl_keyfile=str(bad)))


# ------------------------------------------------------------------ Redis

@dataclass(frozen=True)
class ProtectedRedis:
    secret: str
    password_file: str
    cafile: str
    port: int
    tls_port: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def protected_redis(secured, tmp_path_factory):
    """A Redis of this file's own that requires a password, with a TLS port too (the broker's
    certificate, signed by kafka-local's CA)."""
    where = tmp_path_factory.mktemp("redis")
    certs = Path(secured["ssl_cafile"]).parent
    r = ProtectedRedis(uuid.uuid4().hex, str(where / "password"), str(certs / "ca.pem"), free_port(), free_port())
    proc = redis_server(r.port, where, "--requirepass", r.secret, "--appendonly", "no",
                        "--tls-port", str(r.tls_port), "--tls-cert-file", str(certs / "broker.pem"),
                        "--tls-key-file", str(certs / "broker-key.pem"), "--tls-auth-clients", "no")
    Path(r.password_file).write_text(r.secret + "\n")
    yield r
    proc.terminate()
    proc.wait(10)


def _roundtrip(index) -> None:
    doc_id = f"d{uuid.uuid4().hex}"
    entry = Entry(doc_id, doc_id, np.arange(128, dtype=np.uint32), 10, (0,), 1.0)
    try:
        assert index.insert(entry, [b"k"], {doc_id}) == []
        assert index.lookup(doc_id).is_root and index.candidates([b"k"])[0].doc_id == doc_id
    finally:
        index.clear()


@pytest.mark.redis
@pytest.mark.parametrize("how", ["url", "file", "tls"])
def test_the_index_works_on_a_redis_that_requires_a_password(protected_redis, how):
    r = protected_redis
    namespace = f"?namespace=t{uuid.uuid4().hex[:8]}"
    s = {"url": Settings(index=f"redis://default:{r.secret}@127.0.0.1:{r.port}/0{namespace}"),
         "file": Settings(index=f"redis://127.0.0.1:{r.port}/0{namespace}", index_password_file=r.password_file),
         "tls": Settings(index=f"rediss://127.0.0.1:{r.tls_port}/0{namespace}&ssl_ca_certs={r.cafile}",
                         index_password_file=r.password_file)}[how]
    _roundtrip(open_index(s))


@pytest.mark.redis
@pytest.mark.parametrize("index, hint", [
    ("redis://:wrong@127.0.0.1:{port}/0", "STREAM_INDEX_PASSWORD_FILE"),
    ("redis://127.0.0.1:{port}/0", "STREAM_INDEX_PASSWORD_FILE"),
    ("rediss://:{secret}@127.0.0.1:{tls}/0", "ssl_ca_certs"),
])
def test_a_refused_redis_is_a_clear_error_without_the_password(protected_redis, index, hint):
    r = protected_redis
    with pytest.raises(ConnectError, match=hint) as refused:
        open_index(Settings(index=index.format(port=r.port, tls=r.tls_port, secret=r.secret)))
    assert r.secret not in str(refused.value) and "wrong" not in str(refused.value)


@pytest.mark.redis
def test_a_run_with_a_wrong_redis_password_ends_with_one_line(secure, protected_redis):
    r = protected_redis
    done = command(replace(secure, index=f"redis://:wrong-{r.secret}@127.0.0.1:{r.port}/0"), "run")
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    assert len(done.stderr.splitlines()) == 1 and "STREAM_INDEX" in done.stderr, done.stderr
    assert r.secret not in done.stdout + done.stderr
