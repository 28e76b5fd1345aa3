"""The shared index: one Redis, several service instances (``STREAM_INDEX=redis://host:port/db``).

Every write is one Lua script, so it is atomic: Redis runs one script at a time and no
other command interleaves with it. That is what keeps two instances that process two
copies of one story at the same moment from founding two clusters:

* :meth:`RedisIndex.claim` checks every band key and inserts *in the same script*. Of two
  racing claims whose documents share a band key, the second one to run sees the first
  one's id in that key, not in its ``seen``, and gets its entry back instead of inserting;
  the Deduper verifies it and joins its cluster. There is no moment between "no one holds
  this key" and "I hold it" in which the other claim can run.
* :meth:`RedisIndex.promote` compares ranks and sets the canonical in one script, so a
  worse rank can never overwrite a better one that landed in between.

**Keys.** All keys of one index share the hash tag ``{stream:<namespace>}``, so on Redis
Cluster they live in one slot and the multi-key scripts are legal. Trade-off: one index is
one slot, so it is served by one shard (plus its replicas); it scales by namespace (one
index per deployment), not across shards. The claim and expire scripts also read the
entry hashes of documents they find in band sets (keys not declared in ``KEYS``, but in
the same slot); Redis Cluster routes by the declared keys and serves these from the same
node.

===========================  =========================================================
``<tag>:e:<doc_id>``         hash: ``v`` entry (:mod:`~stream.dedup.codec`, with its site), ``k`` its band key names
``<tag>:b:<band key>``       set of doc ids holding that band key
``<tag>:c:<cluster_id>``     hash: ``doc``, ``rank`` (codec), ``cmp`` (rank as numbers, for Lua)
``<tag>:t``                  sorted set: doc id by event time (expiry)
``<tag>:o``                  sorted set: clusters whose canonical outlived the founder, by time
===========================  =========================================================

**Expiry.** Per-key TTLs do not fit: a band set holds documents of different ages. The
expire script pops documents older than the cut-off from ``:t`` (bounded batches, so no
single script blocks Redis for long) and removes each from its band sets.

Redis keeps its own state (``durable = True``): :meth:`RedisIndex.drain_changes` returns
``[]``, and there is no ``apply`` (the service keeps a changelog only for an index that has
one).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Collection, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import redis

from stream.dedup import codec, redis_client
from stream.dedup.index import Canonical, Change, Entry
from stream.errors import IndexUnavailable

EXPIRE_BATCH = 1000


def _reached(method):
    """Raise :class:`IndexUnavailable` when Redis cannot be reached or does not answer in time."""
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise IndexUnavailable(f"redis: {type(exc).__name__}: {exc}") from exc
    return call

_CLAIM = """
local nseen = tonumber(ARGV[5])
local seen = {}
for i = 1, nseen do seen[ARGV[5 + i]] = true end
local out, found = {}, {}
for i = 3, #KEYS do
  for _, m in ipairs(redis.call('SMEMBERS', KEYS[i])) do
    if not seen[m] and not found[m] then
      found[m] = true
      out[#out + 1] = m
      out[#out + 1] = redis.call('HGET', ARGV[4] .. 'e:' .. m, 'v')
    end
  end
end
if #out > 0 then return out end
local old = redis.call('HGET', KEYS[1], 'k')
if old then
  for _, k in ipairs(cmsgpack.unpack(old)) do redis.call('SREM', k, ARGV[1]) end
end
local names = {}
for i = 3, #KEYS do
  redis.call('SADD', KEYS[i], ARGV[1])
  names[#names + 1] = KEYS[i]
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'k', cmsgpack.pack(names))
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return out
"""

_CANDIDATES = """
local out, found = {}, {}
for i = 1, #KEYS do
  for _, m in ipairs(redis.call('SMEMBERS', KEYS[i])) do
    if not found[m] then
      found[m] = true
      out[#out + 1] = m
      out[#out + 1] = redis.call('HGET', ARGV[1] .. 'e:' .. m, 'v')
    end
  end
end
return out
"""

# KEYS: canonical, founder entry, orphans, times. ARGV: doc id, rank (codec), rank numbers..., cluster id
_PROMOTE = """
local n = #ARGV - 3
local cur = redis.call('HGET', KEYS[1], 'cmp')
if cur then
  local c = {}
  for x in string.gmatch(cur, '%S+') do c[#c + 1] = tonumber(x) end
  local better = nil
  for i = 1, math.min(n, #c) do
    local a = tonumber(ARGV[2 + i])
    if a ~= c[i] then better = a < c[i]; break end
  end
  if better == nil then better = n < #c end
  if not better then return 0 end
end
local nums = {}
for i = 3, 2 + n do nums[#nums + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'rank', ARGV[2], 'cmp', table.concat(nums, ' '))
if not cur and redis.call('EXISTS', KEYS[2]) == 0 then
  local t = redis.call('ZSCORE', KEYS[4], ARGV[1])
  if not t then
    local last = redis.call('ZREVRANGE', KEYS[4], 0, 0, 'WITHSCORES')
    t = last[2] or 0
  end
  redis.call('ZADD', KEYS[3], t, ARGV[3 + n])
end
return 1
"""

# KEYS: times, orphans. ARGV: cut-off ("(x": exclusive), batch, key prefix
_EXPIRE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  local ek = ARGV[3] .. 'e:' .. id
  local k = redis.call('HGET', ek, 'k')
  if k then
    for _, b in ipairs(cmsgpack.unpack(k)) do redis.call('SREM', b, id) end
  end
  redis.call('DEL', ek, ARGV[3] .. 'c:' .. id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, c in ipairs(gone) do
  redis.call('DEL', ARGV[3] .. 'c:' .. c)
  redis.call('ZREM', KEYS[2], c)
end
return {#ids, #gone}
"""


def _lua_number(x: float | int) -> str:
    """A rank number as Lua's ``tonumber`` reads it (``1e999`` is inf there)."""
    if isinstance(x, float):
        if math.isnan(x):
            raise ValueError("a rank cannot hold NaN")
        if math.isinf(x):
            return "1e999" if x > 0 else "-1e999"
        return repr(x)
    return str(int(x))


def parse_url(url: str) -> tuple[str, str]:
    """``(redis url, namespace)``: ``?namespace=`` is ours, the rest goes to redis-py."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    namespace = next((v for k, v in query if k == "namespace"), "default")
    rest = urlencode([(k, v) for k, v in query if k != "namespace"])
    return urlunsplit(parts._replace(query=rest)), namespace


class RedisIndex:
    """The :class:`~stream.dedup.index.Index` on a (shared) Redis."""

    durable = True

    def __init__(self, client: redis.Redis, namespace: str = "default") -> None:
        if "{" in namespace or "}" in namespace:
            raise ValueError("a namespace cannot hold braces")
        self.r = client
        self.prefix = f"{{stream:{namespace}}}:"
        self._p = self.prefix.encode()
        self._claim = client.register_script(_CLAIM)
        self._candidates = client.register_script(_CANDIDATES)
        self._promote = client.register_script(_PROMOTE)
        self._expire = client.register_script(_EXPIRE)

    @classmethod
    def from_url(cls, url: str, namespace: str | None = None, password_file: str = "") -> RedisIndex:
        """The index at ``url``; ``namespace`` overrides the URL's ``?namespace=``."""
        url, named = parse_url(url)
        return cls(redis_client.connect(url, password_file), namespace or named)

    def _entry(self, doc_id: str | bytes, value: bytes) -> Entry:
        rec = codec.decode_entry(value)
        doc_id = doc_id.decode() if isinstance(doc_id, bytes) else doc_id
        return Entry(doc_id, rec.cluster_id, rec.signature, rec.size, rec.event_time, rec.similarity, rec.site)

    def _entries(self, flat: list) -> list[Entry]:
        return sorted((self._entry(flat[i], flat[i + 1]) for i in range(0, len(flat), 2) if flat[i + 1]),
                      key=lambda e: e.doc_id)

    def _band(self, key: bytes) -> bytes:
        return self._p + b"b:" + key

    @_reached
    def lookup(self, doc_id: str) -> Entry | None:
        value = self.r.hget(self.prefix + "e:" + doc_id, "v")
        return None if value is None else self._entry(doc_id, value)

    @_reached
    def candidates(self, keys: Sequence[bytes]) -> list[Entry]:
        if not keys:
            return []
        return self._entries(self._candidates(keys=[self._band(k) for k in keys], args=[self.prefix]))

    @_reached
    def claim(self, entry: Entry, keys: Sequence[bytes], seen: Collection[str]) -> list[Entry]:
        value = codec.encode_entry(entry.cluster_id, entry.signature, entry.size, entry.event_time,
                                   entry.similarity, np.empty(0, np.uint32), entry.site)
        seen = list(seen)
        out = self._claim(
            keys=[self.prefix + "e:" + entry.doc_id, self.prefix + "t", *(self._band(k) for k in keys)],
            args=[entry.doc_id, value, repr(float(entry.event_time)), self.prefix, len(seen), *seen])
        return self._entries(out)

    @_reached
    def promote(self, cluster_id: str, candidate: Canonical) -> bool:
        nums = [_lua_number(x) for x in candidate.rank]
        keys = [self.prefix + "c:" + cluster_id, self.prefix + "e:" + cluster_id, self.prefix + "o", self.prefix + "t"]
        return bool(self._promote(keys=keys, args=[candidate.doc_id, codec.encode_rank(candidate.rank), *nums,
                                                   cluster_id]))

    @_reached
    def canonical(self, cluster_id: str) -> Canonical | None:
        doc, rank = self.r.hmget(self.prefix + "c:" + cluster_id, ["doc", "rank"])
        return None if doc is None else Canonical(doc.decode(), codec.decode_rank(rank))

    @_reached
    def expire(self, older_than: float) -> int:
        if math.isnan(older_than) or older_than == -math.inf:
            return 0
        cut = "(+inf" if older_than == math.inf else "(" + repr(float(older_than))
        total = 0
        while True:
            ids, orphans = self._expire(keys=[self.prefix + "t", self.prefix + "o"],
                                        args=[cut, EXPIRE_BATCH, self.prefix])
            total += ids
            if ids < EXPIRE_BATCH and orphans < EXPIRE_BATCH:
                return total

    def drain_changes(self) -> list[Change]:
        return []  # Redis is its own durable store

    @_reached
    def __len__(self) -> int:
        return int(self.r.zcard(self.prefix + "t"))

    @_reached
    def clear(self) -> int:
        """Delete every key of this namespace (tests, a re-index); returns how many."""
        n = 0
        for key in self.r.scan_iter(match=self.prefix.replace("{", "\\{").replace("}", "\\}") + "*", count=1000):
            n += self.r.delete(key)
        return n
