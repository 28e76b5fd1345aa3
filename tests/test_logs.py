import io
import logging

import orjson
import structlog

from stream import logs


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rate_limit_drops_a_flood_then_summarises():
    clock = Clock()
    limit = logs.RateLimit(burst=3, window=10, clock=clock)
    kept = []
    for _ in range(10):
        try:
            kept.append(limit(None, "warning", {"event": "dlq.sent"}))
        except structlog.DropEvent:
            pass
    assert len(kept) == 3
    assert limit(None, "info", {"event": "dlq.sent"}) == {"event": "dlq.sent"}  # info is never limited
    clock.now = 11
    assert limit(None, "warning", {"event": "dlq.sent"}) == {"event": "dlq.sent", "suppressed": 7}


def test_json_lines_carry_timestamp_level_event_instance_and_context():
    out = io.StringIO()
    logs.configure("info", "json", "node-1", stream=out)
    with structlog.contextvars.bound_contextvars(topic="raw", partition=2, offset=41):
        structlog.get_logger().info("dedup.duplicate", id="abc")
    logging.getLogger("aiokafka").warning("coordinator dead")
    ours, lib = (orjson.loads(line) for line in out.getvalue().splitlines())
    assert ours["timestamp"].endswith("Z") and "T" in ours["timestamp"]
    assert (ours["level"], ours["event"], ours["instance"], ours["topic"], ours["partition"], ours["offset"]) == (
        "info", "dedup.duplicate", "node-1", "raw", 2, 41)
    assert (lib["event"], lib["message"], lib["level"]) == ("lib.aiokafka", "coordinator dead", "warning")


def test_library_floods_are_limited_too():
    out = io.StringIO()
    logs.configure("info", "json", "n", stream=out)
    for _ in range(100):
        logging.getLogger("aiokafka").error("Heartbeat failed")
    assert len(out.getvalue().splitlines()) == 20
