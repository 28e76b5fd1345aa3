"""Index benchmark: memory per document, inserts/s, queries/s, restore time from the changelog.

    .venv/bin/python -m bench.index_bench                  # 1M documents, datasketch at 100k
    .venv/bin/python -m bench.index_bench --docs 200000 --compare 50000 --redis 20000

Each measurement runs in its own process, so resident memory (psutil RSS, after the
imports) belongs to that structure alone:

1. **insert**: ``--docs`` signatures (uniform random, plus ``--dup-share`` near-duplicates
   of a recent one, ~90% equal values) go through the Deduper's calls: ``candidates``,
   ``claim`` (seen = the candidates), ``promote``. The changelog is drained every 256
   documents (a batch) and written to a file. Then ``--queries`` ``candidates`` calls on
   near-duplicates of indexed documents.
2. **restore**: a fresh index ``apply``-s every record of that file, then answers one query
   (which builds the band table): the recovery time after a crash. **restore-bulk** does
   the same with ``apply_many`` on batches of ``--restore-batch`` records (a consumer fetch).
3. **compare** (``--compare N``): our index and datasketch ``MinHashLSH`` (same 32x2 bands)
   on N documents; datasketch keeps no signatures, so ``+ signatures`` adds a dict of
   them, which the Deduper's verification needs.
4. **redis** (``--redis N``, needs ``deploy/redis-local start``): the same calls on
   :class:`~stream.dedup.redis_index.RedisIndex`; Redis ``used_memory`` per document.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from stream.dedup.decide import band_keys
from stream.dedup.index import Entry, MemoryIndex

BATCH = 256
_LEN = struct.Struct("<II")


def rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


def peak_rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def signatures(n: int, dup_share: float, seed: int):
    """Yield ``(doc_id, signature)``: random, or a near-copy of one of the last 10k."""
    rng = np.random.default_rng(seed)
    recent = np.empty((10_000, 128), np.uint32)
    for start in range(0, n, 10_000):
        m = min(10_000, n - start)
        sigs = rng.integers(0, 2**32, (m, 128), dtype=np.uint32)
        dup = np.flatnonzero(rng.random(m) < dup_share) if start else np.empty(0, int)
        keep = rng.random((len(dup), 128)) < 0.9
        base = recent[rng.integers(0, 10_000, len(dup))]
        sigs[dup] = np.where(keep, base, sigs[dup])
        recent[:m] = sigs
        for i in range(m):
            yield "%020x" % (start + i + 1), sigs[i]


def add(index, n: int, doc_id: str, sig: np.ndarray) -> None:
    """Claim, then promote, the ``n``-th document, as the Deduper would: it joins the
    smallest id among the documents it collides with."""
    keys = band_keys(sig)
    seen = {doc_id} | {e.doc_id for e in index.candidates(keys)}
    cluster = min(seen) if len(seen) > 1 else doc_id
    while pending := index.claim(Entry(doc_id, cluster, sig, 200, 1.7e9 + n, None), keys, seen):
        seen |= {e.doc_id for e in pending}
    index.promote(cluster, Canonical(doc_id, (1, 10**7, 0, float(n))))


def run_insert(args) -> dict:
    gen = signatures(args.docs, args.dup_share, args.seed)
    index = MemoryIndex()
    base = rss()
    out = open(args.changelog, "wb")
    records = log_bytes = 0
    started = time.perf_counter()
    for n, (doc_id, sig) in enumerate(gen, 1):
        add(index, n, doc_id, sig)
        if n % BATCH == 0 or n == args.docs:
            for key, value in index.drain_changes():
                value = value or b""
                out.write(_LEN.pack(len(key), len(value)) + key + value)
                records += 1
                log_bytes += len(key) + len(value)
    insert_s = time.perf_counter() - started
    out.close()
    mem = rss() - base
    peak = peak_rss()  # before the query data below is built
    rng = np.random.default_rng(args.seed + 1)
    probe = signatures(args.docs, args.dup_share, args.seed)  # the same stream: the indexed documents
    picks = set(rng.integers(1, args.docs + 1, args.queries).tolist())
    sigs = [s.copy() for i, (_, s) in enumerate(probe, 1) if i in picks]
    queries = [band_keys(np.where(rng.random(128) < 0.9, s, rng.integers(0, 2**32, 128, dtype=np.uint32)))
               for s in sigs]
    started = time.perf_counter()
    found = sum(1 for keys in queries if index.candidates(keys))
    query_s = time.perf_counter() - started
    return {"docs": len(index), "rss": mem, "peak": peak, "base": base, "insert_s": insert_s, "queries": len(queries),
            "query_s": query_s, "found": found, "records": records, "log_bytes": log_bytes,
            "numpy_bytes": index.memory_bytes()}


def run_restore(args) -> dict:
    index = MemoryIndex()
    base = rss()
    data = Path(args.changelog).read_bytes()
    bulk = args.mode == "restore-bulk"
    batch: list[tuple[bytes, bytes | None]] = []
    started = time.perf_counter()
    at = n = 0
    while at < len(data):
        klen, vlen = _LEN.unpack_from(data, at)
        at += _LEN.size
        key = data[at:at + klen]
        value = data[at + klen:at + klen + vlen] or None
        at += klen + vlen
        n += 1
        if not bulk:
            index.apply(key, value)
            continue
        batch.append((key, value))
        if len(batch) == args.restore_batch:
            index.apply_many(batch)
            batch = []
    if batch:
        index.apply_many(batch)
    applied = time.perf_counter() - started
    index.candidates([b"warm"])  # the first query builds the band table
    ready = time.perf_counter() - started
    del data
    return {"records": n, "docs": len(index), "apply_s": applied, "ready_s": ready, "rss": rss() - base}


def run_compare(args) -> dict:
    gen = list(signatures(args.compare, args.dup_share, args.seed))
    base = rss()
    if args.mode == "datasketch":
        from datasketch import LeanMinHash, MinHashLSH

        lsh = MinHashLSH(num_perm=128, params=(32, 2))
        store = {}
        started = time.perf_counter()
        for doc_id, sig in gen:
            mh = LeanMinHash(seed=1, hashvalues=sig.astype(np.uint64), scheme="legacy")
            lsh.insert(doc_id, mh, check_duplication=False)
        took = time.perf_counter() - started
        lsh_only = rss() - base
        for doc_id, sig in gen:
            store[doc_id] = sig.copy()
        return {"rss": lsh_only, "rss_sigs": rss() - base, "insert_s": took}
    index = MemoryIndex(changelog=False)
    started = time.perf_counter()
    for doc_id, sig in gen:
        index.claim(Entry(doc_id, doc_id, sig, 200, 0.0), band_keys(sig), {doc_id})
    took = time.perf_counter() - started
    return {"rss": rss() - base, "insert_s": took}


def run_redis(args) -> dict:
    """The shared backend on a local Redis: server memory per document, round trips per second."""
    import uuid

    from stream.dedup.redis_index import RedisIndex

    index = RedisIndex.from_url(f"{args.redis_url}?namespace=bench{uuid.uuid4().hex[:8]}")
    before = index.r.info("memory")["used_memory"]
    started = time.perf_counter()
    n = 0
    try:
        for n, (doc_id, sig) in enumerate(signatures(args.redis, args.dup_share, args.seed), 1):
            add(index, n, doc_id, sig)
        took = time.perf_counter() - started
        used = index.r.info("memory")["used_memory"] - before
    finally:
        index.clear()
    return {"docs": n, "insert_s": took, "used": used}


def child(mode: str, args) -> dict:
    cmd = [sys.executable, "-m", "bench.index_bench", "--mode", mode, "--docs", str(args.docs),
           "--queries", str(args.queries), "--dup-share", str(args.dup_share), "--seed", str(args.seed),
           "--compare", str(args.compare), "--changelog", args.changelog, "--redis", str(args.redis),
           "--redis-url", args.redis_url, "--restore-batch", str(args.restore_batch)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode:
        sys.exit(f"{mode} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def show(rows: list[tuple[str, str, str]]) -> None:
    for name, a, b in rows:
        print(f"  {name:<42}  {a:>16}  {b}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--docs", type=int, default=1_000_000)
    p.add_argument("--queries", type=int, default=100_000)
    p.add_argument("--dup-share", type=float, default=0.1)
    p.add_argument("--compare", type=int, default=100_000, help="documents for the datasketch comparison (0: skip)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--redis", type=int, default=0, help="documents for the Redis backend (0: skip)")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    p.add_argument("--restore-batch", type=int, default=1000, help="records per apply_many call (restore-bulk)")
    p.add_argument("--mode", default="all",
                   choices=["all", "insert", "restore", "restore-bulk", "ours", "datasketch", "redis"])
    p.add_argument("--changelog", default="")
    args = p.parse_args()
    if args.mode != "all":
        run = {"insert": run_insert, "restore": run_restore, "restore-bulk": run_restore, "ours": run_compare,
               "datasketch": run_compare, "redis": run_redis}
        print(json.dumps(run[args.mode](args)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        args.changelog = os.path.join(tmp, "changelog.bin")
        ins = child("insert", args)
        res = child("restore", args)
        bulk = child("restore-bulk", args)
    n = ins["docs"]
    print(f"MemoryIndex, {n:,} documents ({args.dup_share:.0%} near-duplicates), one process each")
    print(json.dumps({"insert": ins, "restore": res, "restore_bulk": bulk}), file=sys.stderr)
    show([
        ("resident memory (RSS delta)", f"{ins['rss'] / 2**20:,.0f} MiB", f"{ins['rss'] / n:,.0f} B/doc"),
        ("numpy structures (allocated)", f"{ins['numpy_bytes'] / 2**20:,.0f} MiB",
         f"{ins['numpy_bytes'] / n:,.0f} B/doc"),
        ("RSS of the process after the inserts", f"{(ins['rss'] + ins['base']) / 2**20:,.0f} MiB",
         "incl. interpreter, numpy, psutil"),
        ("peak RSS of the process while inserting", f"{ins['peak'] / 2**20:,.0f} MiB", "incl. growth copies"),
        ("inserts (candidates+claim+promote)", f"{n / ins['insert_s']:,.0f} /s", f"{ins['insert_s']:.1f} s"),
        ("queries (candidates)", f"{ins['queries'] / ins['query_s']:,.0f} /s",
         f"{ins['found']:,}/{ins['queries']:,} found"),
        ("changelog", f"{ins['records']:,} records", f"{ins['log_bytes'] / 2**20:,.0f} MiB"),
        ("restore: apply all records", f"{res['apply_s']:.1f} s", f"{res['records'] / res['apply_s']:,.0f} records/s"),
        ("restore: until first query answered", f"{res['ready_s']:.1f} s", f"{res['docs']:,} documents"),
        ("restore: RSS delta", f"{res['rss'] / 2**20:,.0f} MiB", f"{res['rss'] / max(res['docs'], 1):,.0f} B/doc"),
        (f"restore, apply_many x{args.restore_batch}: apply all", f"{bulk['apply_s']:.1f} s",
         f"{bulk['records'] / bulk['apply_s']:,.0f} records/s"),
        (f"restore, apply_many x{args.restore_batch}: first query", f"{bulk['ready_s']:.1f} s",
         f"{bulk['docs']:,} documents"),
        ("restore, apply_many: RSS delta", f"{bulk['rss'] / 2**20:,.0f} MiB",
         f"{bulk['rss'] / max(bulk['docs'], 1):,.0f} B/doc"),
    ])
    if args.compare:
        ours, ds = child("ours", args), child("datasketch", args)
        m = args.compare
        show([
            (f"compare @ {m:,}: ours (signatures incl.)", f"{ours['rss'] / m:,.0f} B/doc",
             f"{m / ours['insert_s']:,.0f} inserts/s"),
            (f"compare @ {m:,}: datasketch MinHashLSH", f"{ds['rss'] / m:,.0f} B/doc",
             f"{m / ds['insert_s']:,.0f} inserts/s"),
            (f"compare @ {m:,}: datasketch + signatures", f"{ds['rss_sigs'] / m:,.0f} B/doc",
             f"ratio {ds['rss_sigs'] / ours['rss']:.1f}x ours"),
        ])
    if args.redis:
        red = child("redis", args)
        show([(f"RedisIndex @ {red['docs']:,}: server memory", f"{red['used'] / red['docs']:,.0f} B/doc",
               f"{red['docs'] / red['insert_s']:,.0f} inserts/s (3+ round trips each)")])


if __name__ == "__main__":
    main()
