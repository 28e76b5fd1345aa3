"""Where the shared index keeps what in Redis: key names, the entry format, the server-side functions.

Sized for memory (about 1.5 KB a document, ``docs/state.md``) and for spreading over the
hash slots of a Redis Cluster. ``<ns>`` is the namespace, percent-encoded (no ``:`` or
braces); ``raw`` is a document's id as 10 bytes (:func:`~stream.dedup.memory_rows.id_bytes`:
the bytes of a 20-hex-char id, else a hash of it).

================================  ===========================================================
``{<ns>:g<xxx>}e<raw>``           string: the entry (below); ``xxx`` is its group, 3 hex digits
``{<ns>:g<xxx>}t``                sorted set: the group's raws by their ``latest`` (expiry)
``{<ns>:g<xxx>}a<raw>``           string: the text of an id that is not 20 hex chars
``{<ns>:b<xxxx>}``                hash: a bucket of band keys, field -> the raws holding the key
``{<ns>:layout}``                 hash: ``layout`` = ``<version>:<bucket_bits>``, fixed by the first user
================================  ===========================================================

**Groups.** A document's group is one of ``GROUPS`` (1024), from a hash of its raw id; the
hash tag puts a group's entries, sorted set and aliases in one slot, so storing an entry and
listing it for expiry is one atomic step, and so is raising its expiry time. The 1024 groups hash to 1024
slots, spread over the shards like everything else.

**Band keys.** A band key is known by its 32-bit hash (:func:`stream.dedup.codec.key_hash`,
also kept in the entry for expiry): its top ``bucket_bits`` bits pick the bucket, the rest
(2 bytes at 16 bits) is the field, and the value is the 10-byte raws of its holders, one
after the other. Small hashes are stored as one compact listpack by Redis (up to
``hash-max-listpack-entries`` fields of at most ``hash-max-listpack-value`` bytes), so a band
key held by one document costs about 19 bytes. Two band keys with one 32-bit hash share a
field: a spurious candidate, which the Deduper verifies and drops (as in the embedded index).

**Entry**, little endian: a head the functions read and change, then what never changes::

    u8 flags (1: own id, 2: parent, 4: linked_by are not 20 hex chars) | f64 latest
    | 10 bytes parent raw | 10 bytes linked_by raw (zeros: none)
    | u32 size | f64 similarity (NaN: none) | i64 site | u16 num_perm | u8 num_keys
    | rank (codec) | u32[num_perm] signature | u32[num_keys] band key hashes | [utf-8 own id]

738 bytes at 128 permutations, 32 bands and a rank of 5 numbers.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from urllib.parse import quote

import numpy as np
import xxhash

from stream.dedup import codec
from stream.dedup.index import Entry
from stream.dedup.memory_rows import NO_ID, id_bytes

VERSION = 1
GROUPS = 1024
BUCKET_BITS = 16  # the default: 65,536 buckets
OWN_ODD, PARENT_ODD, BY_ODD = 1, 2, 4
HEAD = struct.Struct("<Bd10s10s")
BODY = struct.Struct("<IdqHB")
LATEST = struct.Struct("<d")


def raw_id(doc_id: str) -> bytes:
    return id_bytes(doc_id)


def odd(doc_id: str) -> bool:
    return not codec.is_hex_id(doc_id)


@dataclass(frozen=True, slots=True)
class Head:
    """The changing part of an entry: what walks, links and raises need."""

    raw: bytes
    flags: int
    latest: float
    parent: bytes
    by: bytes

    @property
    def is_root(self) -> bool:
        return self.parent == self.raw


def head(raw: bytes, value: bytes) -> Head:
    flags, latest, parent, by = HEAD.unpack_from(value)
    return Head(raw, flags, latest, parent, by)


def encode(entry: Entry, key_hashes: list[int]) -> bytes:
    """The value stored for a new entry (a root: ``entry.parent`` is its own id)."""
    flags = (OWN_ODD | PARENT_ODD) if odd(entry.doc_id) else 0
    by = NO_ID
    if entry.linked_by is not None:
        by = raw_id(entry.linked_by)
        flags |= BY_ODD if odd(entry.linked_by) else 0
    sig = np.ascontiguousarray(entry.signature, dtype="<u4")
    sim = math.nan if entry.similarity is None else entry.similarity
    parts = [HEAD.pack(flags, entry.latest, raw_id(entry.parent), by),
             BODY.pack(entry.size, sim, entry.site, len(sig), len(key_hashes)),
             codec.encode_rank(entry.rank), sig.tobytes(), np.array(key_hashes, "<u4").tobytes()]
    if flags & OWN_ODD:
        parts.append(entry.doc_id.encode("utf-8"))
    return b"".join(parts)


def decode(raw: bytes, value: bytes, name) -> Entry:
    """The entry stored under ``raw``; ``name(raw)`` gives the text of an id that is not 20 hex chars."""
    flags, latest, parent, by = HEAD.unpack_from(value)
    size, sim, site, nperm, nkeys = BODY.unpack_from(value, HEAD.size)
    rank, at = codec.decode_rank(value, HEAD.size + BODY.size)
    sig = np.frombuffer(value, "<u4", nperm, at).astype(np.uint32)
    end = at + 4 * (nperm + nkeys)
    doc_id = value[end:].decode("utf-8") if flags & OWN_ODD else raw.hex()
    if parent == raw:
        parent_id, linked_by = doc_id, None
    else:
        parent_id = name(parent) if flags & PARENT_ODD else parent.hex()
        linked_by = None if by == NO_ID else name(by) if flags & BY_ODD else by.hex()
    return Entry(doc_id, parent_id, sig, size, rank, latest, None if math.isnan(sim) else sim, site, linked_by)


def key_hashes(value: bytes) -> list[int]:
    """The band key hashes kept in an entry (expiry removes the entry from them)."""
    _, _, _, nperm, nkeys = BODY.unpack_from(value, HEAD.size)
    _, at = codec.decode_rank(value, HEAD.size + BODY.size)
    return np.frombuffer(value, "<u4", nkeys, at + 4 * nperm).tolist()


def own_name(value: bytes) -> str | None:
    """The text of the entry's own id when it is not 20 hex chars."""
    if not value[0] & OWN_ODD:
        return None
    _, _, _, nperm, nkeys = BODY.unpack_from(value, HEAD.size)
    _, at = codec.decode_rank(value, HEAD.size + BODY.size)
    return value[at + 4 * (nperm + nkeys):].decode("utf-8")


class Keys:
    """The key names of one namespace."""

    def __init__(self, namespace: str, bucket_bits: int = BUCKET_BITS) -> None:
        if not namespace:
            raise ValueError("the namespace is empty")
        if not 8 <= bucket_bits <= 24:
            raise ValueError(f"bucket_bits must be 8 to 24, not {bucket_bits}")
        ns = quote(namespace, safe="").encode()  # no ':', '{' or '}': one namespace's keys never match another's
        self.namespace = namespace
        self.bucket_bits = bucket_bits
        self._tags = [b"{%s:g%03x}" % (ns, g) for g in range(GROUPS)]
        self._ns = ns
        self._shift = 32 - bucket_bits
        self._field_bytes = (self._shift + 7) // 8
        self._mask = (1 << self._shift) - 1
        self.layout = b"{%s:layout}" % ns
        self.pattern = b"{" + ns + b":*"  # every key of the namespace (no glob characters survive the quoting)

    @staticmethod
    def group(raw: bytes) -> int:
        return xxhash.xxh32_intdigest(raw) % GROUPS  # hashed: ids need not be random

    def entry(self, raw: bytes) -> bytes:
        return self._tags[self.group(raw)] + b"e" + raw

    def alias(self, raw: bytes) -> bytes:
        return self._tags[self.group(raw)] + b"a" + raw

    def times(self, group: int) -> bytes:
        return self._tags[group] + b"t"

    def band(self, key_hash: int) -> tuple[bytes, bytes]:
        """``(bucket key, field)`` of a band key's hash."""
        return (b"{%s:b%04x}" % (self._ns, key_hash >> self._shift),
                (key_hash & self._mask).to_bytes(self._field_bytes, "big"))


def score(t: float) -> bytes:
    """A float as a sorted-set score Redis parses back to the same double."""
    return repr(float(t)).encode()


# One Lua library. Every function changes one key, or (insert, raise, drop) the keys of one
# group, which share a slot. Times are compared as the 8 bytes of a double (struct), never
# through Lua's number-to-text conversion, which keeps 14 digits.
FUNCTIONS = f"""#!lua name=stream_index_{VERSION}

-- band_add(bucket; field, raw): add raw to the band key's holders unless it is there;
-- return the holders before (one atomic step: read and add)
redis.register_function('sx{VERSION}_band_add', function(keys, args)
  local v = redis.call('HGET', keys[1], args[1]) or ''
  for i = 1, #v, 10 do
    if string.sub(v, i, i + 9) == args[2] then return v end
  end
  redis.call('HSET', keys[1], args[1], v .. args[2])
  return v
end)

-- band_del(bucket; field, raw): remove raw from the band key's holders
redis.register_function('sx{VERSION}_band_del', function(keys, args)
  local v = redis.call('HGET', keys[1], args[1])
  if not v then return 0 end
  for i = 1, #v, 10 do
    if string.sub(v, i, i + 9) == args[2] then
      v = string.sub(v, 1, i - 1) .. string.sub(v, i + 10)
      if #v == 0 then redis.call('HDEL', keys[1], args[1]) else redis.call('HSET', keys[1], args[1], v) end
      return 1
    end
  end
  return 0
end)

-- insert(entry, times[, alias]; value, score, raw[, name]): store a new entry and list it
-- for expiry; 0 when the entry exists already (it is kept as it is)
redis.register_function('sx{VERSION}_insert', function(keys, args)
  if redis.call('EXISTS', keys[1]) == 1 then return 0 end
  redis.call('SET', keys[1], args[1])
  redis.call('ZADD', keys[2], args[2], args[3])
  if keys[3] then redis.call('SET', keys[3], args[4]) end
  return 1
end)

-- raise(entry, times; latest (8 bytes), score, raw): raise the entry's expiry time to latest.
-- {{-1}}: no such entry; {{0}}: it was late enough; {{1, parent raw}}: raised
redis.register_function('sx{VERSION}_raise', function(keys, args)
  local v = redis.call('GET', keys[1])
  if not v then return {{-1}} end
  if struct.unpack('<d', v, 2) >= struct.unpack('<d', args[1]) then return {{0}} end
  redis.call('SETRANGE', keys[1], 1, args[1])
  redis.call('ZADD', keys[2], args[2], args[3])
  return {{1, string.sub(v, 10, 19)}}
end)

-- link(entry; expected parent, parent, by, flags byte, latest): compare-and-set. Point the
-- entry to parent, recording by, if its parent is still the expected one (itself, for a
-- root) and its expiry time is not past latest (what the new parent's chain was raised to).
-- {{-1}}: no such entry; {{0, parent raw}}: linked meanwhile; {{1, its latest}}: raise further
-- first; {{2}}: linked (also when this very link was made before: a resend)
redis.register_function('sx{VERSION}_link', function(keys, args)
  local v = redis.call('GET', keys[1])
  if not v then return {{-1}} end
  local parent = string.sub(v, 10, 19)
  if parent == args[2] and string.sub(v, 20, 29) == args[3] then return {{2}} end
  if parent ~= args[1] then return {{0, parent}} end
  if struct.unpack('<d', v, 2) > struct.unpack('<d', args[5]) then return {{1, string.sub(v, 2, 9)}} end
  local flags = bit.bor(bit.band(string.byte(v, 1), 1), string.byte(args[4]))
  redis.call('SETRANGE', keys[1], 0, string.char(flags) .. string.sub(v, 2, 9) .. args[2] .. args[3])
  return {{2}}
end)

-- scan(times; cut score ("(x": before x), limit): {{up to limit raws listed before the cut,
-- the group's lowest score or false}}
redis.register_function('sx{VERSION}_scan', function(keys, args)
  local raws = redis.call('ZRANGE', keys[1], '-inf', args[1], 'BYSCORE', 'LIMIT', 0, args[2])
  local first = redis.call('ZRANGE', keys[1], 0, 0, 'WITHSCORES')
  return {{raws, first[2] or false}}
end)

-- drop(times, entry...; cut (8 bytes), raw...): delete the entries whose expiry time is
-- still before cut; returns {{count dropped, the raws kept (raised meanwhile), the group's
-- lowest remaining score or false}}
redis.register_function('sx{VERSION}_drop', function(keys, args)
  local cut = struct.unpack('<d', args[1])
  local n, kept = 0, {{}}
  for i = 2, #keys do
    local v = redis.call('GET', keys[i])
    if v and struct.unpack('<d', v, 2) >= cut then
      kept[#kept + 1] = args[i]
    else
      if v then
        redis.call('DEL', keys[i])
        n = n + 1
      end
      redis.call('ZREM', keys[1], args[i])
    end
  end
  local first = redis.call('ZRANGE', keys[1], 0, 0, 'WITHSCORES')
  return {{n, kept, first[2] or false}}
end)
"""
