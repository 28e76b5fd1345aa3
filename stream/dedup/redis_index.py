"""The shared index: one Redis or a Redis Cluster, several service instances.

``STREAM_INDEX=redis://host:port/db?namespace=x`` or
``STREAM_INDEX=redis+cluster://host:port[,host:port...]?namespace=x``: the same code on both.
Every atomic step is one function call on one key, or on the keys of one group, which share
a slot (:mod:`~stream.dedup.redis_layout`), so an index spreads over every shard of a
cluster:

* :meth:`RedisIndex.insert` stores the entry (and lists it for expiry), then adds it under
  each band key with ``band_add``, which returns the key's earlier holders *in the same
  step*. Of two copies of one story inserted at the same moment, whichever adds itself second
  to a band key they share sees the other: no interleaving lets both miss each other.
  The entry is stored *before* any band key names it (one connection keeps the order on one
  server; a cluster waits for the entry's reply), so a holder seen in a band key can be read.
* :meth:`RedisIndex.link` raises the expiry time of the new parent's chain to the child's,
  then compare-and-sets the child (``link``): it points the child to the parent only while
  the child is still a root and no later than what the chain was raised to.
* :meth:`RedisIndex.expire` removes old entries group by group: first from their band keys,
  then the entry itself, only if its time is still before the cut-off (``drop``).

``docs/state.md`` gives the argument in full. Redis keeps its own state (``durable``):
:meth:`drain_changes` returns ``[]`` and there is no changelog.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Sequence

from redis.exceptions import ResponseError

from stream.dedup import codec
from stream.dedup import redis_layout as layout
from stream.dedup.index import Change, Entry
from stream.dedup.redis_shards import Command, Shards, connect, parse_url, unavailable

V = layout.VERSION
EXPIRE_BATCH = 500  # entries looked at per group and call
SWEEP_SECONDS = 60.0  # how often expiry looks at every group, not only those it knows to hold old entries


class RedisIndex:
    """The :class:`~stream.dedup.index.Index` on Redis, shared by every process that names
    the same server (or cluster) and namespace. Safe to call from several threads."""

    durable = True
    shared = True

    def __init__(self, make_client, namespace: str = "default", bucket_bits: int | None = None) -> None:
        self.shards = Shards(make_client)
        self.namespace = namespace
        self._bits = bucket_bits  # None: what the index was made with, else the default
        layout.Keys(namespace)  # a bad namespace fails now, not on first use
        self._keys: layout.Keys | None = None
        self._names: dict[bytes, str] = {}  # raw -> text of ids that are not 20 hex chars
        self._floor = [-math.inf] * layout.GROUPS  # per group: no entry is older than this (as far as we know)
        self._swept = 0.0

    @classmethod
    def from_url(cls, url: str, namespace: str | None = None, password_file: str = "") -> RedisIndex:
        """The index at ``url``; ``namespace`` overrides the URL's ``?namespace=``. A URL
        parameter ``bucket_bits`` sizes a new index (see ``docs/operations.md``); the
        password may come from ``password_file`` (``STREAM_INDEX_PASSWORD_FILE``)."""
        url, params = parse_url(url, ("namespace", "bucket_bits"))
        bits = params.get("bucket_bits")
        return cls(connect(url, password_file), namespace or params.get("namespace", "default"),
                   int(bits) if bits else None)

    # --- set-up -------------------------------------------------------------------------
    @property
    def keys(self) -> layout.Keys:
        """The key names, once the server has the functions and the layout is known."""
        if self._keys is None:
            with unavailable("redis"):
                for node in self.shards.nodes():
                    node.function_load(layout.FUNCTIONS, replace=True)
                probe = layout.Keys(self.namespace)
                want = f"{V}:{self._bits or layout.BUCKET_BITS}".encode()
                # the first process to get here fixes the layout (version:bucket_bits); the others read it
                _, have = self._run([(probe.layout, ("HSETNX", probe.layout, b"layout", want)),
                                     (probe.layout, ("HGET", probe.layout, b"layout"))])
            version, bits = have.decode().split(":")
            if version != str(V):
                raise ValueError(f"namespace {self.namespace!r} holds an index of layout version {version}, "
                                 f"this code uses {V}")
            if self._bits is not None and int(bits) != self._bits:
                raise ValueError(f"namespace {self.namespace!r} was made with bucket_bits={bits}, not {self._bits}")
            bits = int(bits)
            self._keys = layout.Keys(self.namespace, bits)
        return self._keys

    def _run(self, commands: Sequence[Command], again: bool = True) -> list:
        """:meth:`Shards.run`; a Redis error reply other than a redirect is a bug: raised."""
        out = self.shards.run(commands)
        for reply in out:
            if isinstance(reply, ResponseError):
                if again and "function not found" in str(reply).lower():
                    self._keys = None  # a master that came without our functions: load them, send again
                    self.keys
                    return self._run(commands, again=False)
                raise reply
        return out

    # --- reading ------------------------------------------------------------------------
    def _values(self, raws: Sequence[bytes]) -> list[bytes | None]:
        """The stored entries of ``raws`` (None where there is none), in one round trip."""
        if not raws:
            return []
        return self._run([(k, ("GET", k)) for k in map(self.keys.entry, raws)])

    def _decode(self, raw: bytes, value: bytes) -> Entry:
        text = layout.own_name(value)
        if text is not None:
            self._names[raw] = text
        return layout.decode(raw, value, self._name)

    def _entries(self, raws: Collection[bytes]) -> list[Entry]:
        """The entries of ``raws`` that exist, by doc id."""
        raws = list(raws)
        found = [self._decode(raw, v) for raw, v in zip(raws, self._values(raws)) if v is not None]
        return sorted(found, key=lambda e: e.doc_id)

    def _name(self, raw: bytes) -> str:
        """The text of an id that is not 20 hex chars (kept in an alias key for good)."""
        text = self._names.get(raw)
        if text is None:
            key = self.keys.alias(raw)
            value = self._run([(key, ("GET", key))])[0]
            text = self._names[raw] = value.decode("utf-8") if value is not None else raw.hex()
        return text

    def _head(self, raw: bytes) -> tuple[layout.Head, bytes] | tuple[None, None]:
        value = self._values([raw])[0]
        return (layout.head(raw, value), value) if value is not None else (None, None)

    def lookup(self, doc_id: str) -> Entry | None:
        found = self._entries([layout.raw_id(doc_id)])
        return found[0] if found else None

    def candidates(self, keys: Sequence[bytes]) -> list[Entry]:
        if not keys:
            return []
        names = self.keys
        bands = [names.band(codec.key_hash(k)) for k in keys]
        held = self._run([(bucket, ("HGET", bucket, field)) for bucket, field in bands])
        return self._entries(_raws(held))

    def root(self, doc_id: str) -> Entry | None:
        node, value = self._head(layout.raw_id(doc_id))
        if node is None:
            return None
        path = [node]
        while not node.is_root and len(path) <= 10_000:  # no cycle can form (links follow a static order)
            up, up_value = self._head(node.parent)
            if up is None:  # the parent expired: this node ends the walk
                break
            node, value = up, up_value
            path.append(node)
        # Each parent's time covers its children's. A process that died between raising a
        # node and its parent leaves a parent behind: the walk finishes that raise.
        for child, parent in zip(path, path[1:]):
            if parent.latest < child.latest:
                self._raise(parent.raw, child.latest)
        return self._decode(node.raw, value)

    # --- writing ------------------------------------------------------------------------
    def insert(self, entry: Entry, keys: Sequence[bytes], seen: Collection[str]) -> list[Entry]:
        names = self.keys
        raw = layout.raw_id(entry.doc_id)
        hashes = [codec.key_hash(k) for k in keys]
        group = names.group(raw)
        key = names.entry(raw)
        alias: tuple = ()
        if layout.odd(entry.doc_id):
            self._names[raw] = entry.doc_id
            alias = (names.alias(raw), entry.doc_id.encode("utf-8"))
        store: list[Command] = [(key, ("FCALL", f"sx{V}_insert", 2 + len(alias[:1]), key, names.times(group),
                                        *alias[:1], layout.encode(entry, hashes), layout.score(entry.latest), raw,
                                        *alias[1:]))]
        add = [(bucket, ("FCALL", f"sx{V}_band_add", 1, bucket, field, raw)) for bucket, field in map(names.band, hashes)]
        # The entry must be readable before a band key names it: one server runs one
        # connection's commands in order; a cluster's nodes do not, so wait for the reply.
        if self.shards.ordered:
            held = self._run(store + add)[1:]
        else:
            self._run(store)
            held = self._run(add)
        self._floor[group] = min(self._floor[group], entry.latest)
        skip = {layout.raw_id(s) for s in seen} | {raw}
        return self._entries(_raws(held) - skip)

    def link(self, child: str, parent: str, by: str) -> str | None:
        c, _ = self._head(layout.raw_id(child))
        if c is None:
            return child  # expired meanwhile: not linked (the caller looks again)
        expected = c.raw
        if not c.is_root:
            if self._head(c.parent)[0] is not None:
                return self._text(c.parent, c.flags & layout.PARENT_ODD)
            expected = c.parent  # its parent expired: it ends its walk, a root in all but name
        p, b = layout.raw_id(parent), layout.raw_id(by)
        flags = bytes([(layout.PARENT_ODD if layout.odd(parent) else 0) | (layout.BY_ODD if layout.odd(by) else 0)])
        for name, r in ((parent, p), (by, b)):
            if layout.odd(name):
                self._names[r] = name
        latest = c.latest
        key = self.keys.entry(c.raw)
        while True:
            if not self._raise(p, latest):
                return parent  # the parent expired meanwhile: not linked (the caller looks again)
            got = self._run([(key, ("FCALL", f"sx{V}_link", 1, key, expected, p, b, flags,
                                    layout.LATEST.pack(latest)))])[0]
            if got[0] == 2:
                return None
            if got[0] == 1:  # the child's own time was raised meanwhile: cover it first
                latest = layout.LATEST.unpack(got[1])[0]
                continue
            if got[0] == -1:
                return child
            current, _ = self._head(got[1])
            return self._text(got[1], current.flags & layout.OWN_ODD if current else 0)

    def _raise(self, raw: bytes, latest: float) -> bool:
        """Raise the expiry time of ``raw`` and its ancestors to ``latest``; False when
        ``raw`` itself is gone. Each step is atomic on its node and returns its parent at
        that moment, so a link made meanwhile is followed."""
        names = self.keys
        packed, score = layout.LATEST.pack(latest), layout.score(latest)
        first = True
        while True:
            key = names.entry(raw)
            got = self._run([(key, ("FCALL", f"sx{V}_raise", 2, key, names.times(names.group(raw)),
                                    packed, score, raw))])[0]
            if got[0] == -1:
                return not first  # a missing ancestor further up: it expired, the walk ends there
            first = False
            if got[0] == 0 or got[1] == raw:
                return True
            raw = got[1]

    def _text(self, raw: bytes, is_odd: int) -> str:
        return self._name(raw) if is_odd else raw.hex()

    # --- expiry -------------------------------------------------------------------------
    def expire(self, older_than: float) -> int:
        if math.isnan(older_than) or older_than == -math.inf:
            return 0
        names = self.keys
        if time.monotonic() - self._swept > SWEEP_SECONDS:  # other processes' entries too
            self._floor = [-math.inf] * layout.GROUPS
            self._swept = time.monotonic()
        groups = [g for g in range(layout.GROUPS) if self._floor[g] < older_than]
        total = 0
        cut = b"(" + layout.score(older_than)
        while groups:
            replies = self._run([(names.times(g), ("FCALL", f"sx{V}_scan", 1, names.times(g), cut, EXPIRE_BATCH))
                                 for g in groups])
            found = {}
            for g, (raws, lowest) in zip(groups, replies):
                if raws:
                    found[g] = raws
                else:
                    self._floor[g] = float(lowest) if lowest is not None else math.inf
            total += self._drop(older_than, found) if found else 0
            groups = [g for g in found if len(found[g]) == EXPIRE_BATCH]
        return total

    def _drop(self, cut: float, found: dict[int, list[bytes]]) -> int:
        """Remove the entries ``found`` (by group) from their band keys, then delete those
        still older than ``cut``; the ones raised meanwhile get their band keys back."""
        names = self.keys
        raws = [raw for group in found.values() for raw in group]
        values = dict(zip(raws, self._values(raws)))
        bands = {raw: [names.band(h) for h in layout.key_hashes(v)] for raw, v in values.items() if v}
        self._band_ops("band_del", bands)
        packed = layout.LATEST.pack(cut)
        groups = list(found)
        replies = self._run([(names.times(g), ("FCALL", f"sx{V}_drop", 1 + len(found[g]), names.times(g),
                                               *map(names.entry, found[g]), packed, *found[g])) for g in groups])
        dropped = 0
        kept: dict[bytes, list] = {}
        for g, (n, survivors, lowest) in zip(groups, replies):
            dropped += n
            kept.update((raw, bands[raw]) for raw in survivors if raw in bands)
            self._floor[g] = float(lowest) if lowest is not None else math.inf
        self._band_ops("band_add", kept)
        return dropped

    def _band_ops(self, op: str, bands: dict[bytes, list[tuple[bytes, bytes]]]) -> None:
        ops = [(bucket, ("FCALL", f"sx{V}_{op}", 1, bucket, field, raw))
               for raw, keys in bands.items() for bucket, field in keys]
        if ops:
            self._run(ops)

    # --- the rest of the Index ----------------------------------------------------------
    def drain_changes(self) -> list[Change]:
        return []  # Redis is its own durable store

    def __len__(self) -> int:
        names = self.keys
        return sum(self._run([(names.times(g), ("ZCARD", names.times(g))) for g in range(layout.GROUPS)]))

    def clear(self) -> int:
        """Delete every key of this namespace (tests, a rebuild); returns how many."""
        names = self.keys
        found: list[bytes] = []
        with unavailable("redis"):
            for node in self.shards.nodes():
                found += node.scan_iter(match=names.pattern, count=1000)
        for at in range(0, len(found), 1000):
            self._run([(k, ("UNLINK", k)) for k in found[at:at + 1000]])
        self._keys, self._names = None, {}
        self._floor = [-math.inf] * layout.GROUPS
        return len(found)


def _raws(values: list[bytes | None]) -> set[bytes]:
    """The 10-byte raws held in band key values."""
    return {v[i:i + 10] for v in values if v for i in range(0, len(v), 10)}

