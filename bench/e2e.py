"""End-to-end benchmark: the real service on a real broker, against the hand-written loop.

    .venv/bin/python bench/e2e.py --port 29092                 # the full run (20,000 pages)
    .venv/bin/python bench/e2e.py --port 29092 --quick         # 2,000 pages, no naive/offline/profile

Needs a broker on 127.0.0.1:<port> (``KAFKA_PORT=<port> deploy/kafka-local start``).

1. Pages: :func:`bench.syndication.generate` (real Zyte page templates, syndicated copies),
   cached as JSONL under ``bench/out/`` with a sidecar of ids and sizes.
2. Everything is pre-produced to a fresh input topic (6 partitions, page i -> partition i % 6).
3. Runs, each under its own consumer group and its own output topics, each a subprocess
   (``python -m stream run`` configured through ``STREAM_*``), stopped with SIGTERM once every
   input is accounted for on the three output topics:
   * main: exactly_once, STREAM_WORKERS=2, all pages (steady pages/s, MB/s, latency, RSS, lag);
   * alo: at_least_once, 2 workers, the first ``--compare-pages`` outputs;
   * w1: exactly_once, 1 worker, the first ``--compare-pages`` outputs;
   * replay: ``python -m stream replay`` of the same input topic into other topics;
   * naive: ``bench/naive_service.py`` (trafilatura + datasketch loop) on the first ``--naive-pages``;
   * offline: ``stream dedup --workers 2`` on the same JSONL (whole process);
   * with ``--repeat N``: N rounds of exactly_once, ``stream dedup`` on the first ``--compare-pages``
     pages, naive, at_least_once and 1 worker, minutes apart; ratios are medians over the rounds;
   * live_max: a fresh topic that a producer keeps 1,000 pages ahead of the outputs, evenly paced, for
     ``--saturation-seconds``: the most the service sustains while a producer runs;
   * latency: a fresh topic fed by a rate-limited producer at ``--load`` x that live maximum
     (or ``--max-rate``), and at each load of ``--more-loads``, for ``--latency-seconds``.
4. cProfile of ``stream dedup --workers 0`` over ``--profile-pages`` pages.
5. Prints a table, writes ``bench/out/e2e-results.json``, the plots and ``docs/benchmarks.md``,
   and deletes the run's topics (several GB) unless ``--keep-topics``.

The latency runs alone (no pre-produced topic is needed; ``--max-rate R`` skips the live maximum):

    .venv/bin/python bench/e2e.py --port 29092 --skip-main --skip-guarantee --skip-scaling \
        --skip-replay --skip-naive --skip-offline --skip-profile --docs bench/out

Throughput is measured from output record timestamps: steady pages/s = outputs after the first
one / (last output time - first output time); the wall rate includes process start-up.
Latency = output record timestamp - input record timestamp (both CreateTime, same clock),
matched by the ``id`` field (``stream.decode.doc_id``) or, for dead letters and the naive
loop, by the ``source_partition``/``source_offset`` headers.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import math
import os
import platform
import pstats
import shlex
import signal
import statistics
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # metadata warnings while new topics propagate

import orjson  # noqa: E402
import psutil  # noqa: E402
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient  # noqa: E402
from aiokafka.structs import TopicPartition  # noqa: E402

from stream.config import Settings  # noqa: E402
from stream.decode import decode, doc_id  # noqa: E402
from stream.errors import BadRecord  # noqa: E402
from stream.kafka.client import ensure_topics, message_limit  # noqa: E402

OUT = ROOT / "bench" / "out"
DOCS = ROOT / "docs"
PY = sys.executable
MAX_BYTES = Settings().max_record_bytes
PORT = [29092]  # the broker's port, set from --port
EXTRA_ENV: dict[str, str] = {}  # --service-env: extra STREAM_* settings of every service run
LIMIT = message_limit(Settings())
SATURATION_AHEAD = 1000  # pages the live-maximum run's producer keeps waiting: several full batches
KINDS = ("article", "duplicate", "dead_letter")


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


# -- pages ---------------------------------------------------------------------------------------


def pages_file(n: int, seed: int, copies: float) -> tuple[Path, dict]:
    """The cached JSONL of ``n`` generated pages and its sidecar (ids, sizes, html flags)."""
    path = OUT / f"e2e-pages-n{n}-seed{seed}-c{copies:g}.jsonl"
    meta_path = path.with_suffix(".meta.json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("pages") == n:
            log(f"pages: cached {path.relative_to(ROOT)}")
            return path, _current_ids(path, meta)
    for big in sorted(OUT.glob(f"e2e-pages-n*-seed{seed}-c{copies:g}.meta.json")):
        bigger = json.loads(big.read_text())
        src = big.with_name(big.name.replace(".meta.json", ".jsonl"))
        if bigger.get("pages", 0) > n and src.exists():  # the first n pages of a larger cached run
            log(f"pages: first {n} of {src.relative_to(ROOT)}")
            with src.open("rb") as f, path.open("wb") as out:
                for i, line in enumerate(f):
                    if i >= n:
                        break
                    out.write(line)
            meta = {**bigger, "pages": n, **{k: bigger[k][:n] for k in ("ids", "sizes", "html", "story")}}
            meta_path.write_text(json.dumps(meta))
            return path, _current_ids(path, meta)
    from bench.syndication import generate, plan

    stories = max(1, math.ceil(n / 6.5))
    while (count := len(plan(stories, copies, seed))) < n:
        stories = math.ceil(stories * n / count) + 1
    log(f"pages: generating {n} pages from {stories} stories (seed {seed})")
    OUT.mkdir(parents=True, exist_ok=True)
    ids, sizes, html, stories_of = [], [], [], []
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as out:
        for i, rec in enumerate(generate(stories, copies, seed)):
            if i >= n:
                break
            line = json.dumps(rec, ensure_ascii=False).encode()
            out.write(line + b"\n")
            sizes.append(len(line))
            html.append("html" in rec)
            stories_of.append(rec["_story"])
            ids.append(_id(line))
    tmp.rename(path)
    meta = {"pages": n, "stories": stories, "seed": seed, "copies": copies, "ids": ids, "sizes": sizes,
            "html": html, "story": stories_of}
    meta_path.write_text(json.dumps(meta))
    return path, meta


def _id(line: bytes) -> str | None:
    try:
        return doc_id(decode(line, MAX_BYTES))
    except BadRecord:
        return None


def _ids(path: Path, n: int) -> list[str | None]:
    """The ids of the first ``n`` pages of ``path``."""
    with path.open("rb") as f:
        return [_id(line) for _, line in zip(range(n), f)]


def _current_ids(path: Path, meta: dict) -> dict:
    """``meta``, its ids computed again if they were cached under an earlier id function."""
    if meta["ids"][:1] != _ids(path, 1):
        log("pages: the id function changed; computing the ids again")
        meta["ids"] = _ids(path, meta["pages"])
        path.with_suffix(".meta.json").write_text(json.dumps(meta))
    return meta


def page_stats(meta: dict) -> dict:
    sizes, html = meta["sizes"], meta["html"]
    h = sorted(s for s, x in zip(sizes, html) if x)
    return {
        "pages": len(sizes), "stories": len(set(meta["story"])), "html_pages": len(h),
        "text_pages": len(sizes) - len(h), "total_mb": round(sum(sizes) / 1e6, 1),
        "mean_kb": round(statistics.mean(sizes) / 1024, 1),
        "html_mean_kb": round(statistics.mean(h) / 1024, 1) if h else None,
        "html_median_kb": round(h[len(h) // 2] / 1024, 1) if h else None,
        "html_p10_kb": round(h[len(h) // 10] / 1024, 1) if h else None,
        "html_p90_kb": round(h[len(h) * 9 // 10] / 1024, 1) if h else None,
        "max_kb": round(max(sizes) / 1024, 1),
    }


# -- kafka helpers -------------------------------------------------------------------------------


@dataclass
class Inputs:
    """One produced copy of the pages: where each line landed and when."""

    ids: list  # line index -> doc id (from the sidecar)
    sizes: list
    ts: dict = field(default_factory=dict)  # line -> produce timestamp (ms)
    po: dict = field(default_factory=dict)  # (partition, offset) -> line
    by_id: dict = field(default_factory=dict)  # doc id -> line

    def __post_init__(self) -> None:
        self.by_id = {x: i for i, x in enumerate(self.ids) if x is not None}

    def add(self, i: int, partition: int, offset: int) -> None:
        self.po[(partition, offset)] = i


async def create(bootstrap: str, topics: list[str], partitions: int, compacted: tuple = ()) -> None:
    await ensure_topics(Settings(bootstrap_servers=bootstrap), topics, compacted=compacted, partitions=partitions)


async def drop_topics(bootstrap: str, prefix: str) -> list[str]:
    """Delete the topics a run made: a full run writes several GB to the broker's disk."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        doomed = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if doomed:
            await admin.delete_topics(doomed)
        return doomed
    finally:
        await admin.close()


def lines(path: Path):
    with path.open("rb") as f:
        for line in f:
            yield line.rstrip(b"\r\n")


class Follow:
    """Pacing that keeps the service saturated: pages go out evenly spaced, as a crawler's do,
    at the rate outputs arrived over the last 2 s, corrected every 0.5 s towards ``ahead``
    pages waiting. The producer then offers exactly what the service sustains, and sends
    (and costs the broker) what a producer at that fixed rate would."""

    def __init__(self, done, ahead: int) -> None:
        self.done, self.ahead = done, ahead
        self.rate = 0.0  # pages/s, set on every adjustment, the first one at the first page
        self.seen: deque[tuple[float, int]] = deque()  # (time, outputs so far)
        self.next_at = self.adjusted = 0.0

    async def wait(self, i: int) -> None:
        """Sleep until page ``i`` is due."""
        now = time.time()
        if now - self.adjusted >= 0.5:
            out = self.done()
            self.seen.append((now, out))
            while now - self.seen[0][0] > 2.0:
                self.seen.popleft()
            t0, o0 = self.seen[0]
            flow = (out - o0) / (now - t0) if now > t0 else 0.0
            self.rate = max(20.0, flow + (self.ahead - (i - out)) / 2.0)
            self.adjusted = now
        self.next_at = max(self.next_at + 1 / self.rate, now - 0.05)  # a late wake-up is not made up in a burst
        if self.next_at > now:
            await asyncio.sleep(self.next_at - now)


async def produce(bootstrap: str, topic: str, path: Path, inputs: Inputs, partitions: int, limit: int | None = None,
                  rate: float | None = None, seconds: float | None = None, done=None, ahead: int = 0) -> dict:
    """Produce the pages (``limit`` first ones), paced at ``rate``/s for ``seconds`` if given.

    With ``done`` (a function returning how many outputs have arrived), the rate follows the
    service: see :class:`Follow`."""
    follow = Follow(done, ahead) if done is not None else None
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_request_size=LIMIT,
                                max_batch_size=1024 * 1024)
    await producer.start()
    started = time.time()
    pending: list = []
    sent = 0

    async def settle() -> None:
        await asyncio.gather(*pending)
        pending.clear()

    def acked(i: int, fut) -> None:
        if not fut.cancelled() and fut.exception() is None:
            inputs.add(i, fut.result().partition, fut.result().offset)

    try:
        for i, line in enumerate(lines(path)):
            if limit is not None and i >= limit:
                break
            if rate:
                target = started + i / rate
                if seconds and target - started >= seconds:
                    break
                delay = target - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            if follow is not None:
                await follow.wait(i)
                if time.time() - started >= seconds:
                    break
            ts = inputs.ts[i] = int(time.time() * 1000)
            fut = await producer.send(topic, line, partition=i % partitions, timestamp_ms=ts)
            fut.add_done_callback(lambda f, i=i: acked(i, f))
            pending.append(fut)
            sent += 1
            if len(pending) >= 500:
                await settle()
        await settle()
    finally:
        await producer.stop()
    ended = time.time()
    secs = ended - started
    return {"records": sent, "seconds": round(secs, 2), "rate": round(sent / secs, 1), "started": started,
            "ended": ended}


class Collector:
    """Reads a run's output topics from the start and matches every output to its input."""

    def __init__(self, bootstrap: str, topics: dict[str, str], partitions: int, inputs: Inputs) -> None:
        self.bootstrap, self.topics, self.partitions, self.inputs = bootstrap, topics, partitions, inputs
        self.out: dict[int, tuple[str, int]] = {}  # line -> (kind, output timestamp ms), first delivery
        self.redelivered = 0
        self.unmatched = 0
        self.total = 0
        self.tombstones = 0  # retired clusters' keys on the articles topic
        self.series: list[tuple[float, int]] = []  # (wall time, outputs matched)
        self.last_new = time.time()
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        kind_of = {name: kind for kind, name in self.topics.items()}
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False,
            isolation_level="read_committed", max_partition_fetch_bytes=LIMIT, fetch_max_bytes=4 * LIMIT)
        await consumer.start()
        try:
            tps = [TopicPartition(t, p) for t in self.topics.values() for p in range(self.partitions)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            while not self._stop.is_set():
                batch = await consumer.getmany(timeout_ms=200)
                for tp, records in batch.items():
                    kind = kind_of[tp.topic]
                    for r in records:
                        if r.value is None:  # a tombstone: a retired cluster's key, no input of its own
                            self.tombstones += 1
                            continue
                        self.total += 1
                        headers = dict(r.headers)
                        i = None
                        if "source_offset" in headers:
                            i = self.inputs.po.get((int(headers["source_partition"]), int(headers["source_offset"])))
                        else:
                            with_id = orjson.loads(r.value).get("id")
                            i = self.inputs.by_id.get(with_id)
                        if i is None:
                            self.unmatched += 1
                        elif i in self.out:
                            self.redelivered += 1
                        else:
                            self.out[i] = (kind, r.timestamp)
                            self.last_new = time.time()
                if batch:
                    self.series.append((time.time(), len(self.out)))
        finally:
            await consumer.stop()


class Sampler:
    """Peak resident memory of a process tree (psutil), sampled."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        self.pid, self.every = pid, every
        self.peak_total = self.peak_main = 0
        self.series: list[tuple[float, int]] = []
        self.cpu: dict[int, float] = {}  # pid -> user + system seconds, last seen

    @property
    def cpu_seconds(self) -> float:
        return sum(self.cpu.values())

    def sample(self) -> None:
        try:
            main = psutil.Process(self.pid)
            procs = [main] + main.children(recursive=True)
        except psutil.Error:
            return
        total = 0
        for p in procs:
            with_rss = 0
            try:
                with_rss = p.memory_info().rss
                ct = p.cpu_times()
                self.cpu[p.pid] = ct.user + ct.system
            except psutil.Error:
                pass
            total += with_rss
            if p.pid == self.pid:
                self.peak_main = max(self.peak_main, with_rss)
        self.peak_total = max(self.peak_total, total)
        self.series.append((time.time(), total))

    async def run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.every)


# -- runs ----------------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p / 100))]


def rate_of(ts_ms: list[int], burst_ms: int = 50) -> tuple[float | None, float]:
    """Steady rate of sorted output timestamps. A batch's outputs are sent together, so the
    clock starts at the end of the first burst (outputs within ``burst_ms`` of the first one)
    and counts the outputs after it, up to the last output."""
    if len(ts_ms) < 2:
        return None, 0.0
    start = max(t for t in ts_ms if t <= ts_ms[0] + burst_ms)
    span = (ts_ms[-1] - start) / 1000
    if span <= 0:
        return None, 0.0
    return sum(1 for t in ts_ms if t > start) / span, span


def window_rates(ts_ms: list[int], width: float = 20.0) -> list[float]:
    if len(ts_ms) < 2:
        return []
    t0 = ts_ms[0]
    bins = int((ts_ms[-1] - t0) / 1000 // width)
    counts = [0] * bins
    for t in ts_ms:
        b = int((t - t0) / 1000 // width)
        if b < bins:
            counts[b] += 1
    return [c / width for c in counts]


def parse_log(path: Path) -> dict:
    """stats events (lag over time), warnings and errors of a service log."""
    stats, problems, reasons, other = [], [], {}, 0
    for raw in path.read_text(errors="replace").splitlines():
        try:
            e = json.loads(raw)
        except ValueError:
            if raw.strip():
                other += 1
                if len(problems) < 30 and ("Error" in raw or "Traceback" in raw or "error" in raw):
                    problems.append(raw[:400])
            continue
        if not isinstance(e, dict):
            continue
        ev = e.get("event")
        if ev == "stats":
            t = datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00")).timestamp()
            lag = e.get("lag") or {}
            stats.append({"t": t, "lag": sum(lag.values()), "records": e.get("records"),
                          "records_per_s": e.get("records_per_s"), "p99_ms": e.get("latency_p99_ms")})
        elif ev == "dlq.sent":
            reasons[e.get("reason")] = reasons.get(e.get("reason"), 0) + 1
        elif e.get("level") in ("warning", "error", "critical") and len(problems) < 30:
            problems.append(raw[:400])
    return {"stats": stats, "problems": problems, "dlq_reasons": reasons, "non_json_lines": other}


def broker_cpu(port: int) -> float | None:
    """CPU seconds used so far by the local broker (deploy/kafka-local's pid file), if found."""
    pidfile = Path(os.environ.get("KAFKA_LOCAL_DATA", f"/tmp/stream-kafka-{port}")) / "kafka.pid"
    try:
        ct = psutil.Process(int(pidfile.read_text().split()[0])).cpu_times()
        return ct.user + ct.system
    except (OSError, ValueError, psutil.Error):
        return None


def service_env(bootstrap: str, group: str, topics: dict[str, str], input_topic: str, partitions: int,
                **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAM_")}
    env.update({
        "STREAM_BOOTSTRAP_SERVERS": bootstrap, "STREAM_INPUT_TOPIC": input_topic,
        "STREAM_OUTPUT_TOPIC": topics["article"], "STREAM_DUPLICATES_TOPIC": topics["duplicate"],
        "STREAM_DLQ_TOPIC": topics["dead_letter"], "STREAM_GROUP_ID": group, "STREAM_INSTANCE_ID": group,
        "STREAM_STATS_INTERVAL": "1", "STREAM_LOG_FORMAT": "json", "STREAM_METRICS_PORT": "-1",
        "STREAM_PARTITIONS": str(partitions), "PYTHONUNBUFFERED": "1",
    })
    env.update(EXTRA_ENV)
    env.update({k: str(v) for k, v in extra.items()})
    return env


async def run_proc(name: str, cmd: list[str], env: dict, bootstrap: str, topics: dict[str, str], partitions: int,
                   inputs: Inputs, expect: int | None, stop_after: int | None = None, exits_itself: bool = False,
                   driver=None, stall: float = 180.0, timeout: float = 3600.0, cwd: Path = ROOT) -> dict:
    """Run one service process until ``expect`` inputs (or ``stop_after`` outputs) are accounted
    for on ``topics``; then SIGTERM it. ``driver`` (a coroutine function, given the
    :class:`Collector`) starts once the service has its partitions and returns the
    producer's report, whose ``records`` is the number of inputs to expect."""
    await create(bootstrap, [topics["article"]], partitions, compacted=(topics["article"],))
    await create(bootstrap, [topics["duplicate"], topics["dead_letter"]], partitions)
    logfile = OUT / f"e2e-{name}.log"
    collector = Collector(bootstrap, {k: v for k, v in topics.items() if v}, partitions, inputs)
    col_task = asyncio.create_task(collector.run())
    launched = time.time()
    with logfile.open("wb") as logf:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
    sampler = Sampler(proc.pid)
    samp_task = asyncio.create_task(sampler.run())
    log(f"{name}: started pid {proc.pid}: {' '.join(cmd[1:])}")
    load_start, broker_start = os.getloadavg()[0], broker_cpu(PORT[0])
    status, driven = "ok", None
    driver_task = None
    try:
        while True:
            await asyncio.sleep(0.5)
            now = time.time()
            if driver is not None and driver_task is None and b"consumer.partitions_assigned" in logfile.read_bytes():
                await asyncio.sleep(1.0)
                driver_task = asyncio.create_task(driver(collector))
            if driver_task is not None and driver_task.done() and driven is None:
                driven = driver_task.result()
                expect = driven["records"]
            target = stop_after if stop_after is not None else expect
            if target is not None and (driver is None or driven is not None):
                if (stop_after is not None and len(collector.out) >= stop_after) or (
                        stop_after is None and len(collector.out) >= expect):
                    if exits_itself:  # let it finish on its own
                        for _ in range(60):
                            if proc.poll() is not None:
                                break
                            await asyncio.sleep(0.5)
                        status = "exited" if proc.returncode == 0 else status
                    break
            if proc.poll() is not None:
                if exits_itself:
                    await asyncio.sleep(2.0)
                    status = "exited" if proc.returncode == 0 else f"exit {proc.returncode}"
                else:
                    status = f"died (exit {proc.returncode})"
                break
            quiet = now - (collector.last_new if collector.out else launched)
            if quiet > (stall if collector.out else max(stall, 300)) and (driver is None or driver_task is not None):
                status = f"stalled ({quiet:.0f}s without new outputs)"
                break
            if now - launched > timeout:
                status = "timeout"
                break
    finally:
        stopped_at = time.time()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            for _ in range(120):
                if proc.poll() is not None:
                    break
                await asyncio.sleep(0.5)
            if proc.poll() is None:
                status += "; did not exit 60s after SIGTERM, killed"
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        exited = time.time()
        await asyncio.sleep(1.0)  # late outputs (re-deliveries) land on the topics
        collector.stop()
        await col_task
        samp_task.cancel()
        broker_end = broker_cpu(PORT[0])
    if driver_task is not None and not driver_task.done():
        driver_task.cancel()
    parsed = parse_log(logfile)
    res = summarize(name, collector, inputs, launched, expect, stop_after)
    res.update({
        "status": status, "returncode": proc.returncode, "shutdown_s": round(exited - stopped_at, 2),
        "peak_rss_mb": round(sampler.peak_total / 2**20, 1), "peak_rss_main_mb": round(sampler.peak_main / 2**20, 1),
        "rss_series": [(round(t - launched, 2), round(r / 2**20, 1)) for t, r in sampler.series],
        "lag_series": [(round(s["t"] - launched, 2), s["lag"]) for s in parsed["stats"]],
        "outputs_series": [(round(t - launched, 2), n) for t, n in collector.series],
        "problems": parsed["problems"], "dlq_reasons": parsed["dlq_reasons"], "log": str(logfile.relative_to(ROOT)),
        "command": " ".join(shlex.quote(c) for c in cmd),
        "cpu_s": round(sampler.cpu_seconds, 1),
        "cpu_ms_per_page": round(1000 * sampler.cpu_seconds / res["matched"], 1) if res["matched"] else None,
        "broker_cpu_s": round(broker_end - broker_start, 1) if broker_start is not None and broker_end else None,
        "loadavg_1m": [round(load_start, 2), round(os.getloadavg()[0], 2)],
    })
    if driven is not None:
        res["producer"] = driven
    log(f"{name}: {status}; {res['matched']} outputs matched, steady {res['rate']} pages/s, "
        f"peak RSS {res['peak_rss_mb']} MB")
    return res


def summarize(name: str, col: Collector, inputs: Inputs, launched: float, expect: int | None,
              stop_after: int | None) -> dict:
    items = sorted(col.out.items(), key=lambda kv: kv[1][1])
    ts = [t for _, (_, t) in items]
    measured = items[:stop_after] if stop_after else items  # comparison runs: the first ``stop_after`` outputs
    rate, span = rate_of(ts[:len(measured)])
    windows = window_rates(ts[:len(measured)])
    lat = [t - inputs.ts[i] for i, (_, t) in items if i in inputs.ts]
    kinds = {k: 0 for k in KINDS}
    for _, (k, _) in items:
        kinds[k] += 1
    nbytes = sum(inputs.sizes[i] for i, _ in measured)
    wall = (ts[-1] / 1000 - launched) if ts else None
    return {
        "name": name, "expected": expect, "stop_after": stop_after, "matched": len(items),
        "redelivered": col.redelivered, "unmatched": col.unmatched, "outputs_read": col.total, **kinds,
        "rate": round(rate, 1) if rate else None, "span_s": round(span, 2),
        "rate_window_median": round(statistics.median(windows), 1) if windows else None,
        "mb_per_s": round(nbytes / 1e6 / span, 2) if span else None,
        "wall_s": round(wall, 2) if wall else None, "wall_rate": round(len(items) / wall, 1) if wall else None,
        "startup_s": round(ts[0] / 1000 - launched, 2) if ts else None, "launched": launched,
        "latency_ms": {f"p{p}": pct(lat, p) for p in (50, 90, 99)} | {"max": max(lat) if lat else None},
        "_ts": ts, "_lat": [(t - inputs.ts[i], inputs.ts[i]) for i, (_, t) in items if i in inputs.ts],
    }


def rate_first(res: dict, m: int) -> float | None:
    r, _ = rate_of(res["_ts"][:m])
    return round(r, 1) if r else None


def wall_rate_first(res: dict, m: int) -> float | None:
    """Outputs per second from process launch to the ``m``-th output (start-up included)."""
    ts = res["_ts"][:m]
    return round(len(ts) / (ts[-1] / 1000 - res["launched"]), 1) if ts else None


async def run_naive(name: str, bootstrap: str, rid: str, input_topic: str, partitions: int, inputs: Inputs,
                    pages: int) -> dict:
    """``bench/naive_service.py`` on the first ``pages`` records of the input topic."""
    t = topics(rid, name)
    cmd = [PY, str(ROOT / "bench" / "naive_service.py"), "--bootstrap", bootstrap, "--input-topic", input_topic,
           "--articles-topic", t["article"], "--duplicates-topic", t["duplicate"], "--group", f"e2e-{rid}-{name}",
           "--max-records", str(pages)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAM_")} | {"PYTHONUNBUFFERED": "1"}
    nv = await run_proc(name, cmd, env, bootstrap, t, partitions, inputs, expect=None, exits_itself=True, stall=600)
    done = [json.loads(x) for x in (OUT / f"e2e-{name}.log").read_text().splitlines() if x.startswith('{"event"')]
    if done:
        nv["summary"] = done[-1]
        nv["skipped"] = done[-1].get("skipped", 0)
        # rate over every consumed record (skipped ones included), between first and last output
        if nv["span_s"]:
            nv["rate"] = round((done[-1]["records"] - 1) / nv["span_s"], 1)
    return nv


def first_lines(path: Path, n: int) -> Path:
    """The first ``n`` pages of ``path``, as a file of their own (the offline run's input in a round)."""
    out = OUT / f"{path.stem}-first{n}.jsonl"
    if not out.exists() or out.stat().st_mtime < path.stat().st_mtime:  # made from an older copy
        with path.open("rb") as src, out.open("wb") as dst:
            for i, line in enumerate(src):
                if i >= n:
                    break
                dst.write(line)
    return out


async def run_offline(path: Path, workers: int) -> dict:
    out = OUT / "e2e-offline-dedup.jsonl"
    cmd = [PY, "-m", "stream", "dedup", "--workers", str(workers), "--input", str(path), "--output", str(out)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAM_")} | {"STREAM_LOG_FORMAT": "json"}
    started = time.time()
    proc = await asyncio.create_subprocess_exec(*cmd, cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    sampler = Sampler(proc.pid)
    task = asyncio.create_task(sampler.run())
    log(f"offline: started pid {proc.pid}: {' '.join(cmd[1:])}")
    _, err = await proc.communicate()
    secs = time.time() - started
    task.cancel()
    done = {}
    for raw in err.decode(errors="replace").splitlines():
        try:
            e = json.loads(raw)
        except ValueError:
            continue
        if isinstance(e, dict) and e.get("event") == "dedup.done":
            done = e
    n = done.get("records", 0)
    log(f"offline: {n} records in {secs:.1f}s ({n / secs:.1f}/s)")
    return {"name": "offline", "returncode": proc.returncode, "records": n, "seconds": round(secs, 2),
            "rate": round(n / secs, 1), "steady_rate": done.get("steady_per_s"), **{k: done.get(k) for k in KINDS},
            "peak_rss_mb": round(sampler.peak_total / 2**20, 1), "command": " ".join(cmd[1:]),
            "cpu_s": round(sampler.cpu_seconds, 1), "cpu_ms_per_page": round(1000 * sampler.cpu_seconds / n, 1) if n else None,
            "stderr_tail": err.decode(errors="replace").splitlines()[-5:] if proc.returncode else []}


def run_profile(path: Path, pages: int) -> dict:
    sub = OUT / f"e2e-profile-{pages}.jsonl"
    with sub.open("wb") as out:
        for i, line in enumerate(lines(path)):
            if i >= pages:
                break
            out.write(line + b"\n")
    prof = OUT / "e2e-profile.prof"
    cmd = [PY, "-m", "cProfile", "-o", str(prof), "-m", "stream", "dedup", "--workers", "0",
           "--input", str(sub), "--output", os.devnull]
    log(f"profile: {' '.join(cmd[1:])}")
    started = time.time()
    subprocess.run(cmd, cwd=ROOT, check=True, stderr=subprocess.DEVNULL)
    secs = time.time() - started
    result = {"pages": pages, "seconds": round(secs, 2), "command": " ".join(cmd[1:])}
    for order in ("tottime", "cumulative"):
        buf = io.StringIO()
        pstats.Stats(str(prof), stream=buf).strip_dirs().sort_stats(order).print_stats(15)
        text = buf.getvalue()
        start = text.find("   ncalls")
        result[order] = text[start:].rstrip() if start >= 0 else text.rstrip()
    return result


# -- report --------------------------------------------------------------------------------------


def machine() -> dict:
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    free = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)), "cpu": model, "free_g": free,
            "python": platform.python_version(), "kernel": platform.release(),
            "load_at_start": os.getloadavg()}


def fmt(v, suffix: str = "") -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:,.1f}{suffix}" if abs(v) < 100 else f"{v:,.0f}{suffix}"
    return f"{v:,}{suffix}"


def ratio(a, b) -> float | None:
    return round(a / b, 3) if a and b else None


def table(results: dict) -> list[tuple[str, str, str]]:
    r = results["runs"]
    main = r.get("main")
    rows: list[tuple[str, str, str]] = []
    m = results["compare_pages"]
    ps = results["pages"]
    rows.append(("pages (HTML mean / median size)", f"{ps['pages']:,} ({ps['html_pages']:,} HTML, {ps['text_pages']:,} text)",
                 f"all {ps['mean_kb']} KB mean; HTML {ps['html_mean_kb']} KB mean, {ps['html_median_kb']} KB median"))
    if main:
        lm = main["latency_ms"]
        rows += [
            ("ours: steady pages/s (exactly_once, 2 workers)", fmt(main["rate"]),
             f"{main['matched']:,} pages; median of 20 s windows {fmt(main['rate_window_median'])}"),
            ("ours: MB/s of input", fmt(main["mb_per_s"]), ""),
            ("ours: wall pages/s incl. start-up", fmt(main["wall_rate"]),
             f"{fmt(main['wall_s'])} s from launch to last output; first output after {fmt(main['startup_s'])} s"),
            ("ours: outputs", f"{main['article']:,} / {main['duplicate']:,} / {main['dead_letter']:,}",
             f"articles / duplicates / dead letters; {main['redelivered']} re-delivered, {main['unmatched']} unmatched"),
            ("ours: backlog latency p50 / p99 (pre-produced)", f"{fmt(lm['p50'] / 1000)} s / {fmt(lm['p99'] / 1000)} s"
             if lm["p50"] is not None else "n/a", "dominated by queueing behind the backlog"),
            ("ours: peak RSS (process + workers)", fmt(main["peak_rss_mb"], " MB"),
             f"service process alone {fmt(main['peak_rss_main_mb'], ' MB')}"),
            ("ours: CPU per page (service + workers)", fmt(main["cpu_ms_per_page"], " ms"),
             f"broker CPU during the run: {fmt(main['broker_cpu_s'], ' s')} "
             f"({fmt(1000 * main['broker_cpu_s'] / main['matched'] if main['broker_cpu_s'] else None, ' ms')}/page); "
             f"1-min load average {main['loadavg_1m'][0]} → {main['loadavg_1m'][1]}"),
        ]
    nv = r.get("naive")
    if nv and main:
        ours_n = rate_first(main, nv["matched"] + nv.get("skipped", 0))
        rows += [
            ("naive: steady pages/s", fmt(nv["rate"]),
             f"first {results['naive_pages']:,} pages ({nv['matched']:,} published, {nv.get('skipped', 0)} skipped)"),
            ("ours vs naive (ratio)", fmt(ratio(main["rate"], nv["rate"]), "x"),
             f"ours over its first {results['naive_pages']:,} outputs: {fmt(ours_n)} pages/s "
             f"({fmt(ratio(ours_n, nv['rate']), 'x')})"),
            ("naive: peak RSS", fmt(nv["peak_rss_mb"], " MB"), ""),
            ("naive: CPU per page", fmt(nv["cpu_ms_per_page"], " ms"),
             f"naive ÷ ours = {fmt(ratio(nv['cpu_ms_per_page'], main['cpu_ms_per_page']), 'x')} "
             "(CPU time, less sensitive to other load than pages/s)"),
        ]
    off = r.get("offline")
    if off and main:
        rows += [
            ("offline `stream dedup --workers 2` pages/s", fmt(off["rate"]),
             f"whole process, {off['records']:,} pages in {off['seconds']} s; "
             f"{fmt(off.get('steady_rate'))} from its first output on"),
            ("Kafka-overhead ratio (service ÷ offline)", f"{ratio(main['rate'], off.get('steady_rate')) or 0:.2f}",
             f"both from their first output on; service steady ÷ offline whole process "
             f"{ratio(main['rate'], off['rate']) or 0:.2f}; "
             f"launch to last output, both: {ratio(main['wall_rate'], off['rate']) or 0:.2f}; target ≥ 0.85; "
             f"CPU per page offline {fmt(off['cpu_ms_per_page'], ' ms')} vs service {fmt(main['cpu_ms_per_page'], ' ms')}"),
        ]
    m = results["compare_pages"]
    w1, alo = r.get("w1"), r.get("alo")
    if main and (w1 or alo):
        main_m = rate_first(main, m)
        rows.append((f"ours, first {m:,} outputs: exactly_once, 2 workers", fmt(main_m), "reference for the next rows"))
        if w1:
            rows.append(("STREAM_WORKERS=1 pages/s", fmt(w1["rate"]),
                         f"2 workers ÷ 1 worker = {fmt(ratio(main_m, w1['rate']), 'x')}; CPU/page "
                         f"{fmt(w1['cpu_ms_per_page'], ' ms')}; load {w1['loadavg_1m'][0]} → {w1['loadavg_1m'][1]}"))
        if alo:
            cost = round((1 - main_m / alo["rate"]) * 100, 1) if main_m and alo["rate"] else None
            rows.append(("at_least_once pages/s", fmt(alo["rate"]), f"cost of exactly-once: {fmt(cost, ' %')}; "
                         f"CPU/page {fmt(alo['cpu_ms_per_page'], ' ms')}, broker CPU {fmt(alo['broker_cpu_s'], ' s')}"
                         f" (exactly_once run: {fmt(main['cpu_ms_per_page'], ' ms')}, {fmt(main['broker_cpu_s'], ' s')}"
                         " over all pages)"))
    reps = results.get("repeats") or []
    if len(reps) > 1:
        def med(kind: str, key: str = "rate"):
            vals = [x[kind][key] for x in reps if kind in x and x[kind].get(key)]
            return (round(statistics.median(vals), 1), vals) if vals else (None, [])

        def ratios(num: str, den: str) -> tuple[float | None, list[float]]:
            vals = [x[num]["rate"] / x[den]["rate"] for x in reps
                    if x.get(num, {}).get("rate") and x.get(den, {}).get("rate")]
            return (statistics.median(vals), vals) if vals else (None, [])

        before = ratios("eos", "before")
        if before[0]:
            rows.append((f"ours ÷ the code before (--before), median of {len(before[1])} rounds", f"{before[0]:.2f}",
                         f"rounds: {', '.join(f'{v:.2f}' for v in before[1])}; each round: ours over its first "
                         f"{m:,} outputs, then the checkout in {results.get('before')} on the same pages"))
        naive_x = ratios("eos_first_naive", "naive")
        if naive_x[0]:
            rows.append((f"ours ÷ naive, median of {len(naive_x[1])} rounds", f"{naive_x[0]:.1f}x",
                         f"rounds: {', '.join(f'{v:.1f}x' for v in naive_x[1])}; each round: ours over its first "
                         f"{results['naive_pages']:,} outputs, then the naive loop on the same pages"))
        steady, wall = ratios("eos", "offline_steady"), ratios("eos_wall", "offline")
        if steady[0]:
            rows.append((f"Kafka-overhead ratio, median of {len(steady[1])} rounds", f"{steady[0]:.2f}",
                         f"rounds: {', '.join(f'{v:.2f}' for v in steady[1])}; each round: the service over its first "
                         f"{m:,} outputs ÷ `stream dedup --workers 2` on the first {m:,} pages, run next, both from "
                         f"their first output on; from process launch instead: median "
                         f"{wall[0] or 0:.2f} ({', '.join(f'{v:.2f}' for v in wall[1])})"))
        eos, alo_, w1_ = med("eos"), med("alo"), med("w1")
        rows.append((f"median of {len(reps)} interleaved rounds, first {m:,} outputs: exactly_once / 2 workers",
                     fmt(eos[0]), f"rounds: {', '.join(fmt(v) for v in eos[1])}; CPU/page {fmt(med('eos', 'cpu_ms_per_page')[0], ' ms')}"))
        if alo_[0]:
            cost = round((1 - eos[0] / alo_[0]) * 100, 1) if eos[0] else None
            rows.append(("  at_least_once / 2 workers (median)", fmt(alo_[0]),
                         f"rounds: {', '.join(fmt(v) for v in alo_[1])}; cost of exactly-once {fmt(cost, ' %')}; "
                         f"CPU/page {fmt(med('alo', 'cpu_ms_per_page')[0], ' ms')}"))
        if w1_[0]:
            rows.append(("  exactly_once / 1 worker (median)", fmt(w1_[0]),
                         f"rounds: {', '.join(fmt(v) for v in w1_[1])}; 2 workers ÷ 1 = {fmt(ratio(eos[0], w1_[0]), 'x')}; "
                         f"CPU/page {fmt(med('w1', 'cpu_ms_per_page')[0], ' ms')}"))
    rp = r.get("replay")
    if rp and main:
        own = rp.get("own_report", {})
        rows.append(("replay pages/s (`stream replay`)", fmt(rp["rate"]),
                     f"live {fmt(main['rate'])}: replay ÷ live = {fmt(ratio(rp['rate'], main['rate']), 'x')}; "
                     f"replay's own report incl. start-up {fmt(own.get('rate'))}/s"))
    lm = r.get("live_max")
    if lm:
        rows.append(("live max pages/s (producer and broker on the same 2 cores)", fmt(lm["sustained"]),
                     f"outputs/s while a producer kept {SATURATION_AHEAD:,} pages waiting, from "
                     f"{results['latency_warmup']} s to its end at {lm['producer']['seconds']} s; with the drain "
                     f"after it, when the service has the cores to itself: {fmt(lm['rate'])}"))
    for name, lt in r.items():
        if not name.startswith("latency"):
            continue
        lw = lt.get("latency_warm_ms", {})
        load = lt.get("load", results["load"])
        rows.append((f"latency at {load:.0%} of {'live ' if lm else ''}max ({fmt(lt['producer']['rate'])} pages/s offered)",
                     f"p50 {fmt(lw.get('p50'), ' ms')} / p99 {fmt(lw.get('p99'), ' ms')}",
                     f"{lt['producer']['records']:,} pages over {lt['producer']['seconds']} s, first "
                     f"{results['latency_warmup']} s excluded; incl. warm-up p50 {fmt(lt['latency_ms']['p50'], ' ms')}"
                     f" / p99 {fmt(lt['latency_ms']['p99'], ' ms')}; achieved {fmt(lt['rate'])} pages/s; p50 in the "
                     f"first / second half after warm-up {fmt(lt.get('p50_halves', [None])[0], ' ms')} / "
                     f"{fmt(lt.get('p50_halves', [None, None])[1], ' ms')}"))
    return rows


def print_table(rows) -> str:
    w0 = max(len(a) for a, _, _ in rows)
    w1 = max(len(b) for _, b, _ in rows)
    text = "\n".join(f"{a:<{w0}}  {b:>{w1}}  {c}" for a, b, c in rows)
    print(text)
    return text


def plots(results: dict, where: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = results["runs"]
    made = []
    # throughput
    bars = [(label, r[k]["rate"]) for k, label in (
        ("main", "ours\nexactly_once\n2 workers"), ("alo", "ours\nat_least_once\n2 workers"),
        ("w1", "ours\nexactly_once\n1 worker"), ("replay", "ours\nreplay"), ("offline", "offline\nstream dedup\n2 workers"),
        ("naive", "naive loop\ntrafilatura +\ndatasketch")) if k in r and r[k].get("rate")]
    if bars:
        fig, ax = plt.subplots(figsize=(8, 4.2))
        colors = ["#1f77b4" if "naive" not in b[0] else "#d62728" for b in bars]
        ax.bar([b[0] for b in bars], [b[1] for b in bars], color=colors)
        for i, (_, v) in enumerate(bars):
            ax.text(i, v, f"{v:,.0f}", ha="center", va="bottom")
        ax.set_ylabel("pages/s (steady)")
        ax.set_title(f"Throughput, {results['pages']['pages']:,} syndicated pages, {results['machine']['nproc']} CPUs")
        fig.tight_layout()
        made.append(where / "e2e-throughput.png")
        fig.savefig(made[-1], dpi=110)
        plt.close(fig)
    # latency
    lt = r.get("latency")
    if lt and lt.get("_lat"):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        t0 = min(t for _, t in lt["_lat"])
        a1.plot([(t - t0) / 1000 for _, t in lt["_lat"]], [lat for lat, _ in lt["_lat"]], ".", ms=2)
        a1.set_xlabel("input produced at (s)")
        a1.set_ylabel("end-to-end latency (ms)")
        a1.set_yscale("log")
        a1.set_title(f"At {results['load']:.0%} load ({lt['producer']['rate']:.0f} pages/s offered)")
        lw = lt["latency_warm_ms"]
        ps = ["p50", "p90", "p99", "max"]
        a2.bar(ps, [lw.get(p) or 0 for p in ps])
        for i, p in enumerate(ps):
            if lw.get(p) is not None:
                a2.text(i, lw[p], f"{lw[p]:,.0f}", ha="center", va="bottom")
        a2.set_ylabel("ms")
        a2.set_title(f"Latency percentiles (after {results['latency_warmup']} s warm-up)")
        fig.tight_layout()
        made.append(where / "e2e-latency.png")
        fig.savefig(made[-1], dpi=110)
        plt.close(fig)
    # scaling
    if "main" in r and "w1" in r and r["w1"].get("rate"):
        m = results["compare_pages"]
        vals = [("1 worker", r["w1"]["rate"]), ("2 workers", rate_first(r["main"], m))]
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.bar([v[0] for v in vals], [v[1] or 0 for v in vals])
        for i, (_, v) in enumerate(vals):
            if v:
                ax.text(i, v, f"{v:,.0f}", ha="center", va="bottom")
        ax.set_ylabel("pages/s (steady)")
        ax.set_title(f"STREAM_WORKERS scaling (first {m:,} pages, exactly_once)")
        fig.tight_layout()
        made.append(where / "e2e-scaling.png")
        fig.savefig(made[-1], dpi=110)
        plt.close(fig)
    # lag
    if "main" in r and r["main"]["lag_series"]:
        fig, ax = plt.subplots(figsize=(8, 4))
        for k, label in (("main", "exactly_once, 2 workers"), ("alo", "at_least_once, 2 workers"),
                         ("w1", "exactly_once, 1 worker"), ("replay", "replay")):
            if k in r and r[k]["lag_series"]:
                s = r[k]["lag_series"]
                ax.plot([t for t, _ in s], [v for _, v in s], label=label)
        ax.set_xlabel("seconds since the service process started")
        ax.set_ylabel("consumer lag (records, all partitions)")
        ax.set_title("Consumer lag over time (service `stats` events), pre-produced backlog")
        ax.legend()
        fig.tight_layout()
        made.append(where / "e2e-lag.png")
        fig.savefig(made[-1], dpi=110)
        plt.close(fig)
    return made


def markdown(results: dict, rows, made: list[Path], argv: list[str]) -> str:
    mc = results["machine"]
    cmd = ".venv/bin/python bench/e2e.py " + " ".join(shlex.quote(a) for a in argv)
    r = results["runs"]
    out = ["# Benchmarks", "",
           f"End-to-end: the service on a local single-node Kafka {results.get('kafka', '4.4.0')} broker, against the "
           "loop users write by hand today, on the same pages in the same run. Generated by `bench/e2e.py` "
           f"on {results['started']} (UTC). Single runs on a shared, noisy machine: read ratios, not absolutes.", "",
           "## Command", "", "```sh", f"KAFKA_PORT={results['port']} deploy/kafka-local start", cmd, "```", "",
           "## Machine", "",
           f"- `nproc`: {mc['nproc']}; CPU: {mc['cpu']}; Python {mc['python']}; kernel {mc['kernel']}",
           f"- load average at start: {', '.join(f'{x:.2f}' for x in mc['load_at_start'])} "
           "(other jobs shared the 2 CPUs during the run)",
           "- `free -g`:", "", "```", mc["free_g"], "```", "",
           "## Results", "", "| measure | value | notes |", "|---|---:|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    out += ["", "How to read it:", "",
            "- **Pages**: `bench/syndication.py` with seed "
            f"{results['seed']}: real Zyte article pages used as templates, each story copied into other sites' "
            "templates with syndication edits; a quarter of the copies are flattened text scrapes. "
            "All pages are produced to a fresh 6-partition topic before the service starts.",
            "- **Steady pages/s**: the clock starts at the first published batch (outputs within 50 ms of the "
            "first output) and stops at the last output; pages/s = outputs after that batch ÷ that span. **Wall** "
            "counts from process launch. **MB/s** counts input record bytes (10^6 bytes). **CPU per page** is the "
            "user + system time of the process tree (psutil, sampled every 0.5 s) ÷ pages; it is less affected by "
            "the other jobs on the machine than pages/s.",
            "- **Latency** = output record timestamp − input record timestamp, matched by `id` (dead letters "
            "by their source partition/offset headers). On a pre-produced backlog it is mostly time spent "
            "waiting in the queue, so the meaningful figure is the rate-limited run.",
            "- **Live max**: the backlog rate overstates what the service can sustain while the benchmark's "
            "producer and the broker's writes share the same 2 cores, so a live run first offers the backlog "
            "rate, and what the service achieves under it is the maximum the latency run takes its 80 % of.",
            "- **Naive loop** (`bench/naive_service.py`): one process, aiokafka `getmany`, `trafilatura.extract` "
            "with defaults, word 5-shingles into `datasketch.MinHash(num_perm=128)` one `update` per shingle, "
            "`MinHashLSH()` with its defaults (threshold 0.9), `send` per record, then all acks and one commit per "
            "polled batch (at-least-once).",
            f"- **Comparisons** (workers, guarantee) use the first {results['compare_pages']:,} outputs of each run, "
            "and the main run is measured over the same count. With `--repeat`, every round runs the service, "
            f"`stream dedup` on the first {results['compare_pages']:,} pages and the naive loop on the first "
            f"{results['naive_pages']:,} pages, minutes apart; the ratios are taken within a round, then the "
            "median over rounds: the machine's speed drifts between the phases of one run.", ""]
    for p in made:
        out += [f"![{p.stem}]({p.name})", ""]
    main = r.get("main")
    if main:
        out += ["## Service health during the runs", ""]
        for k in ("main", "alo", "w1", "replay", "live_max", *(k for k in r if k.startswith("latency")), "naive"):
            if k in r:
                x = r[k]
                out.append(f"- **{k}**: {x['status']}, exit code {x['returncode']}, shutdown after SIGTERM "
                           f"{x['shutdown_s']} s, {x['redelivered']} re-delivered, {x['unmatched']} unmatched; "
                           f"dead-letter reasons {x['dlq_reasons'] or 'none'}; "
                           f"{len(x['problems'])} warning/error lines (excluding `dlq.sent`).")
        probs = [(k, p) for k in r if isinstance(r[k], dict) for p in r[k].get("problems", [])[:5]]
        if probs:
            out += ["", "Warnings and errors logged (first lines per run):", "", "```"]
            out += [f"{k}: {p}" for k, p in probs]
            out += ["```"]
        out.append("")
    pr = results.get("profile")
    if pr:
        out += ["## Profile", "", f"`python {pr['command']}` ({pr['pages']} pages, {pr['seconds']} s incl. "
                "start-up, in one process). Top 15 by own time:", "", "```", pr["tottime"], "```", "",
                "Top 15 by cumulative time:", "", "```", pr["cumulative"], "```", ""]
    return "\n".join(out)


# -- main ----------------------------------------------------------------------------------------


RUN_CMD = [PY, "-m", "stream", "run"]


def topics(rid: str, name: str) -> dict[str, str]:
    """A run's output topics."""
    return {"article": f"e2e-{rid}-{name}-articles", "duplicate": f"e2e-{rid}-{name}-duplicates",
            "dead_letter": f"e2e-{rid}-{name}-dlq"}


async def amain(args: argparse.Namespace, rid: str) -> dict:
    bootstrap = f"127.0.0.1:{args.port}"
    PORT[0] = args.port
    P = args.partitions
    path, meta = pages_file(args.pages, args.seed, args.copies)
    results: dict = {"started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"), "machine": machine(),
                     "port": args.port, "seed": args.seed, "pages": page_stats(meta), "runs": {},
                     "compare_pages": min(args.compare_pages, args.pages), "naive_pages": min(args.naive_pages, args.pages),
                     "load": args.load, "latency_warmup": args.latency_warmup, "run_id": rid,
                     "service_env": dict(EXTRA_ENV), "before": str(args.before) if args.before else None}
    log(f"pages: {results['pages']}")
    runs = results["runs"]

    input_topic = f"e2e-{rid}-in"
    inputs = Inputs(meta["ids"], meta["sizes"])
    if args.before or not all((args.skip_main, args.skip_guarantee, args.skip_scaling, args.skip_replay, args.skip_naive)):
        await create(bootstrap, [input_topic], P)
        log(f"produce: {args.pages} pages to {input_topic}")
        results["produce"] = await produce(bootstrap, input_topic, path, inputs, P)
        log(f"produce: {results['produce']}")
    n = len(inputs.ts)

    def svc(name, **extra):
        t = topics(rid, name)
        return t, service_env(bootstrap, f"e2e-{rid}-{name}", t, input_topic, P, **extra)

    if not args.skip_main:
        t, env = svc("main", STREAM_WORKERS=2, STREAM_GUARANTEE="exactly_once")
        runs["main"] = await run_proc("main", RUN_CMD, env, bootstrap, t, P, inputs, expect=n)
    m, nn = results["compare_pages"], results["naive_pages"]
    reps = []
    for rep in range(args.repeat):  # a round: exactly_once/2, offline, naive, at_least_once/2, exactly_once/1
        row: dict = {}
        sfx = "" if rep == 0 else str(rep)
        if "main" in runs and rep == 0:
            row["eos"] = {"rate": rate_first(runs["main"], m), "cpu_ms_per_page": runs["main"]["cpu_ms_per_page"]}
        elif args.before or not (args.skip_guarantee and args.skip_scaling and args.skip_naive and args.skip_offline):
            t, env = svc(f"eos{rep}", STREAM_WORKERS=2, STREAM_GUARANTEE="exactly_once")
            row["eos"] = runs[f"eos{rep}"] = await run_proc(f"eos{rep}", RUN_CMD, env, bootstrap, t, P, inputs,
                                                            expect=n, stop_after=m)
        if args.before:  # the code before a change, on the same pages, right after ours
            t, env = svc(f"before{rep}", STREAM_WORKERS=2, STREAM_GUARANTEE="exactly_once")
            cmd = [str(args.before / ".venv" / "bin" / "python"), "-m", "stream", "run"]
            row["before"] = runs[f"before{rep}"] = await run_proc(f"before{rep}", cmd, env, bootstrap, t, P, inputs,
                                                                  expect=n, stop_after=m, cwd=args.before)
        if not args.skip_offline:  # the Kafka-overhead ratio within the round: same pages, minutes apart
            row["offline"] = runs["offline_first" + sfx] = await run_offline(first_lines(path, m), 2)
        if not args.skip_naive:
            name = "naive" + sfx
            row["naive"] = runs[name] = await run_naive(name, bootstrap, rid, input_topic, P, inputs, nn)
        if not args.skip_guarantee:
            t, env = svc("alo" + sfx, STREAM_WORKERS=2, STREAM_GUARANTEE="at_least_once")
            row["alo"] = runs["alo" + sfx] = await run_proc("alo" + sfx, RUN_CMD, env, bootstrap, t, P, inputs,
                                                            expect=n, stop_after=m)
        if not args.skip_scaling:
            t, env = svc("w1" + sfx, STREAM_WORKERS=1, STREAM_GUARANTEE="exactly_once")
            row["w1"] = runs["w1" + sfx] = await run_proc("w1" + sfx, RUN_CMD, env, bootstrap, t, P, inputs,
                                                          expect=n, stop_after=m)
        reps.append({k: {"rate": v["rate"], "cpu_ms_per_page": v["cpu_ms_per_page"]} for k, v in row.items()})
        if "offline" in row:
            reps[-1]["offline_steady"] = {"rate": row["offline"]["steady_rate"]}
        eos_run = runs["main"] if rep == 0 and "main" in runs else runs.get(f"eos{rep}")
        if eos_run:
            reps[-1]["eos_wall"] = {"rate": wall_rate_first(eos_run, m)}
            if "naive" in row:  # ours over the same first pages as the naive loop
                reps[-1]["eos_first_naive"] = {"rate": rate_first(eos_run, nn)}
    results["repeats"] = reps
    if not args.skip_replay:
        t, env = svc("replaybase", STREAM_WORKERS=2)
        runs["replay"] = await run_proc(
            "replay", [PY, "-m", "stream", "replay", "--replay-group", f"e2e-{rid}-replay"], env, bootstrap, t, P,
            inputs, expect=n, exits_itself=True)
        for raw in (OUT / "e2e-replay.log").read_text(errors="replace").splitlines():
            if '"replay.done"' in raw:
                done = json.loads(raw)
                runs["replay"]["own_report"] = {"seconds": done.get("seconds"), "records": done.get("records"),
                                                "rate": round(done["records"] / done["seconds"], 1)}
    if not args.skip_offline:
        runs["offline"] = await run_offline(path, 2)
    if not args.skip_latency:
        max_rate = args.max_rate
        if not max_rate:
            # The backlog rate overstates what the service gets while a producer and the broker's
            # writes share the same 2 cores: the live maximum is what it sustains while a producer
            # keeps it busy, not counting the drain after the producer stops.
            runs["live_max"] = await live_run("live_max", bootstrap, rid, P, path, meta, None,
                                              args.saturation_seconds, args.latency_warmup)
            max_rate = runs["live_max"]["sustained"]
        if max_rate:
            runs["latency"] = await live_run("latency", bootstrap, rid, P, path, meta, args.load * max_rate,
                                             args.latency_seconds, args.latency_warmup)
            for load in args.more_loads:
                runs[f"latency{load * 100:.0f}"] = await live_run(
                    f"latency{load * 100:.0f}", bootstrap, rid, P, path, meta, load * max_rate,
                    args.latency_seconds, args.latency_warmup) | {"load": load}
    if not args.skip_profile:
        results["profile"] = run_profile(path, args.profile_pages)
    return results


async def run_all(args: argparse.Namespace) -> dict:
    rid = datetime.now().strftime("%m%d%H%M%S")  # every topic of this run starts with e2e-{rid}-
    try:
        return await amain(args, rid)
    finally:
        if not args.keep_topics:
            dropped = await drop_topics(f"127.0.0.1:{args.port}", f"e2e-{rid}-")
            log(f"deleted {len(dropped)} topics of this run (--keep-topics keeps them)")


async def live_run(name: str, bootstrap: str, rid: str, partitions: int, path: Path, meta: dict,
                   rate: float | None, seconds: float, warmup: float) -> dict:
    """The service on a fresh topic that a producer feeds for ``seconds``: at ``rate`` pages/s,
    or (``rate`` None) as fast as the service takes them, with :data:`SATURATION_AHEAD` pages
    waiting. Latency percentiles exclude inputs produced in the first ``warmup`` seconds;
    ``sustained`` is the output rate while the producer ran, after the warm-up."""
    topic = f"e2e-{rid}-{name}-in"
    await create(bootstrap, [topic], partitions)
    inputs = Inputs(meta["ids"], meta["sizes"])
    t = topics(rid, name)
    env = service_env(bootstrap, f"e2e-{rid}-{name}", t, topic, partitions, STREAM_WORKERS=2,
                      STREAM_GUARANTEE="exactly_once")

    async def driver(collector: Collector):
        if rate is None:
            log(f"{name}: producing as fast as the service takes pages, {SATURATION_AHEAD} ahead, for {seconds} s")
            return await produce(bootstrap, topic, path, inputs, partitions, seconds=seconds,
                                 done=lambda: len(collector.out), ahead=SATURATION_AHEAD)
        log(f"{name}: producing at {rate:.1f} pages/s for {seconds} s")
        return await produce(bootstrap, topic, path, inputs, partitions, rate=rate, seconds=seconds)

    lt = await run_proc(name, RUN_CMD, env, bootstrap, t, partitions, inputs, expect=None, driver=driver)
    warm_from = min(inputs.ts.values()) + warmup * 1000 if inputs.ts else 0
    warm = [lat for lat, t_in in lt["_lat"] if t_in >= warm_from]
    lt["latency_warm_ms"] = {f"p{p}": pct(warm, p) for p in (50, 90, 99)} | {"max": max(warm) if warm else None}
    lt["offered_rate"] = round(rate, 1) if rate else None
    p = lt["producer"]
    start, end = (p["started"] + warmup) * 1000, p["ended"] * 1000
    lt["sustained"] = round(sum(start <= t < end for t in lt["_ts"]) / (end - start) * 1000, 1) if end > start else None
    warm_sorted = sorted((t_in, lat) for lat, t_in in lt["_lat"] if t_in >= warm_from)
    half = len(warm_sorted) // 2
    lt["p50_halves"] = [pct([x for _, x in warm_sorted[:half]], 50), pct([x for _, x in warm_sorted[half:]], 50)]
    return lt


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=20000)
    ap.add_argument("--port", type=int, default=29092, help="broker port on 127.0.0.1")
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--copies", type=float, default=6.0, help="mean copies per story (bench/syndication.py)")
    ap.add_argument("--compare-pages", type=int, default=6000,
                    help="outputs per comparison run (at_least_once, 1 worker)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds of the comparison runs (exactly_once/at_least_once/1 worker), interleaved")
    ap.add_argument("--naive-pages", type=int, default=2000, help="pages the naive loop processes (the first N)")
    ap.add_argument("--load", type=float, default=0.8, help="offered load of the latency run, x max rate")
    ap.add_argument("--more-loads", type=lambda v: [float(x) for x in v.split(",")], default=[], metavar="0.6,0.7",
                    help="further latency runs at these loads (x max rate), reported in the table")
    ap.add_argument("--max-rate", type=float, help="max rate for the latency run (default: the main run's)")
    ap.add_argument("--latency-seconds", type=float, default=60.0)
    ap.add_argument("--saturation-seconds", type=float, default=40.0,
                    help="length of the live-maximum run that sets the latency run's rate")
    ap.add_argument("--latency-warmup", type=float, default=10.0, help="seconds excluded from latency percentiles")
    ap.add_argument("--profile-pages", type=int, default=300)
    ap.add_argument("--service-env", action="append", default=[], metavar="STREAM_X=VALUE",
                    help="an extra setting for every service run (repeatable)")
    ap.add_argument("--keep-topics", action="store_true", help="keep the run's topics on the broker")
    ap.add_argument("--before", type=Path, metavar="DIR",
                    help="a checkout of earlier code with its own .venv: each round also runs its `stream run` "
                         "on the same pages, right after ours, and the table gives ours ÷ before")
    ap.add_argument("--generate-only", action="store_true", help="write the cached pages file and exit")
    ap.add_argument("--quick", action="store_true",
                    help="2,000 pages, 1,000 per comparison, 20 s latency run; no naive, offline or profile")
    for part in ("main", "guarantee", "scaling", "replay", "naive", "offline", "latency", "profile"):
        ap.add_argument(f"--skip-{part}", action="store_true")
    ap.add_argument("--docs", type=Path, help="where the plots and benchmarks.md go "
                                              "(default: docs/ for full runs, bench/out/ for --quick)")
    args = ap.parse_args(argv)
    if args.quick:
        args.pages = min(args.pages, 2000) if "--pages" in argv else 2000
        args.compare_pages = min(args.compare_pages, 1000)
        args.latency_seconds = min(args.latency_seconds, 20.0)
        args.skip_naive = args.skip_offline = args.skip_profile = True
    EXTRA_ENV.update(kv.split("=", 1) for kv in args.service_env)
    docs = args.docs or (OUT if args.quick else DOCS)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.generate_only:
        print(json.dumps(page_stats(pages_file(args.pages, args.seed, args.copies)[1])))
        return
    docs.mkdir(parents=True, exist_ok=True)
    results = asyncio.run(run_all(args))
    rows = table(results)
    print()
    results["table"] = print_table(rows)
    made = plots(results, docs)
    clean = json.loads(json.dumps(results, default=str))
    for run in clean["runs"].values():
        run.pop("_ts", None)
        run.pop("_lat", None)
    (OUT / "e2e-results.json").write_text(json.dumps(clean, indent=1))
    (docs / "benchmarks.md").write_text(markdown(results, rows, made, argv))
    log(f"wrote {OUT / 'e2e-results.json'}, {docs / 'benchmarks.md'} and {', '.join(p.name for p in made)}")


if __name__ == "__main__":
    main()
