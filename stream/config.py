"""One typed settings object, read from ``STREAM_*`` variables and overridden by flags.

Each field of :class:`Settings` is one variable ``STREAM_<NAME>`` and one flag
``--<name>``; the table in :data:`FIELDS` drives the environment reader, the
argparse options and the README's configuration table alike. Fields marked
``secret`` (passwords, and the index URL, which may carry one) never show in
the object's repr.
"""

from __future__ import annotations

import argparse
import os
import socket
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from stream.errors import ConfigError

GUARANTEES = ("exactly_once", "at_least_once")
CODECS = ("zstd", "lz4", "snappy", "gzip", "none")
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
HIDDEN = "***"


def _default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@dataclass(frozen=True, slots=True, repr=False)
class Settings:
    bootstrap_servers: str = field(default="127.0.0.1:9092", metadata={"help": "Kafka bootstrap servers"})
    input_topic: str = field(default="raw-pages", metadata={"help": "topic of raw pages"})
    output_topic: str = field(default="articles", metadata={"help": "topic of canonical articles (key: cluster id)"})
    duplicates_topic: str = field(default="duplicates", metadata={"help": "topic of duplicate decisions"})
    dlq_topic: str = field(default="raw-pages-dlq", metadata={"help": "dead-letter topic"})
    group_id: str = field(default="stream", metadata={"help": "consumer group"})
    instance_id: str = field(default_factory=socket.gethostname,
                             metadata={"help": "this instance's id: in logs and the transactional id; unique per process "
                                              "(unset: the host name, -N for the Nth more on the host)"})
    guarantee: str = field(default="exactly_once", metadata={"help": "exactly_once or at_least_once"})
    threshold: float = field(default=0.6, metadata={"help": "dedup similarity threshold (0-1)"})
    learn_boilerplate: bool = field(default=False, metadata={
        "help": "also drop lines that recur across a site's pages (outputs then depend on what came before)"})
    max_record_bytes: int = field(default=4 * 1024 * 1024,
                                  metadata={"help": "larger input records go to the dead-letter topic"})
    create_topics: bool = field(default=True, metadata={"help": "create missing topics at start"})
    partitions: int = field(default=6, metadata={"help": "partitions of topics the service creates"})
    workers: int = field(default_factory=_default_workers,
                         metadata={"help": "processes that clean and fingerprint (0: in the service process)"})
    batch_size: int = field(default=128, metadata={"help": "records per processing batch"})
    max_idle: float = field(default=0.2, metadata={
        "help": "seconds a caught-up partition with nothing fetched may hold back the records of the others, "
                "so that records are decided in timestamp order (Kafka Streams' max.task.idle.ms)"})
    compression: str = field(default="zstd", metadata={
        "help": "codec of what the service produces: zstd, lz4, snappy, gzip or none"})
    max_poll_interval: float = field(default=300.0, metadata={
        "help": "seconds a consumer may go without polling before the group drops it"})
    retention_days: float = field(default=30.0, metadata={
        "help": "days of event time an indexed story stays recognisable"})
    index: str = field(default="memory", metadata={
        "help": "dedup index: memory (one instance per group), redis://[user:password@]host:port/db "
                "(rediss:// for TLS), or redis+cluster://host:port[,host:port...] (add ?namespace=name)",
        "secret": True})
    index_password_file: str = field(default="", metadata={
        "help": "file holding the Redis password (instead of one in the index URL)"})
    metrics_port: int = field(default=9108, metadata={
        "help": "port of /metrics, /livez and /readyz (0: any free port, -1: off; unset: 9108 + N for the "
                "Nth more instance on the host)"})
    stall_seconds: float = field(default=120.0, metadata={
        "help": "watchdog: seconds without progress while records wait before /livez fails"})
    stats_interval: float = field(default=30.0, metadata={"help": "seconds between stats events"})
    log_level: str = field(default="info", metadata={"help": "debug, info, warning, error"})
    log_format: str = field(default="auto", metadata={"help": "json, console, or auto (console on a TTY)"})
    security_protocol: str = field(default="PLAINTEXT", metadata={
        "help": "Kafka security: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"})
    sasl_mechanism: str = field(default="PLAIN", metadata={"help": "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"})
    sasl_username: str = field(default="", metadata={"help": "SASL user name"})
    sasl_password: str = field(default="", metadata={
        "help": "SASL password (prefer --sasl-password-file)", "secret": True})
    sasl_password_file: str = field(default="", metadata={"help": "file holding the SASL password"})
    ssl_cafile: str = field(default="", metadata={
        "help": "CA certificates (PEM) to verify the brokers with (default: the system's)"})
    ssl_certfile: str = field(default="", metadata={"help": "client certificate (PEM), for mutual TLS"})
    ssl_keyfile: str = field(default="", metadata={"help": "the client certificate's private key (PEM)"})

    def __post_init__(self) -> None:
        if self.guarantee not in GUARANTEES:
            raise ConfigError(f"guarantee must be one of {', '.join(GUARANTEES)}, not {self.guarantee!r}")
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"threshold must be in (0, 1], not {self.threshold}")
        for name in ("max_record_bytes", "partitions", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        if self.compression not in CODECS:
            raise ConfigError(f"compression must be one of {', '.join(CODECS)}, not {self.compression!r}")
        if self.workers < 0:
            raise ConfigError("workers must be 0 or more")
        if not 0.0 <= self.max_idle <= 60.0:
            raise ConfigError(f"max_idle must be between 0 and 60 seconds, not {self.max_idle}")
        if self.log_format not in ("json", "console", "auto"):
            raise ConfigError(f"log_format must be json, console or auto, not {self.log_format!r}")
        self._check_security()

    def _check_security(self) -> None:
        """Settings that contradict each other fail here, before any connection."""
        protocol = self.security_protocol
        if protocol not in SECURITY_PROTOCOLS:
            raise ConfigError(f"STREAM_SECURITY_PROTOCOL must be one of {', '.join(SECURITY_PROTOCOLS)}, "
                              f"not {protocol!r}")
        sasl, tls = protocol.startswith("SASL_"), protocol.endswith("SSL")
        if sasl:
            if self.sasl_mechanism not in SASL_MECHANISMS:
                raise ConfigError(f"STREAM_SASL_MECHANISM must be one of {', '.join(SASL_MECHANISMS)}, "
                                  f"not {self.sasl_mechanism!r}")
            if not self.sasl_username:
                raise ConfigError(f"STREAM_SECURITY_PROTOCOL={protocol} needs STREAM_SASL_USERNAME")
            if bool(self.sasl_password) == bool(self.sasl_password_file):
                raise ConfigError(f"STREAM_SECURITY_PROTOCOL={protocol} needs one of STREAM_SASL_PASSWORD "
                                  "and STREAM_SASL_PASSWORD_FILE")
        else:
            _unused(self, ("sasl_username", "sasl_password", "sasl_password_file"), protocol)
        if not tls:
            _unused(self, ("ssl_cafile", "ssl_certfile", "ssl_keyfile"), protocol)
        if bool(self.ssl_certfile) != bool(self.ssl_keyfile):
            raise ConfigError("mutual TLS needs both STREAM_SSL_CERTFILE and STREAM_SSL_KEYFILE")

    def __repr__(self) -> str:
        shown = (f"{f.name}={_hidden(f, getattr(self, f.name))!r}" for f in FIELDS)
        return f"Settings({', '.join(shown)})"

    @property
    def topics(self) -> dict[str, str]:
        """The output topic of each outcome kind."""
        return {"article": self.output_topic, "duplicate": self.duplicates_topic, "dead_letter": self.dlq_topic}


FIELDS = fields(Settings)


def env_name(name: str) -> str:
    return "STREAM_" + name.upper()


def _convert(kind: Any, name: str, raw: str) -> Any:
    try:
        if kind in (bool, "bool"):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if kind in (int, "int"):
            return int(raw)
        if kind in (float, "float"):
            return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{env_name(name)}/--{name.replace('_', '-')}: bad value {raw!r}") from exc
    return raw


def add_arguments(parser: argparse.ArgumentParser, names: tuple[str, ...] | None = None) -> None:
    """Add one ``--flag`` per setting (all of them, or ``names``), defaulting to None."""
    for f in FIELDS:
        if names is not None and f.name not in names:
            continue
        default = f.default_factory() if callable(f.default_factory) else f.default  # type: ignore[misc]
        parser.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            default=None,
            metavar=str(f.type).upper().replace("'", "") if f.type != "str" else "TEXT",
            help=f"{f.metadata['help']} [env {env_name(f.name)}, default {default}]",
        )


def given(args: argparse.Namespace | None = None, environ: dict[str, str] | None = None) -> set[str]:
    """Names of the settings set by a flag or a ``STREAM_*`` variable, not left to their default."""
    environ = os.environ if environ is None else environ
    return {f.name for f in FIELDS
            if getattr(args, f.name, None) is not None or env_name(f.name) in environ}


def load(args: argparse.Namespace | None = None, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Defaults, then ``STREAM_*`` variables, then flags, then ``overrides``."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in FIELDS:
        raw = getattr(args, f.name, None) if args is not None else None
        if raw is None:
            raw = environ.get(env_name(f.name))
        if raw is not None:
            values[f.name] = _convert(f.type, f.name, str(raw))
    values.update(overrides)
    return replace(Settings(), **values) if values else Settings()


def _unused(settings: Settings, names: tuple[str, ...], protocol: str) -> None:
    for name in names:
        if getattr(settings, name):
            raise ConfigError(f"{env_name(name)} is set, but STREAM_SECURITY_PROTOCOL={protocol} does not use it")


def _hidden(f, value: Any) -> Any:
    if not f.metadata.get("secret") or not value:
        return value
    return redact_url(value) if "://" in value else HIDDEN


def read_secret(path: str, setting: str) -> str:
    """A secret kept in a file (a mounted Kubernetes Secret, say): its content without the final newline."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().rstrip("\r\n")
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {path}: {exc.strerror}") from None


def redact_url(url: str) -> str:
    """``url`` with its password (in the user part or a ``password`` parameter) replaced by ``***``."""
    base, sep, query = url.partition("?")
    scheme, _, rest = base.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if at and ":" in userinfo:
        base = f"{scheme}://{userinfo.partition(':')[0]}:{HIDDEN}@{host}"
    if query:
        pairs = [(k, HIDDEN if "password" in k.lower() else v) for k, v in parse_qsl(query, keep_blank_values=True)]
        query = urlencode(pairs, safe="*/")
    return base + sep + query
