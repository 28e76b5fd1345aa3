"""The order in which one instance decides the records of several partitions.

Kafka keeps order within a partition only; the order across partitions is whatever the
fetches happened to return, and the dedup decision depends on it (which copy of a story
comes first). :class:`Merge` takes the fetch timing out of it, as Kafka Streams does for
the partitions of one task:

* Records are buffered per partition, in offset order.
* The next record decided is the buffered head with the smallest ``(timestamp,
  partition)``.
* A partition with nothing buffered holds the merge back while it may still have an
  earlier record: without limit while its lag is positive or unknown (records exist that
  are not fetched yet); once it is caught up, for at most ``idle`` seconds from the moment
  it first held the merge back, until it gets records again (Kafka Streams'
  ``max.task.idle.ms``). A partition that stays quiet therefore costs one wait, not one
  per record.
* A finished partition (a bounded run that reached its end) never holds it back.
* ``take(force=True)`` ignores the waiting (a rebalance, a shutdown).

So a backlog, in a replay or in a live run that starts behind, is decided in an order that
is a function of the partitions' contents alone; a live run that keeps up decides in
timestamp order as long as no partition's records arrive more than ``idle`` seconds after
a later record of another partition. Pure: no Kafka, no I/O.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Partition = Hashable


class Merge(Generic[T]):
    """Per-partition buffers of items, taken in merge order.

    ``key(item)`` gives an item's ``(timestamp, partition number)``; ``partitions`` are the
    partitions that take part (see :meth:`assign`)."""

    def __init__(self, key: Callable[[T], tuple], idle: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.key, self.idle, self.clock = key, idle, clock
        self._queues: dict[Partition, deque[T]] = {}
        self._since: dict[Partition, float] = {}  # when a caught-up partition first held the merge back
        self._finished: set[Partition] = set()

    def assign(self, partitions: Iterable[Partition]) -> list[T]:
        """Take part with ``partitions`` from now on; returns what was buffered (dropped)."""
        dropped = self.clear()
        self._queues = {p: deque() for p in partitions}
        self._since = {}
        self._finished = set()
        return dropped

    def add(self, partition: Partition, items: Iterable[T]) -> None:
        """Buffer fetched items of one partition, in offset order."""
        queue = self._queues.setdefault(partition, deque())
        queue.extend(items)
        if queue:
            self._since.pop(partition, None)

    def finish(self, partition: Partition, finished: bool = True) -> None:
        """``partition`` will get no more items (a bounded run reached its end), or (False)
        it will again (a rewind took it back before its end)."""
        if finished:
            self._finished.add(partition)
        else:
            self._finished.discard(partition)

    def buffered(self, partition: Partition | None = None) -> int:
        if partition is None:
            return sum(map(len, self._queues.values()))
        queue = self._queues.get(partition)
        return len(queue) if queue else 0

    def dry(self) -> list[Partition]:
        """Partitions with nothing buffered that are not finished: their lag decides."""
        return [p for p, q in self._queues.items() if not q and p not in self._finished]

    def take(self, lag: Mapping[Partition, int | None], limit: int, ready: Callable[[T], bool] = lambda _: True,
             force: bool = False) -> list[T]:
        """Up to ``limit`` items in merge order, stopping where a partition holds the merge
        back (unless ``force``) or where the next item is not ``ready``."""
        out: list[T] = []
        if not force and any([self._holds(p, lag.get(p), self.clock()) for p, q in self._queues.items() if not q]):
            return out
        heads = {p: self.key(q[0]) for p, q in self._queues.items() if q}
        while heads and len(out) < limit:
            p = min(heads, key=heads.__getitem__)
            queue = self._queues[p]
            if not ready(queue[0]):
                break
            out.append(queue.popleft())
            if queue:
                heads[p] = self.key(queue[0])
                continue
            del heads[p]
            if not force and p not in self._finished:
                break  # ran dry just now: its lag is not known until it is looked up
        return out

    def deadline(self, lag: Mapping[Partition, int | None]) -> float | None:
        """Seconds until the idle waits that hold the merge back now end (None: nothing is
        buffered, or a partition with records still to fetch holds it back)."""
        if not any(self._queues.values()):
            return None
        now = self.clock()
        ends = [now]
        for p, q in self._queues.items():
            if q or p in self._finished:
                continue
            behind = lag.get(p)
            if behind is None or behind > 0:
                return None
            ends.append(self._since.get(p, now) + self.idle)
        return max(ends) - now

    def clear(self) -> list[T]:
        """Drop every buffered item; return them."""
        out = [item for q in self._queues.values() for item in q]
        for q in self._queues.values():
            q.clear()
        return out

    def _holds(self, p: Partition, behind: int | None, now: float) -> bool:
        if p in self._finished:
            return False
        if behind is None or behind > 0:
            return True
        return now - self._since.setdefault(p, now) < self.idle


def ordered(items: Iterable[Any], key: Callable[[Any], tuple], partition: Callable[[Any], Partition]) -> list[Any]:
    """What a :class:`Merge` decides when every partition's records are all buffered at
    once and nothing else comes: the reference order (tests, offline tools)."""
    merge: Merge[Any] = Merge(key, idle=0.0)
    groups: dict[Partition, list] = {}
    for item in items:
        groups.setdefault(partition(item), []).append(item)
    merge.assign(groups)
    for p, group in groups.items():
        merge.add(p, group)
        merge.finish(p)
    return merge.take({}, limit=sum(map(len, groups.values())))
