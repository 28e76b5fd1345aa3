"""Whether this instance may share its consumer group, given the index it decides with.

An instance with the embedded index (``STREAM_INDEX=memory``) knows only the documents of
the partitions it was given: two such instances in one group, or one beside instances of a
shared index, each decide their part of a story's copies alone, and the story is published
more than once. Nothing else would notice, so the service checks.

Each instance's consumer carries its index kind and its start time in its Kafka client id
(:func:`client_id`). After every assignment the service reads the group's members
(``DescribeGroups``, :func:`members`); of two instances that must not share a group, the
one that started later leaves it with an error naming ``STREAM_INDEX`` (:func:`conflict`),
before it decides anything, and the other keeps running. A member with this instance's own
id is its own earlier run (killed, not yet expired from the group) and is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from stream.config import Settings
from stream.kafka.client import connection

log = structlog.get_logger("stream")

SEP = "~"
EMBEDDED, SHARED = "embedded", "shared"


@dataclass(frozen=True, slots=True)
class Member:
    instance: str
    index: str  # EMBEDDED or SHARED
    started: int  # milliseconds since the epoch

    def before(self, other: Member) -> bool:
        return (self.started, self.instance) < (other.started, other.instance)


def me(instance_id: str, shared: bool, started: float) -> Member:
    """This instance, started at ``started`` (epoch seconds), with a shared index or not."""
    return Member(instance_id, SHARED if shared else EMBEDDED, int(started * 1000))


def client_id(member: Member) -> str:
    """The consumer's client id: ``stream-<instance>~<index kind>~<start ms>``."""
    return SEP.join((f"stream-{member.instance}", member.index, str(member.started)))


def parse(client: str) -> Member | None:
    """The member behind a client id of :func:`client_id`; None for any other consumer."""
    name, sep, rest = client.rpartition(SEP)
    head, sep2, kind = name.rpartition(SEP)
    if not (sep and sep2 and head.startswith("stream-") and kind in (EMBEDDED, SHARED) and rest.isdigit()):
        return None
    return Member(head[len("stream-"):], kind, int(rest))


def conflict(me: Member, others: list[Member]) -> Member | None:
    """The earliest member that started before ``me`` and that ``me`` must not share the
    group with: any other instance, unless both use the shared index."""
    earlier = [m for m in others if m.instance != me.instance and m.before(me)
               and EMBEDDED in (m.index, me.index)]
    return min(earlier, key=lambda m: (m.started, m.instance), default=None)


async def members(settings: Settings) -> list[Member]:
    """The stream instances in the consumer group now."""
    admin = AIOKafkaAdminClient(**connection(settings))
    await admin.start()
    try:
        responses = await admin.describe_consumer_groups([settings.group_id])
    finally:
        await admin.close()
    found = []
    for response in responses:
        for group in response.to_object()["groups"]:
            for m in group["members"]:
                member = parse(m["client_id"])
                if member is not None:
                    found.append(member)
    return found


def refusal(me: Member, other: Member, group: str) -> str:
    """The one-line error of the instance that leaves."""
    mine = "the embedded index (STREAM_INDEX=memory)" if me.index == EMBEDDED else "a shared index"
    theirs = "the embedded index" if other.index == EMBEDDED else "a shared index"
    return (f"STREAM_INDEX: this instance uses {mine}, and instance {other.instance!r} of consumer group {group!r} "
            f"(started earlier) uses {theirs}; an embedded index cannot share a group: run one instance per group, "
            f"or give every instance the same shared index (STREAM_INDEX=redis://... or redis+cluster://...)")


async def check(settings: Settings, member: Member) -> str | None:
    """Why ``member`` must leave its group, or None. A group that cannot be read is logged
    and let be (the check is a guard, not a dependency)."""
    try:
        other = conflict(member, await members(settings))
    except KafkaError as exc:
        log.warning("group.unchecked", error=f"{type(exc).__name__}: {exc}")
        return None
    if other is None:
        return None
    reason = refusal(member, other, settings.group_id)
    log.error("group.refused", other=other.instance, index=member.index, reason=reason)
    return reason
