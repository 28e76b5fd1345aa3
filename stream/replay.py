"""``stream replay``: re-process a range of the input topic under its own consumer group.

The live group's offsets are never touched. The range is fixed when the replay
starts: ``--from`` (``earliest``, ``P:OFFSET,...`` or an RFC 3339 time) up to
``--to`` (``latest`` = the end offsets at start, or a time). The replay commits
its progress under ``--replay-group``, so an interrupted replay resumes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass, replace

import structlog

from stream import config
from stream.decode import parse_time
from stream.errors import ConfigError

log = structlog.get_logger("stream")


@dataclass(frozen=True, slots=True)
class Plan:
    topic: str
    group: str
    ranges: dict[int, tuple[int, int]]  # partition -> [start, end)
    resumed: tuple[int, ...] = ()

    @property
    def total(self) -> int:
        return sum(max(0, end - start) for start, end in self.ranges.values())

    def describe(self) -> str:
        lines = [f"replay of {self.topic} as group {self.group}: {self.total} records"]
        for p, (start, end) in sorted(self.ranges.items()):
            note = "  (resumed)" if p in self.resumed else ""
            lines.append(f"  partition {p}: offsets {start} to {end} ({max(0, end - start)} records){note}")
        return "\n".join(lines)


def add_parser(sub) -> None:
    p = sub.add_parser("replay", help="re-process a range of the input topic under its own group",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--from", dest="start", default="earliest",
                   help="earliest, per-partition offsets P:OFFSET[,P:OFFSET...], or an RFC 3339 time")
    p.add_argument("--to", dest="end", default="latest", help="latest (end offsets at start) or an RFC 3339 time")
    p.add_argument("--mode", choices=("rebuild", "fill-gaps"), default="rebuild",
                   help="rebuild: a fresh, empty dedup index; fill-gaps: the live service's index")
    p.add_argument("--replay-group", default=None, help="the replay's consumer group [default: <group>-replay]")
    p.add_argument("--dry-run", action="store_true", help="print the plan and exit")
    config.add_arguments(p)


def _time_ms(value: str, flag: str) -> int:
    t = parse_time(value)
    if t is None:
        raise ConfigError(f"{flag}: expected earliest/latest, P:OFFSET pairs or an RFC 3339 time, not {value!r}")
    return int(t * 1000)


def _offsets(value: str) -> dict[int, int] | None:
    if ":" not in value or "T" in value or "-" in value:
        return None
    try:
        pairs = [item.split(":") for item in value.split(",")]
        return {int(p): int(o) for p, o in pairs}
    except ValueError as exc:
        raise ConfigError(f"--from: bad partition offsets {value!r} (expected P:OFFSET,P:OFFSET)") from exc


async def make_plan(settings: config.Settings, start: str, end: str, group: str) -> Plan:
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition

    from stream.kafka.client import connection

    consumer = AIOKafkaConsumer(**connection(settings), group_id=group,
                                enable_auto_commit=False, isolation_level="read_committed")
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(settings.input_topic)
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(settings.input_topic)
        if not partitions:
            raise ConfigError(f"unknown topic {settings.input_topic!r}")
        tps = [TopicPartition(settings.input_topic, p) for p in sorted(partitions)]
        first = await consumer.beginning_offsets(tps)
        last = await consumer.end_offsets(tps)

        async def at_time(ms: int) -> dict[TopicPartition, int]:
            found = await consumer.offsets_for_times({tp: ms for tp in tps})
            return {tp: (found[tp].offset if found[tp] is not None else last[tp]) for tp in tps}

        explicit = _offsets(start)
        if start == "earliest":
            starts = first
        elif explicit is not None:
            unknown = set(explicit) - set(partitions)
            if unknown:
                raise ConfigError(f"--from: {settings.input_topic} has no partition {sorted(unknown)}")
            tps = [tp for tp in tps if tp.partition in explicit]
            starts = {tp: max(first[tp], explicit[tp.partition]) for tp in tps}
        else:
            starts = await at_time(_time_ms(start, "--from"))
        ends = last if end == "latest" else await at_time(_time_ms(end, "--to"))
        if start != "earliest" and explicit is None and end != "latest" and _time_ms(end, "--to") < _time_ms(
                start, "--from"):
            raise ConfigError("--to is before --from")
        ranges, resumed = {}, []
        for tp in tps:
            s, e = starts[tp], ends[tp]
            done = await consumer.committed(tp)
            if done is not None and s < done <= e:
                s = done
                resumed.append(tp.partition)
            ranges[tp.partition] = (s, e)
        return Plan(settings.input_topic, group, ranges, tuple(resumed))
    finally:
        await consumer.stop()


class Progress:
    """A progress bar on a TTY (stderr) and periodic ``replay.progress`` events."""

    def __init__(self, total: int, every: float, tty: bool) -> None:
        self.total, self.every, self.tty = total, every, tty
        self.done = 0
        self.started = self._last = time.monotonic()

    def __call__(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        rate = self.done / max(now - self.started, 1e-9)
        eta = (self.total - self.done) / rate if rate else 0.0
        if self.tty:
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                             f"{rate:,.0f} rec/s ETA {eta:,.0f}s ")
            sys.stderr.flush()
        if now - self._last >= self.every or self.done >= self.total:
            self._last = now
            log.info("replay.progress", done=self.done, total=self.total, rate=round(rate, 1), eta_s=round(eta, 1))


def main(args: argparse.Namespace, settings: config.Settings) -> int:
    from aiokafka.errors import KafkaError

    group = args.replay_group or f"{settings.group_id}-replay"
    if group == settings.group_id:
        print("stream replay: --replay-group must differ from the live group", file=sys.stderr)
        return 2
    try:
        plan = asyncio.run(make_plan(settings, args.start, args.end, group))
    except ConfigError as exc:
        print(f"stream replay: {exc}", file=sys.stderr)
        return 2
    except KafkaError as exc:
        print(f"stream replay: Kafka at {settings.bootstrap_servers}: {exc}", file=sys.stderr)
        return 1
    print(plan.describe())
    if args.dry_run:
        return 0
    if plan.total == 0:
        print("stream replay: the range is empty: nothing to replay", file=sys.stderr)
        return 1
    try:
        return asyncio.run(run(settings, plan, args.mode))
    except ConfigError as exc:  # the metrics port is taken
        print(f"stream replay: {exc}", file=sys.stderr)
        return 2


async def run(settings: config.Settings, plan: Plan, mode: str) -> int:
    from aiokafka.structs import TopicPartition

    from stream.dedup.store import open_index
    from stream.kafka import changelog
    from stream.service import Service

    replay_settings = replace(settings, group_id=plan.group, instance_id=f"{settings.instance_id}-replay")
    own = changelog.topic_for(plan.group)
    if mode == "fill-gaps":  # the live index, then what this replay added so far
        index = open_index(settings)
        restore = (changelog.topic_for(settings.group_id), own) if index.durable is False else ()
    else:  # a fresh index of the replay's own, kept across an interrupted run for its resume
        index = open_index(replay_settings, namespace=plan.group)
        restore = (own,) if index.durable is False else ()
        if not plan.resumed:
            if index.durable is False:
                await changelog.reset(replay_settings, own)
            else:
                index.clear()
    progress = Progress(plan.total, every=min(settings.stats_interval, 5.0), tty=sys.stderr.isatty())
    bounds = {TopicPartition(plan.topic, p): r for p, r in plan.ranges.items()}
    service = Service(replay_settings, index=index, bounds=bounds, on_batch=progress, restore_from=restore)
    started = time.monotonic()
    await service.run()
    if progress.tty:
        sys.stderr.write("\n")
    elapsed = time.monotonic() - started
    totals = service.stats.total
    log.info("replay.done", mode=mode, seconds=round(elapsed, 2), **totals)
    print(f"replayed {totals['records']} records in {elapsed:.1f}s ({totals['records'] / max(elapsed, 1e-9):,.0f}/s): "
          f"{totals['article']} canonical, {totals['duplicate']} duplicates, {totals['dead_letter']} dead letters")
    if service.stopping.is_set():
        print("stream replay: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    return 0
