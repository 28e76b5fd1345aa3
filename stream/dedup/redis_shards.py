"""Reaching the Redis of the shared index: one server or a Redis Cluster, the same way.

* :func:`connect` turns ``STREAM_INDEX`` into a redis-py client: ``redis://`` (also
  ``rediss://``, ``unix://``) gives :class:`redis.Redis`; ``redis+cluster://host:port[,host:port...]``
  (``rediss+cluster://`` for TLS) gives :class:`redis.cluster.RedisCluster`, which finds the
  other nodes itself. The index's own parameters (``namespace``, ``bucket_bits``) are taken
  out first (:func:`parse_url`); the rest go to redis-py.
* :class:`Shards` sends a pipeline of single-slot commands to the nodes that serve them: one
  packed write per node, all nodes written before any is read, so a pipeline costs one round
  trip however many shards it touches. redis-py's own cluster pipeline resolves a routing
  policy per command (about 50 µs of client CPU each, against 6-9 µs here) and refuses
  EVALSHA; this routes on redis-py's slot map and uses its per-node connection pools.
  ``MOVED`` refreshes the slot map and resends, ``ASK`` resends with ``ASKING`` to the node
  named; both are retried a few times. A node that cannot be reached has the slot map read
  again on the next call (a replica may have taken over).
* Every failure to get an answer (a refused connection, a timeout, ``CLUSTERDOWN``,
  ``TRYAGAIN``, redirects that do not settle, a master that is down, ``LOADING``, ``OOM``) is
  :class:`~stream.errors.IndexUnavailable`: the service holds the batch back and processes it
  again (``stream/service.py``). Decisions are idempotent, and so is every command sent here,
  so a pipeline may be resent whole.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot
from redis.exceptions import (
    AskError,
    ClusterDownError,
    ClusterError,
    MovedError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisClusterException,
    ResponseError,
    TryAgainError,
)

from stream.config import redact_url
from stream.dedup import redis_client
from stream.errors import ConnectError, IndexUnavailable

CLUSTER_SCHEMES = ("redis+cluster://", "rediss+cluster://")
ATTEMPTS = 4  # sends of one command that was redirected or refused with TRYAGAIN
RETRY_PAUSE = 0.05  # seconds between them (slot moves and failovers take a moment)
_REDIRECTED = (MovedError, AskError, TryAgainError, ClusterDownError, ReadOnlyError)
_UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, ClusterError, RedisClusterException, OutOfMemoryError)
Command = tuple[bytes, tuple]  # (the key that routes it, the command and its arguments)


def parse_url(url: str, ours: tuple[str, ...] = ("namespace",)) -> tuple[str, dict[str, str]]:
    """``(redis url, {parameter: value})``: the query parameters named in ``ours`` are the
    index's, the rest go to redis-py."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    rest = urlencode([(k, v) for k, v in query if k not in ours])
    return urlunsplit(parts._replace(query=rest)), {k: v for k, v in query if k in ours}


def connect(url: str, password_file: str = "") -> Callable[[], redis.Redis | RedisCluster]:
    """Check ``url`` (without ``?namespace=``) now; return what makes its client. A single
    server is asked at once whether it takes the credentials (:mod:`~stream.dedup.redis_client`);
    a cluster client asks a node for the slot map as it is made, so :class:`Shards` makes it
    on first use, and a refused password is a :class:`ConnectError` then."""
    if not url.startswith(CLUSTER_SCHEMES):
        client = redis_client.connect(url, password_file)
        return lambda: client
    parts = urlsplit(url)
    auth, _, hosts = parts.netloc.rpartition("@")
    nodes = [ClusterNode(*_host_port(h)) for h in hosts.split(",")]
    # redis-py reads one host's URL (credentials, TLS and timeouts); every host is a startup node
    single = urlunsplit(parts._replace(scheme=parts.scheme.split("+")[0],
                                       netloc=(auth + "@" if auth else "") + hosts.split(",")[0]))
    options = redis_client.options(single, password_file)

    def make() -> RedisCluster:
        try:
            return RedisCluster.from_url(single, startup_nodes=nodes, **options)
        except redis.AuthenticationError:
            raise ConnectError(f"Redis Cluster at {redact_url(url)} refused the credentials: check the user and "
                               "password in STREAM_INDEX or STREAM_INDEX_PASSWORD_FILE") from None
    return make


def _host_port(hostport: str) -> tuple[str, int]:
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"host:port expected, not {hostport!r}")
    return host.strip("[]"), int(port)


class Shards:
    """Pipelines of single-slot commands over one Redis or the nodes of a Redis Cluster.

    ``make`` makes the client (what :func:`connect` returns), on first use: a cluster that is down when
    the service starts is an :class:`IndexUnavailable` then, not a crash at start.
    :attr:`ordered` is True for one server: the commands of one pipeline then run in the
    order given (one connection is one queue); across the nodes of a cluster they do not.
    """

    def __init__(self, make: Callable[[], redis.Redis | RedisCluster]) -> None:
        self._make = make
        self._client: redis.Redis | RedisCluster | None = None
        self._lock = threading.Lock()
        self._slots: list[redis.Redis] = []  # the client of each slot's master (a cluster)
        self._read = False  # the map was built once: build it again from the cluster, not redis-py's cache

    @property
    def client(self) -> redis.Redis | RedisCluster:
        if self._client is None:
            with self._lock, unavailable("redis"):
                if self._client is None:
                    self._client = self._make()
        return self._client

    @property
    def ordered(self) -> bool:
        return isinstance(self.client, redis.Redis)

    def nodes(self) -> list[redis.Redis]:
        """A client per master (one for a single server)."""
        client = self.client
        if isinstance(client, redis.Redis):
            return [client]
        with unavailable("redis cluster"):
            return [client.get_redis_connection(n) for n in client.get_primaries()]

    def run(self, commands: Sequence[Command]) -> list:
        """The replies to ``commands``, in order (a Redis error reply is returned as the
        exception). One round trip for all nodes; redirected commands are sent again."""
        out: list = [None] * len(commands)
        todo = list(range(len(commands)))
        asking: dict[int, tuple[str, int]] = {}
        with unavailable("redis"):
            for attempt in range(ATTEMPTS):
                try:
                    self._send(self._route(todo, commands, asking), commands, out, asking)
                except (redis.ConnectionError, redis.TimeoutError):
                    self._slots = []  # read the map again next time: a replica may have taken over
                    raise
                full = next((r for r in out if isinstance(r, OutOfMemoryError)), None)
                if full is not None:
                    raise full
                todo = [i for i in todo if isinstance(out[i], _REDIRECTED)]
                if not todo:
                    return out
                asking = {i: (out[i].host, out[i].port) for i in todo if type(out[i]) is AskError}
                if len(asking) < len(todo) and isinstance(self.client, RedisCluster):
                    time.sleep(RETRY_PAUSE * attempt)
                    self._slots = []
        first = out[todo[0]]
        raise IndexUnavailable(f"redis: {type(first).__name__}: {first}")

    def _route(self, todo: list[int], commands: Sequence[Command],
               asking: dict[int, tuple[str, int]]) -> dict[redis.Redis, list[int]]:
        client = self.client
        if isinstance(client, redis.Redis):
            return {client: todo}
        slots = self._slots or self._slot_map(client)
        groups: dict[redis.Redis, list[int]] = {}
        for i in todo:
            if i in asking:
                node = client.nodes_manager.get_node(*asking[i])
                if node is None:
                    raise ClusterError(f"ASK to an unknown node {asking[i]}")
                target = client.get_redis_connection(node)
            else:
                target = slots[key_slot(commands[i][0])]
                if target is None:
                    raise ClusterDownError(f"slot {key_slot(commands[i][0])} is not served")
            groups.setdefault(target, []).append(i)
        return groups

    def _slot_map(self, client: RedisCluster) -> list[redis.Redis | None]:
        """The client of each slot's master, from the cluster's slot map (kept until a
        redirect or a node that cannot be reached)."""
        if self._read:
            client.nodes_manager.initialize()
        self._read = True
        by_name: dict[str, redis.Redis] = {}
        slots: list[redis.Redis | None] = [None] * REDIS_CLUSTER_HASH_SLOTS
        for slot, nodes in client.nodes_manager.slots_cache.items():
            if nodes:
                if nodes[0].name not in by_name:
                    by_name[nodes[0].name] = client.get_redis_connection(nodes[0])
                slots[slot] = by_name[nodes[0].name]
        self._slots = slots
        return slots

    @staticmethod
    def _send(groups: dict[redis.Redis, list[int]], commands: Sequence[Command], out: list,
              asking: dict[int, tuple[str, int]]) -> None:
        """Write every node's commands, then read every node's replies."""
        taken = []
        try:
            for node, idx in groups.items():
                conn = node.connection_pool.get_connection()
                taken.append((node, conn, idx))
                asks = [(("ASKING",),) if i in asking else () for i in idx]
                conn.send_packed_command([pack([c for i, a in zip(idx, asks) for c in (*a, commands[i][1])])])
            for _, conn, idx in taken:
                for i in idx:
                    if i in asking:
                        conn.read_response()
                    try:
                        out[i] = conn.read_response()
                    except ResponseError as exc:
                        out[i] = exc
        except BaseException:
            for _, conn, _ in taken:  # replies may be left unread: never hand such a connection back
                conn.disconnect()
            raise
        finally:
            for node, conn, _ in taken:
                node.connection_pool.release(conn)


def pack(commands: Sequence[tuple]) -> bytes:
    """Commands in the Redis protocol (RESP): arguments are bytes, text or integers."""
    out = []
    for args in commands:
        out.append(b"*%d\r\n" % len(args))
        for a in args:
            if not isinstance(a, bytes):
                a = (a if isinstance(a, str) else str(a)).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


@contextmanager
def unavailable(what: str) -> Iterator[None]:
    """A Redis that cannot answer becomes :class:`IndexUnavailable`."""
    try:
        yield
    except _UNAVAILABLE as exc:
        raise IndexUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc
