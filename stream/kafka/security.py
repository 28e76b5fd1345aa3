"""Kafka connection security: aiokafka's keyword arguments from the settings, and the
start-up check that turns a refused connection into one line naming the setting to check.

aiokafka's clients try each bootstrap server once and then raise a bare "Unable to
bootstrap", having logged the cause. :func:`check` opens one connection the way they
would (TLS handshake, SASL authentication, one metadata request), within a time bound,
and raises :class:`~stream.errors.ConnectError` with what went wrong and which
``STREAM_*`` setting to look at. No message carries the password.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from aiokafka.conn import collect_hosts, create_conn
from aiokafka.errors import (
    IllegalSaslStateError,
    KafkaConnectionError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)
from aiokafka.helpers import create_ssl_context
from aiokafka.protocol.metadata import MetadataRequest

from stream.config import Settings, read_secret
from stream.errors import ConfigError, ConnectError

CHECK_TIMEOUT = 15.0  # seconds per bootstrap server: connect, TLS handshake, SASL, one request


def password(settings: Settings) -> str:
    """The SASL password: ``STREAM_SASL_PASSWORD``, or the first line of ``STREAM_SASL_PASSWORD_FILE``."""
    if not settings.sasl_password_file:
        return settings.sasl_password
    return read_secret(settings.sasl_password_file, "STREAM_SASL_PASSWORD_FILE")


def ssl_context(settings: Settings) -> ssl.SSLContext:
    """A TLS context that verifies the broker (against ``STREAM_SSL_CAFILE`` or the system's CAs)
    and, for mutual TLS, presents the client certificate."""
    try:
        context = create_ssl_context(cafile=settings.ssl_cafile or None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"STREAM_SSL_CAFILE: cannot load {settings.ssl_cafile}: {_reason(exc)}") from None
    if settings.ssl_certfile:
        try:
            context.load_cert_chain(settings.ssl_certfile, settings.ssl_keyfile)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"STREAM_SSL_CERTFILE/STREAM_SSL_KEYFILE: cannot load {settings.ssl_certfile} and "
                              f"{settings.ssl_keyfile}: {_reason(exc)}") from None
    return context


def kwargs(settings: Settings) -> dict[str, Any]:
    """The security keyword arguments of every aiokafka client (consumer, producer, admin)."""
    protocol = settings.security_protocol
    out: dict[str, Any] = {"security_protocol": protocol}
    if protocol.endswith("SSL"):
        out["ssl_context"] = ssl_context(settings)
    if protocol.startswith("SASL_"):
        out.update(sasl_mechanism=settings.sasl_mechanism, sasl_plain_username=settings.sasl_username,
                   sasl_plain_password=password(settings))
    return out


async def check(settings: Settings, timeout: float = CHECK_TIMEOUT) -> None:
    """Connect to the bootstrap servers until one accepts us; raise :class:`ConnectError` if none does."""
    security = kwargs(settings)
    try:
        servers = collect_hosts(settings.bootstrap_servers, randomize=False)
    except ValueError as exc:
        raise ConfigError(f"STREAM_BOOTSTRAP_SERVERS: {exc}") from None
    failures = []
    for host, port, _ in servers:
        conn = None
        try:
            conn = await asyncio.wait_for(
                create_conn(host, port, request_timeout_ms=int(timeout * 1000), **security), timeout)
            await asyncio.wait_for(conn.send(MetadataRequest([])), timeout)
            return
        except (OSError, asyncio.TimeoutError, KafkaConnectionError, SaslAuthenticationFailed,
                UnsupportedSaslMechanismError, IllegalSaslStateError) as exc:
            failures.append(f"{host}:{port}: {diagnose(exc, settings, timeout)}")
        finally:
            if conn is not None:
                conn.close()
    raise ConnectError(f"cannot connect to Kafka ({settings.security_protocol}): {'; '.join(failures)}")


def diagnose(exc: BaseException, settings: Settings, timeout: float = CHECK_TIMEOUT) -> str:
    """What a failed connection attempt means, and the setting to check."""
    protocol, tls = settings.security_protocol, settings.security_protocol.endswith("SSL")
    cause = exc.__cause__ if isinstance(exc, KafkaConnectionError) and exc.__cause__ else exc
    if isinstance(exc, SaslAuthenticationFailed):
        return (f"authentication of user {settings.sasl_username!r} with {settings.sasl_mechanism} failed: "
                "check STREAM_SASL_USERNAME and STREAM_SASL_PASSWORD (or STREAM_SASL_PASSWORD_FILE)")
    if isinstance(exc, UnsupportedSaslMechanismError):
        return f"the broker does not offer {settings.sasl_mechanism}: check STREAM_SASL_MECHANISM"
    if isinstance(exc, IllegalSaslStateError):
        return f"the listener does not expect SASL: check STREAM_SECURITY_PROTOCOL (now {protocol})"
    if isinstance(cause, ssl.SSLCertVerificationError):
        return (f"the broker's certificate is not trusted ({cause.verify_message}): check STREAM_SSL_CAFILE"
                if cause.verify_code not in (62, 64) else  # X509_V_ERR_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH
                f"the broker's certificate does not name this host ({cause.verify_message}): "
                "check STREAM_BOOTSTRAP_SERVERS and the certificate")
    if isinstance(cause, ssl.SSLError):
        if "CERTIFICATE" in (cause.reason or ""):  # the broker rejected our certificate, or wanted one
            return (f"the broker refused the client certificate ({cause.reason}): "
                    "check STREAM_SSL_CERTFILE and STREAM_SSL_KEYFILE")
        return (f"TLS handshake failed ({cause.reason}); does this listener speak TLS? "
                f"check STREAM_SECURITY_PROTOCOL (now {protocol})")
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: check STREAM_BOOTSTRAP_SERVERS"
    if isinstance(exc, asyncio.TimeoutError):
        return (f"no answer within {timeout:g} s: check STREAM_BOOTSTRAP_SERVERS and "
                f"STREAM_SECURITY_PROTOCOL (now {protocol})")
    if isinstance(exc, (KafkaConnectionError, ConnectionResetError)):
        expects = "SASL, or no TLS" if tls else "TLS or SASL"
        return (f"the broker closed the connection; the listener may expect {expects}: "
                f"check STREAM_SECURITY_PROTOCOL (now {protocol})")
    return f"{type(exc).__name__}: {_reason(exc)}: check STREAM_BOOTSTRAP_SERVERS"


def _reason(exc: BaseException) -> str:
    return getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
