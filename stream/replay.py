"""``stream replay``: re-process a range of a topic under its own consumer group."""

from __future__ import annotations

import argparse

from stream import config


def add_parser(sub) -> None:
    p = sub.add_parser("replay", help="re-process a range of the input topic under its own group")
    config.add_arguments(p)


def main(args: argparse.Namespace, settings: config.Settings) -> int:
    raise SystemExit("stream replay: not available yet")
