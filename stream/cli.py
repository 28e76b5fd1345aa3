"""Entry point: ``stream run | clean | dedup | replay | demo | load-samples``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from contextlib import ExitStack

import structlog

from stream import config, logs
from stream.errors import ConfigError, ConnectError

OFFLINE = ("workers", "max_record_bytes", "threshold", "index", "index_password_file", "learn_boilerplate", "log_level",
           "log_format")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stream", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the service on Kafka",
                         description="Consume raw pages, publish canonical articles, duplicate decisions and "
                                     "dead letters. Every option also reads its STREAM_* variable.")
    config.add_arguments(run)
    for name, text in (("clean", "clean JSONL raw pages: one {url, title, text, ...} line per input line"),
                       ("dedup", "dedup JSONL raw pages: one {url, id, cluster_id, canonical, duplicate_of, "
                                 "similarity} line per input line")):
        p = sub.add_parser(name, help=text, description=text + ". No broker needed.")
        p.add_argument("--input", "-i", default="-", help="JSONL file of raw pages (default stdin)")
        p.add_argument("--output", "-o", default="-", help="JSONL output file (default stdout)")
        config.add_arguments(p, OFFLINE)
    load = sub.add_parser("load-samples", help="produce the embedded sample pages to the input topic")
    config.add_arguments(load)
    demo = sub.add_parser("demo", help="start the local broker, load the sample pages, run the service, "
                                       "print what was published")
    config.add_arguments(demo)
    from stream import replay

    replay.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = config.load(args)
        if args.command in ("run", "replay"):  # several may run on one host
            from stream import instance

            settings = instance.defaults(settings, config.given(args))
    except ConfigError as exc:
        print(f"stream: {exc}", file=sys.stderr)
        return 2
    offline = args.command in ("clean", "dedup")
    logs.configure(settings.log_level, settings.log_format, settings.instance_id,
                   stream=sys.stderr if offline else sys.stdout)
    if offline:
        return _offline(args, settings)
    try:
        from stream.kafka.security import check

        if args.command != "run":  # the service checks after its metrics port (a port in use needs no broker)
            asyncio.run(check(settings))  # a refused connection: one line naming the setting, not a retry loop
        return _online(args, settings)
    except (ConfigError, ConnectError) as exc:
        print(f"stream: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1


def _online(args: argparse.Namespace, settings: config.Settings) -> int:
    if args.command == "run":
        from aiokafka.errors import KafkaError

        from stream.service import Service

        service = Service(settings)
        try:
            asyncio.run(service.run())
        except KafkaError as exc:
            print(f"stream: Kafka at {settings.bootstrap_servers}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        except ConfigError as exc:
            print(f"stream: {exc}", file=sys.stderr)
            return 2
        if service.failed:
            print(f"stream: {service.failed}", file=sys.stderr)
            return 1
        return 0
    if args.command == "load-samples":
        from stream.demo import load_samples

        return asyncio.run(load_samples(settings))
    if args.command == "demo":
        from stream.demo import demo

        return asyncio.run(demo(settings))
    from stream import replay

    return replay.main(args, settings)


def _offline(args: argparse.Namespace, settings: config.Settings) -> int:
    from stream.offline import run_clean, run_dedup

    with ExitStack() as stack:
        inp = sys.stdin.buffer if args.input == "-" else stack.enter_context(open(args.input, "rb"))
        out = sys.stdout.buffer if args.output == "-" else stack.enter_context(open(args.output, "wb"))
        run = run_clean if args.command == "clean" else run_dedup
        counts = run(inp, out, settings)
        out.flush()
    structlog.get_logger("stream").info(f"{args.command}.done", **counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
