"""The changelog record format of the dedup index: compact, versioned, binary.

One index mutation is one ``(key, value)`` record; ``value`` None is a tombstone. The
changelog topic is compacted, so only the last record of each key survives, and each key
carries the *whole* state of what it names (never a delta):

* **Entry** ``b"E" + id`` (11 bytes for a 20-hex-char doc id; ``b"e" + utf-8`` for any
  other id): the indexed document. Value, little endian::

      u8 version=2 | u8 flags (1: has similarity) | f64 event_time | u32 size
      | f64 similarity | u16 num_perm | u16 num_keys | i64 site | id cluster_id
      | u32[num_perm] signature | u32[num_keys] key hashes

  ~685 bytes at 128 permutations and 32 bands. ``site`` is the page's site key (a 63-bit
  hash, 0: unknown). Version 1 (no ``site`` field) is still read, as site 0. The key hashes are :func:`key_hash` of the
  LSH band keys, so a restore needs neither the text nor the band function.
* **Canonical** ``b"C" + id`` (``b"c" + utf-8``): a cluster's canonical. Value::

      u8 version=1 | id doc_id | u8 n | n x (u8 kind b"f"/b"i" | f64 or i64)

  so a rank of floats, ints and ``math.inf`` comes back equal and of the same types.

An ``id`` inside a value is ``0x00`` + 10 raw bytes (a 20-hex-char doc id) or ``0x01`` +
u16 length + utf-8 (any other id).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np
import xxhash

ENTRY_VERSION, CANONICAL_VERSION = 2, 1
ENTRY, CANONICAL = b"E", b"C"
_HEX = frozenset("0123456789abcdef")
ENTRY_HEAD = _HEAD = struct.Struct("<BBdIdHHq")  # version 2
ENTRY_HEAD_V1 = struct.Struct("<BBdIdHH")  # version 1: no site
_RANK_ITEM = struct.Struct("<cd")
_RANK_INT = struct.Struct("<cq")


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

    cluster_id: str
    signature: np.ndarray  # uint32
    size: int
    event_time: float
    similarity: float | None
    key_hashes: np.ndarray  # uint32
    site: int = 0  # 63-bit site key, 0: unknown


def encode_entry(cluster_id: str, signature: np.ndarray, size: int, event_time: float,
                 similarity: float | None, key_hashes: np.ndarray, site: int = 0) -> bytes:
    sig = np.ascontiguousarray(signature, dtype="<u4")
    hashes = np.ascontiguousarray(key_hashes, dtype="<u4")
    head = _HEAD.pack(ENTRY_VERSION, 0 if similarity is None else 1, event_time, size,
                      math.nan if similarity is None else similarity, len(sig), len(hashes), site)
    return b"".join((head, pack_id(cluster_id), sig.tobytes(), hashes.tobytes()))


def entry_head(value: bytes) -> tuple[int, float, int, float, int, int, int, int]:
    """``(flags, event_time, size, similarity, num_perm, num_keys, site, offset of the cluster id)``
    of an entry value of either version."""
    version = value[0] if value else None
    if version == ENTRY_VERSION:
        _, flags, event_time, size, sim, num_perm, num_keys, site = _HEAD.unpack_from(value, 0)
        return flags, event_time, size, sim, num_perm, num_keys, site, _HEAD.size
    if version == 1:
        _, flags, event_time, size, sim, num_perm, num_keys = ENTRY_HEAD_V1.unpack_from(value, 0)
        return flags, event_time, size, sim, num_perm, num_keys, 0, ENTRY_HEAD_V1.size
    raise CodecError(f"entry record version {version}, this code reads 1 and {ENTRY_VERSION}")


def decode_entry(value: bytes) -> EntryRecord:
    flags, event_time, size, sim, num_perm, num_keys, site, at = entry_head(value)
    cluster_id, at = unpack_id(value, at)
    sig = np.frombuffer(value, dtype="<u4", count=num_perm, offset=at).astype(np.uint32)
    hashes = np.frombuffer(value, dtype="<u4", count=num_keys, offset=at + 4 * num_perm).astype(np.uint32)
    return EntryRecord(cluster_id, sig, size, event_time, sim if flags & 1 else None, hashes, site)


_COUNTS = struct.Struct("<HH")
_HEX_ID = 11  # 0x00 + 10 raw bytes


def entry_rows(values: list[bytes]) -> tuple[np.ndarray, np.ndarray] | None:
    """Entry values of one length as one structured array (fields ``flags``, ``event_time``,
    ``size``, ``similarity``, ``site``, ``cluster`` (10 raw bytes), ``signature``,
    ``key_hashes``), and a mask of the rows in the layout it assumes (the current version,
    a hex cluster id, the counts of the first value); decode the others one by one. None
    when the first value is not in such a layout."""
    first = values[0]
    if not (len(first) > _HEAD.size and first[0] == ENTRY_VERSION and first[_HEAD.size] == 0):
        return None
    num_perm, num_keys = _COUNTS.unpack_from(first, 22)
    sig = _HEAD.size + _HEX_ID
    if len(first) != sig + 4 * (num_perm + num_keys):
        return None
    dtype = np.dtype({
        "names": ["version", "flags", "event_time", "size", "similarity", "num_perm", "num_keys", "site", "marker",
                  "cluster", "signature", "key_hashes"],
        "formats": ["u1", "u1", "<f8", "<u4", "<f8", "<u2", "<u2", "<i8", "u1", ("u1", 10), ("<u4", num_perm),
                    ("<u4", num_keys)],
        "offsets": [0, 1, 2, 10, 14, 22, 24, 26, _HEAD.size, _HEAD.size + 1, sig, sig + 4 * num_perm],
        "itemsize": len(first)})
    rows = np.frombuffer(b"".join(values), dtype)
    ok = ((rows["version"] == ENTRY_VERSION) & (rows["marker"] == 0) & (rows["num_perm"] == num_perm)
          & (rows["num_keys"] == num_keys))
    return rows, ok


def canonical_rows(values: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Canonical values of one length with hex doc ids, read at once: ``(doc ids as 10 raw
    bytes, rank item kinds (ord b"i"/b"f"), the items read as int64, read as float64, mask of
    the rows in this layout)``; None when the length fits no such layout."""
    n, extra = divmod(len(values[0]) - 2 - _HEX_ID, 9)
    if extra or n < 0:
        return None
    raw = np.frombuffer(b"".join(values), np.uint8).reshape(len(values), 2 + _HEX_ID + 9 * n)
    ok = (raw[:, 0] == CANONICAL_VERSION) & (raw[:, 1] == 0) & (raw[:, 1 + _HEX_ID] == n)
    items = raw[:, 2 + _HEX_ID:].reshape(len(values), n, 9)
    body = np.ascontiguousarray(items[:, :, 1:])
    return raw[:, 2:2 + 10], items[:, :, 0], body.view("<i8")[..., 0], body.view("<f8")[..., 0], ok


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


def decode_rank(buf: bytes | memoryview, at: int = 0) -> tuple:
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
    return tuple(out)


def encode_canonical(doc_id: str, rank: tuple) -> bytes:
    return struct.pack("<B", CANONICAL_VERSION) + pack_id(doc_id) + encode_rank(rank)


def decode_canonical(value: bytes) -> tuple[str, tuple]:
    if value[0] != CANONICAL_VERSION:
        raise CodecError(f"canonical record version {value[0]}, this code reads {CANONICAL_VERSION}")
    doc_id, at = unpack_id(value, 1)
    return doc_id, decode_rank(value, at)
