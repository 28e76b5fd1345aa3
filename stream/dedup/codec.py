"""The changelog record format of the dedup index: compact, versioned, binary.

One index mutation is one ``(key, value)`` record; ``value`` None is a tombstone. The
changelog topic is compacted, so only the last record of each key survives, and each key
carries the *whole* state of what it names (never a delta):

* **Entry** ``b"E" + id`` (11 bytes for a 20-hex-char doc id; ``b"e" + utf-8`` for any
  other id): the indexed document. Value, little endian::

      u8 version=3 | u8 flags (1: has similarity, 2: linked) | f64 latest | u32 size
      | f64 similarity | u16 num_perm | u16 num_keys | i64 site | id parent
      | id linked_by (when flag 2) | rank | u32[num_perm] signature | u32[num_keys] key hashes

  ~740 bytes at 128 permutations, 32 bands and a rank of 5 numbers. ``parent`` is the
  node the document points to (itself for a root), ``linked_by`` the document whose
  decision linked it, ``latest`` its expiry time, ``site`` the page's site key (a 63-bit
  hash, 0: unknown). The key hashes are :func:`key_hash` of the LSH band keys, so a
  restore needs neither the text nor the band function. A ``rank`` is ``u8 n`` then ``n x
  (u8 kind b"f"/b"i" | f64 or i64)``, so floats, ints and ``math.inf`` come back equal and
  of the same types.

  Versions 1 and 2 (before the cluster forest: ``event_time`` where ``latest`` is, the
  founder's id where ``parent`` is, no rank; version 1 also no ``site``) are still read:
  their clusters keep their ids, with :data:`LEGACY_RANK` as the rank.
* **Canonical** ``b"C" + id``: written by versions before the forest (a cluster's
  canonical); read as nothing, since the root of a tree is its canonical now.

An ``id`` inside a value is ``0x00`` + 10 raw bytes (a 20-hex-char doc id) or ``0x01`` +
u16 length + utf-8 (any other id).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np
import xxhash

ENTRY_VERSION = 3
ENTRY, CANONICAL = b"E", b"C"
HAS_SIMILARITY, LINKED = 1, 2
_HEX = frozenset("0123456789abcdef")
_HEAD = struct.Struct("<BBdIdHHq")  # versions 2 and 3
ENTRY_HEAD_V1 = struct.Struct("<BBdIdHH")  # version 1: no site
_RANK_ITEM = struct.Struct("<cd")
_RANK_INT = struct.Struct("<cq")
LEGACY_RANK = (1, 2**52, 0, 0.0, 0)  # the rank of an entry written before ranks were stored (2**52: no date)


class CodecError(ValueError):
    """A changelog record this version cannot read."""


def is_hex_id(doc_id: str) -> bool:
    return len(doc_id) == 20 and _HEX.issuperset(doc_id)


def key_hash(key: bytes) -> int:
    """The 32-bit hash an LSH band key is stored under (stable across processes)."""
    return xxhash.xxh32_intdigest(key, seed=0x5EED)


def record_key(kind: bytes, doc_id: str) -> bytes:
    if is_hex_id(doc_id):
        return kind + bytes.fromhex(doc_id)
    return kind.lower() + doc_id.encode("utf-8")


def parse_key(key: bytes) -> tuple[bytes, str]:
    """``(ENTRY or CANONICAL, id)`` of a record key."""
    kind = key[:1]
    if kind in (ENTRY, CANONICAL) and len(key) == 11:
        return kind, key[1:].hex()
    if kind in (b"e", b"c"):
        return kind.upper(), key[1:].decode("utf-8")
    raise CodecError(f"unknown changelog key {key[:12]!r}")


def pack_id(doc_id: str) -> bytes:
    if is_hex_id(doc_id):
        return b"\x00" + bytes.fromhex(doc_id)
    raw = doc_id.encode("utf-8")
    return b"\x01" + struct.pack("<H", len(raw)) + raw


def unpack_id(buf: bytes | memoryview, at: int) -> tuple[str, int]:
    if buf[at] == 0:
        return bytes(buf[at + 1:at + 11]).hex(), at + 11
    (n,) = struct.unpack_from("<H", buf, at + 1)
    return bytes(buf[at + 3:at + 3 + n]).decode("utf-8"), at + 3 + n


def unpack_id_raw(buf: bytes, at: int) -> tuple[bytes | str, int]:
    """Like :func:`unpack_id`, but a 20-hex-char id comes back as its 10 raw bytes."""
    if buf[at] == 0:
        return buf[at + 1:at + 11], at + 11
    return unpack_id(buf, at)


@dataclass(frozen=True, slots=True)
class EntryRecord:
    """A decoded entry value (the doc id is in the record key)."""

    parent: str
    signature: np.ndarray  # uint32
    size: int
    latest: float
    similarity: float | None
    key_hashes: np.ndarray  # uint32
    site: int = 0  # 63-bit site key, 0: unknown
    rank: tuple = LEGACY_RANK
    linked_by: str | None = None


def encode_entry(parent: str, signature: np.ndarray, size: int, latest: float, similarity: float | None,
                 key_hashes: np.ndarray, site: int = 0, rank: tuple = LEGACY_RANK,
                 linked_by: str | None = None) -> bytes:
    sig = np.ascontiguousarray(signature, dtype="<u4")
    hashes = np.ascontiguousarray(key_hashes, dtype="<u4")
    flags = (0 if similarity is None else HAS_SIMILARITY) | (0 if linked_by is None else LINKED)
    head = _HEAD.pack(ENTRY_VERSION, flags, latest, size, math.nan if similarity is None else similarity,
                      len(sig), len(hashes), site)
    by = b"" if linked_by is None else pack_id(linked_by)
    return b"".join((head, pack_id(parent), by, encode_rank(rank), sig.tobytes(), hashes.tobytes()))


def decode_entry(value: bytes) -> EntryRecord:
    version = value[0] if value else None
    if version in (1, 2):
        head = ENTRY_HEAD_V1 if version == 1 else _HEAD
        _, flags, event_time, size, sim, num_perm, num_keys, *site = head.unpack_from(value, 0)
        parent, at = unpack_id(value, head.size)
        sig, hashes = _arrays(value, at, num_perm, num_keys)
        rank = LEGACY_RANK[:3] + (event_time,) + LEGACY_RANK[4:]
        return EntryRecord(parent, sig, size, event_time, sim if flags & 1 else None, hashes, site[0] if site else 0,
                           rank)
    if version != ENTRY_VERSION:
        raise CodecError(f"entry record version {version}, this code reads 1 to {ENTRY_VERSION}")
    _, flags, latest, size, sim, num_perm, num_keys, site = _HEAD.unpack_from(value, 0)
    parent, at = unpack_id(value, _HEAD.size)
    linked_by = None
    if flags & LINKED:
        linked_by, at = unpack_id(value, at)
    rank, at = decode_rank(value, at)
    sig, hashes = _arrays(value, at, num_perm, num_keys)
    return EntryRecord(parent, sig, size, latest, sim if flags & HAS_SIMILARITY else None, hashes, site, rank,
                       linked_by)


def _arrays(value: bytes, at: int, num_perm: int, num_keys: int) -> tuple[np.ndarray, np.ndarray]:
    sig = np.frombuffer(value, dtype="<u4", count=num_perm, offset=at).astype(np.uint32)
    hashes = np.frombuffer(value, dtype="<u4", count=num_keys, offset=at + 4 * num_perm).astype(np.uint32)
    return sig, hashes


_COUNTS = struct.Struct("<HH")
_HEX_ID = 11  # 0x00 + 10 raw bytes


def entry_rows(values: list[bytes]) -> tuple[np.ndarray, np.ndarray] | None:
    """Entry values of one length as one structured array (fields ``flags``, ``latest``,
    ``size``, ``similarity``, ``site``, ``parent`` and ``by`` (10 raw bytes each),
    ``kinds`` and ``items`` of the rank (the items' raw 8 bytes), ``signature``,
    ``key_hashes``), and a mask of the rows in the layout it assumes (the current version,
    hex ids, the flags, counts and rank length of the first value); decode the others one
    by one. None when the first value is not in such a layout."""
    first = values[0]
    if not (len(first) > _HEAD.size and first[0] == ENTRY_VERSION and first[_HEAD.size] == 0):
        return None
    flags = first[1]
    num_perm, num_keys = _COUNTS.unpack_from(first, 22)
    at = _HEAD.size + _HEX_ID
    by_at = at
    if flags & LINKED:
        if first[at] != 0:
            return None
        at += _HEX_ID
    n = first[at]
    rank_at = at + 1
    sig = rank_at + 9 * n
    if len(first) != sig + 4 * (num_perm + num_keys):
        return None
    dtype = np.dtype({
        "names": ["version", "flags", "latest", "size", "similarity", "num_perm", "num_keys", "site", "marker",
                  "parent", "by_marker", "by", "rank_len", "rank", "signature", "key_hashes"],
        "formats": ["u1", "u1", "<f8", "<u4", "<f8", "<u2", "<u2", "<i8", "u1", ("u1", 10), "u1", ("u1", 10), "u1",
                    ("u1", (n, 9)), ("<u4", num_perm), ("<u4", num_keys)],
        "offsets": [0, 1, 2, 10, 14, 22, 24, 26, _HEAD.size, _HEAD.size + 1, by_at, by_at + 1, rank_at - 1, rank_at,
                    sig, sig + 4 * num_perm],
        "itemsize": len(first)})
    rows = np.frombuffer(b"".join(values), dtype)
    ok = ((rows["version"] == ENTRY_VERSION) & (rows["flags"] == flags) & (rows["marker"] == 0)
          & (rows["num_perm"] == num_perm) & (rows["num_keys"] == num_keys) & (rows["rank_len"] == n))
    if flags & LINKED:
        ok &= rows["by_marker"] == 0
    return rows, ok


def rank_columns(items: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rank items of :func:`entry_rows` (uint8[rows, n, 9]) as ``(kinds (ord b"i"/b"f"),
    values read as int64, values read as float64)``."""
    body = np.ascontiguousarray(items[:, :, 1:])
    return items[:, :, 0], body.view("<i8")[..., 0], body.view("<f8")[..., 0]


def encode_rank(rank: tuple) -> bytes:
    parts = [struct.pack("<B", len(rank))]
    for x in rank:
        if isinstance(x, int) and -(2**63) <= x < 2**63:  # bool too: it is an int
            parts.append(_RANK_INT.pack(b"i", int(x)))
        elif isinstance(x, float | int):
            parts.append(_RANK_ITEM.pack(b"f", float(x)))
        else:
            raise TypeError(f"a rank holds numbers, not {type(x).__name__}")
    return b"".join(parts)


def decode_rank(buf: bytes | memoryview, at: int = 0) -> tuple[tuple, int]:
    """The rank at ``at``, and the offset after it."""
    n = buf[at]
    at += 1
    out: list[float | int] = []
    for _ in range(n):
        kind = bytes(buf[at:at + 1])
        if kind == b"i":
            out.append(_RANK_INT.unpack_from(buf, at)[1])
        elif kind == b"f":
            out.append(_RANK_ITEM.unpack_from(buf, at)[1])
        else:
            raise CodecError(f"unknown rank item kind {kind!r}")
        at += 9
    return tuple(out), at
