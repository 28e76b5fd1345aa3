"""Index benchmark: memory per document, decisions/s, queries/s, restore time; Redis on 1 and 3 shards.

    .venv/bin/python -m bench.index_bench                  # 1M documents, datasketch at 100k
    .venv/bin/python -m bench.index_bench --docs 200000 --compare 50000
    .venv/bin/python -m bench.index_bench --docs 0 --compare 0 --redis 100000 --clients 4   # Redis only

Each measurement runs in its own process, so resident memory (psutil RSS, after the
imports) belongs to that structure alone:

1. **insert**: ``--docs`` signatures (uniform random, plus ``--dup-share`` near-duplicates
   of a recent one, ~90% equal values) are decided by the Deduper on a ``MemoryIndex``
   (candidates, insert, unite). The changelog is drained every 256 documents (a batch) and
   written to a file. Then ``--queries`` ``candidates`` calls on near-duplicates of indexed
   documents.
2. **restore**: a fresh index ``apply``-s every record of that file, then answers one query
   (which builds the band table): the recovery time after a crash. **restore-bulk** does
   the same with ``apply_many`` on batches of ``--restore-batch`` records (a consumer fetch).
3. **compare** (``--compare N``): our index and datasketch ``MinHashLSH`` (same 32x2 bands)
   on N documents; datasketch keeps no signatures, so ``+ signatures`` adds a dict of
   them, which the Deduper's verification needs.
4. **redis** (``--redis N``): a Redis Cluster of each size in ``--shards`` (masters) is
   started here on free ports (``deploy/redis-local cluster``), and ``--clients`` processes decide N documents in all on it, through
   :class:`~stream.dedup.redis_index.RedisIndex`, each its own stream, all starting at one
   barrier. Decisions per second are over the wall time of the slowest client; the CPU
   seconds of the clients and of each Redis server, and the machine's busy share, say what
   limited them. Redis memory per document is the growth of ``used_memory`` (``INFO
   memory``), summed over the masters, over the N documents.
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

from stream.dedup.decide import Deduper, Doc, band_keys
from stream.dedup.fingerprint import Fingerprint
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


def docs(n: int, dup_share: float, seed: int, client: int = 0):
    """Yield the Deduper's documents for :func:`signatures` (ranks in arrival order)."""
    for k, (doc_id, sig) in enumerate(signatures(n, dup_share, seed), 1):
        if client:
            doc_id = "%04x%s" % (client, doc_id[4:])
        yield Doc(doc_id, Fingerprint(sig, 200), 1.7e9 + k, (1, 10**7, 0, float(k)))


def run_insert(args) -> dict:
    gen = docs(args.docs, args.dup_share, args.seed)
    index = MemoryIndex()
    deduper = Deduper(index)
    base = rss()
    out = open(args.changelog, "wb")
    records = log_bytes = 0
    started = time.perf_counter()
    for n, doc in enumerate(gen, 1):
        deduper.decide(doc)
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
        index.insert(Entry(doc_id, doc_id, sig, 200, (0,), 0.0), band_keys(sig), {doc_id})
    took = time.perf_counter() - started
    return {"rss": rss() - base, "insert_s": took}


def _decide(url: str, client: int, n: int, dup_share: float, seed: int, barrier, results) -> None:
    """One client process: its own stream of ``n`` documents, decided after the barrier."""
    from stream.dedup.redis_index import RedisIndex

    index = RedisIndex.from_url(url)
    deduper = Deduper(index)
    mine = list(docs(n, dup_share, seed + client, client + 1))
    index.lookup(mine[0].doc_id)  # connected, functions loaded
    barrier.wait()
    cpu, started = time.process_time(), time.perf_counter()
    for doc in mine:
        deduper.decide(doc)
    results.put((client, time.process_time() - cpu, time.perf_counter() - started))


def _cluster(masters: int, where: str, command: str, port: int | str = "auto") -> int:
    """``deploy/redis-local cluster start|stop``: a cluster of ``masters`` of the bench's own,
    on free ports (start prints the first); returns that port."""
    env = {**os.environ, "REDIS_CLUSTER_PORT": str(port), "REDIS_CLUSTER_MASTERS": str(masters),
           "REDIS_CLUSTER_DATA": where}
    script = str(Path(__file__).resolve().parent.parent / "deploy" / "redis-local")
    out = subprocess.run([script, "cluster", command], env=env, check=True, capture_output=True, text=True).stdout
    return int(out.split(":")[-1].split("-")[0]) if command == "start" else int(port)


def run_redis(args, masters: int) -> dict:
    """Decisions per second and memory per document on a fresh Redis of ``masters`` shards."""
    import multiprocessing as mp

    import redis

    from stream.dedup.redis_index import RedisIndex

    with tempfile.TemporaryDirectory() as where:
        port = _cluster(masters, where, "start")
        try:
            nodes = [redis.Redis(port=port + i) for i in range(masters)]
            url = f"redis+cluster://127.0.0.1:{port}?namespace=b"
            RedisIndex.from_url(url).keys  # functions and layout in place before the baseline
            before = sum(n.info("memory")["used_memory"] for n in nodes)
            servers = [psutil.Process(int((Path(where) / str(port + i) / "redis.pid").read_text()))
                       for i in range(masters)]
            ctx = mp.get_context("spawn")
            barrier, results = ctx.Barrier(args.clients + 1), ctx.Queue()
            share = [args.redis // args.clients + (c < args.redis % args.clients) for c in range(args.clients)]
            procs = [ctx.Process(target=_decide, args=(url, c, share[c], args.dup_share, args.seed, barrier, results))
                     for c in range(args.clients)]
            for p in procs:
                p.start()
            barrier.wait()
            server_cpu = [sum(p.cpu_times()[:2]) for p in servers]
            machine = psutil.cpu_times()
            got = [results.get(timeout=3600) for _ in procs]
            machine_after = psutil.cpu_times()
            server_cpu = [sum(p.cpu_times()[:2]) - c for p, c in zip(servers, server_cpu)]
            for p in procs:
                p.join()
            used = sum(n.info("memory")["used_memory"] for n in nodes) - before
            entries = len(RedisIndex.from_url(url))
        finally:
            _cluster(masters, where, "stop", port)
    busy = sum(machine_after[:3]) + sum(machine_after[5:8]) - sum(machine[:3]) - sum(machine[5:8])
    total = sum(machine_after) - sum(machine)
    return {"masters": masters, "docs": args.redis, "entries": entries, "wall": max(w for _, _, w in got),
            "client_cpu": sum(c for _, c, _ in got), "server_cpu": server_cpu, "used": used,
            "busy": busy / total if total else 0.0}


def child(mode: str, args) -> dict:
    cmd = [sys.executable, "-m", "bench.index_bench", "--mode", mode, "--docs", str(args.docs),
           "--queries", str(args.queries), "--dup-share", str(args.dup_share), "--seed", str(args.seed),
           "--compare", str(args.compare), "--changelog", args.changelog, "--restore-batch", str(args.restore_batch)]
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
    p.add_argument("--clients", type=int, default=4, help="client processes deciding on Redis")
    p.add_argument("--shards", default="1,3", help="Redis Cluster sizes to compare (masters: 1, or 3 and more)")
    p.add_argument("--restore-batch", type=int, default=1000, help="records per apply_many call (restore-bulk)")
    p.add_argument("--mode", default="all",
                   choices=["all", "insert", "restore", "restore-bulk", "ours", "datasketch"])
    p.add_argument("--changelog", default="")
    args = p.parse_args()
    if args.mode != "all":
        run = {"insert": run_insert, "restore": run_restore, "restore-bulk": run_restore, "ours": run_compare,
               "datasketch": run_compare}
        print(json.dumps(run[args.mode](args)))
        return
    if args.docs:
        memory_index(args)
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
        redis_table(args, [run_redis(args, int(m)) for m in args.shards.split(",")])


def memory_index(args) -> None:
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
        ("decisions (Deduper.decide)", f"{n / ins['insert_s']:,.0f} /s", f"{ins['insert_s']:.1f} s"),
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


def redis_table(args, runs: list[dict]) -> None:
    print(f"\nRedisIndex, {args.redis:,} documents ({args.dup_share:.0%} near-duplicates), {args.clients} client "
          f"processes, Deduper.decide, {os.cpu_count()} cores")
    print("| masters | decisions/s | wall s | clients CPU s | Redis CPU s, each master | Redis CPU ms / 1,000 "
          "decisions | machine busy | Redis memory B/doc |")
    print("|---|---|---|---|---|---|---|---|")
    for r in runs:
        rate = r["docs"] / r["wall"]
        each = " + ".join(f"{c:.1f}" for c in r["server_cpu"])
        print(f"| {r['masters']} | {rate:,.0f} | {r['wall']:.1f} | {r['client_cpu']:.1f} | {each} | "
              f"{sum(r['server_cpu']) / r['docs'] * 1e6:,.0f} | {r['busy']:.0%} | {r['used'] / r['entries']:,.0f} |")
    if len(runs) > 1:
        first, last = runs[0], runs[-1]
        print(f"{last['masters']} masters / {first['masters']}: "
              f"{first['wall'] / last['wall']:.2f}x the decisions per second")
    print(json.dumps(runs), file=sys.stderr)


if __name__ == "__main__":
    main()
