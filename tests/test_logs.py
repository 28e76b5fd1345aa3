import io
import logging

import orjson
import pytest
import structlog

from stream import logs


@pytest.fixture(autouse=True)
def restore_logging():
    """Each test configures logging its own way; later tests get back what was there."""
    config, root = structlog.get_config(), logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.configure(**config)
    root.handlers[:], root.level = handlers, level


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


def _lines(out: io.StringIO) -> list[dict]:
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def test_a_passing_state_of_the_library_is_info_and_a_lasting_one_its_own_level():
    from aiokafka.errors import GroupCoordinatorNotAvailableError

    clock = Clock()
    out = io.StringIO()
    logs.configure("info", "json", "n", stream=out)
    handler = logging.getLogger().handlers[0]
    handler.filters[0] = logs.Transient(logging.INFO, grace=30, clock=clock)
    coordinator = logging.getLogger("aiokafka.consumer.group_coordinator")
    cluster = logging.getLogger("aiokafka.cluster")
    cluster.error("Topic %s not found in cluster metadata", "t1")
    coordinator.error("Group Coordinator Request failed: %s", GroupCoordinatorNotAvailableError())
    cluster.error("Topic %s is not authorized for this client", "t1")  # a real error
    for clock.now in (10, 20, 31):  # the same state lasting past the grace period
        cluster.error("Topic %s not found in cluster metadata", "t1")
    clock.now = 100  # quiet for longer than the grace period: a new passing state
    cluster.error("Topic %s not found in cluster metadata", "t1")
    levels = [(e["level"], e.get("persisting_s")) for e in _lines(out)]
    assert levels == [("info", None), ("info", None), ("error", None), ("info", None), ("info", None),
                      ("error", 31), ("info", None)]


def test_passing_states_are_hidden_below_the_level_and_limited_above_it():
    out = io.StringIO()
    logs.configure("warning", "json", "n", stream=out)
    logging.getLogger("aiokafka.cluster").error("Topic %s not found in cluster metadata", "t")
    assert out.getvalue() == ""
    logs.configure("info", "json", "n", stream=out)
    for _ in range(100):
        logging.getLogger("aiokafka.cluster").error("Topic %s not found in cluster metadata", "t")
    assert len(out.getvalue().splitlines()) == 20


def test_an_error_the_library_gives_up_on_stays_an_error():
    from aiokafka.errors import GroupAuthorizationFailedError

    out = io.StringIO()
    logs.configure("warning", "json", "n", stream=out)
    logging.getLogger("aiokafka.consumer.group_coordinator").error(
        "Group Coordinator Request failed: %s", GroupAuthorizationFailedError())
    assert [e["level"] for e in _lines(out)] == ["error"]


def test_the_passing_states_are_aiokafkas_own_messages():
    """Matched on aiokafka's format strings: each must still be in its source."""
    from pathlib import Path

    import aiokafka

    source = "".join(p.read_text() for p in Path(aiokafka.__file__).parent.rglob("*.py"))
    source = source.replace('"\n', "").replace("  ", "")  # join implicitly concatenated literals
    assert [m for m in logs.TRANSIENT if m.replace("  ", "") not in source.replace('"', "")] == []
