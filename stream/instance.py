"""Per-host instance slots: defaults that let several instances run on one machine.

An instance that is not given ``STREAM_INSTANCE_ID`` or ``STREAM_METRICS_PORT`` claims
the first free slot of its host: slot ``n`` is an exclusive ``flock`` on the file
``<tmp>/stream-instances/<host>.<n>.lock``, held for as long as the process lives
(the kernel drops it when the process ends, even on ``kill -9``). Slot 0 is the host
name and port 9108, slot ``n`` the host name with ``-n`` and port ``9108 + n``.

So two live processes on one host never share a default instance id (their
transactional ids would fence each other), and a process restarted after a crash
takes the slot it had, hence the same transactional id: the broker then aborts the
transaction its predecessor left open, at once rather than after the timeout.
"""

from __future__ import annotations

import fcntl
import os
import socket
import tempfile
from dataclasses import replace
from pathlib import Path

from stream.config import Settings
from stream.errors import ConfigError

SLOTS_DIR = Path(tempfile.gettempdir()) / "stream-instances"
MAX_SLOTS = 64


def claim(directory: Path = SLOTS_DIR, host: str | None = None) -> int:
    """Lock the first free slot of ``host`` for the life of this process; return its number."""
    host = host or socket.gethostname()
    try:
        if not directory.is_dir():
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(0o1777)  # shared by every user of the host, like /tmp
        for n in range(MAX_SLOTS):
            fd = os.open(directory / f"{host}.{n}.lock", os.O_RDONLY | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return n  # the descriptor stays open: the lock is held until the process ends
    except OSError as exc:
        raise ConfigError(f"cannot claim an instance slot in {directory} ({exc.strerror}): "
                          "set STREAM_INSTANCE_ID and STREAM_METRICS_PORT") from exc
    raise ConfigError(f"all {MAX_SLOTS} instance slots of {host} are taken: "
                      "set STREAM_INSTANCE_ID and STREAM_METRICS_PORT")


def with_slot(settings: Settings, given: set[str], slot: int, host: str | None = None) -> Settings:
    """``settings`` with the instance id and metrics port of ``slot`` where they were not ``given``."""
    host = host or socket.gethostname()
    changes: dict = {}
    if "instance_id" not in given:
        changes["instance_id"] = host if slot == 0 else f"{host}-{slot}"
    if "metrics_port" not in given:
        changes["metrics_port"] = Settings().metrics_port + slot
    return replace(settings, **changes)


def defaults(settings: Settings, given: set[str]) -> Settings:
    """Claim a slot if the instance id or the metrics port is left to its default."""
    if {"instance_id", "metrics_port"} <= given:
        return settings
    return with_slot(settings, given, claim())
