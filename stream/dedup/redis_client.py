"""Connecting to Redis: the URL, a password file, TLS options and timeouts, in one place.

``STREAM_INDEX`` is a redis-py URL: ``redis://[user:password@]host:port/db``, ``rediss://``
for TLS, ``unix:///path/to/socket``. TLS options are URL parameters, passed to redis-py as
they are: ``ssl_ca_certs`` (the CA file to verify the server with; default: the system's),
``ssl_certfile`` and ``ssl_keyfile`` (a client certificate), ``ssl_cert_reqs``. The
password may come from ``STREAM_INDEX_PASSWORD_FILE`` instead of the URL.

:func:`connect` checks the credentials at once: a wrong password or an untrusted
certificate is a :class:`~stream.errors.ConnectError` that names the setting, not a
retry loop. A Redis that is down is not an error here: the service waits for it
(:class:`~stream.errors.IndexUnavailable`).
"""

from __future__ import annotations

import ssl
from typing import Any

import redis

from stream.config import read_secret, redact_url
from stream.errors import ConfigError, ConnectError

TIMEOUTS = {"socket_connect_timeout": 5.0, "socket_timeout": 10.0}  # seconds; the URL may override them


def options(url: str, password_file: str = "") -> dict[str, Any]:
    """redis-py keyword arguments for ``url`` beyond what the URL says: timeouts and the password file's password."""
    out: dict[str, Any] = dict(TIMEOUTS)
    if password_file:
        if redis.connection.parse_url(url).get("password"):
            raise ConfigError("STREAM_INDEX has a password and STREAM_INDEX_PASSWORD_FILE is set: keep one")
        out["password"] = read_secret(password_file, "STREAM_INDEX_PASSWORD_FILE")
    return out


def connect(url: str, password_file: str = "") -> redis.Redis:
    """A client for ``url`` whose credentials and certificate the server has accepted (if it is up)."""
    try:
        client = redis.Redis.from_url(url, **options(url, password_file))
    except ValueError as exc:
        raise ConfigError(f"STREAM_INDEX: {exc}") from None
    where = redact_url(url)
    try:
        client.ping()
    except redis.AuthenticationError:
        raise ConnectError(f"Redis at {where} refused the credentials: check the user and password in "
                           "STREAM_INDEX or STREAM_INDEX_PASSWORD_FILE") from None
    except redis.ConnectionError as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ssl.SSLCertVerificationError):
            raise ConnectError(f"Redis at {where}: its certificate is not trusted ({cause.verify_message}): "
                               "check ssl_ca_certs in STREAM_INDEX") from None
    except redis.TimeoutError:
        pass  # down or slow: the service retries each batch until it answers
    return client
