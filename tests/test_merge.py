"""The order across partitions (:mod:`stream.merge`): a backlog is decided in the same order
whatever the fetches return and when; caught-up partitions hold the merge back for a bounded
time only."""

from __future__ import annotations

import random

import pytest

from stream.merge import Merge, ordered


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def key(item: tuple) -> tuple:
    return item[1], item[0]  # (timestamp, partition)


def backlog(rng: random.Random, partitions: int, records: int) -> dict[int, list[tuple]]:
    """Per partition, records (partition, timestamp, offset) in offset order; timestamps mostly
    rising, with ties and a few that go back, as producers make them."""
    out = {}
    for p in range(partitions):
        t, items = 0, []
        for offset in range(rng.randrange(0, records)):
            t = max(0, t + rng.choice([0, 0, 1, 2, 3, 5, -2]))
            items.append((p, t, offset))
        out[p] = items
    return out


def live_order(rng: random.Random, log: dict[int, list[tuple]], idle: float) -> list[tuple]:
    """Feed the backlog to a merge in random fetch chunks, interleaved with random takes, as a
    consumer that starts behind sees it; return the order the merge decided."""
    clock = Clock()
    merge: Merge[tuple] = Merge(key, idle=idle, clock=clock)
    merge.assign(log)
    fetched = dict.fromkeys(log, 0)
    out: list[tuple] = []
    while any(fetched[p] < len(items) for p, items in log.items()) or merge.buffered():
        clock.now += rng.random() * 0.05
        if rng.random() < 0.5:
            p = rng.choice([p for p in log if fetched[p] < len(log[p])] or [0])
            n = rng.randrange(1, 6)
            merge.add(p, log[p][fetched[p]:fetched[p] + n])
            fetched[p] = min(len(log[p]), fetched[p] + n)
        lag = {p: len(log[p]) - fetched[p] for p in merge.dry()}
        out += merge.take(lag, limit=rng.randrange(1, 20), ready=lambda _: rng.random() < 0.9)
        if not merge.buffered() and all(fetched[p] == len(log[p]) for p in log):
            break
        clock.now += idle if rng.random() < 0.1 else 0.0  # now and then a wait runs out
    return out


@pytest.mark.parametrize("seed", range(40))
def test_a_backlog_is_decided_in_one_order_whatever_the_fetches(seed):
    rng = random.Random(seed)
    log = backlog(rng, rng.randrange(1, 7), 40)
    want = ordered([r for items in log.values() for r in items], key, lambda r: r[0])
    assert sorted(want) == sorted(r for items in log.values() for r in items)
    for p, items in log.items():  # each partition keeps its offset order
        assert [r for r in want if r[0] == p] == items
    for _ in range(5):
        assert live_order(rng, log, idle=0.1) == want


def test_smallest_timestamp_first_and_ties_by_partition():
    assert ordered([(1, 5, 0), (0, 5, 0), (1, 2, 1), (0, 9, 1)], key, lambda r: r[0]) == [
        (0, 5, 0), (1, 5, 0), (1, 2, 1), (0, 9, 1)]  # (1, 2, 1) waits behind its partition's head


def test_a_partition_with_records_to_fetch_holds_the_merge_without_limit():
    clock = Clock()
    merge: Merge[tuple] = Merge(key, idle=0.1, clock=clock)
    merge.assign([0, 1])
    merge.add(0, [(0, 5, 0)])
    for lag in ({1: 3}, {1: None}):  # records to fetch, or not known yet
        clock.now += 100.0
        assert merge.take(lag, 10) == [] and merge.deadline(lag) is None
    assert merge.take({1: 3}, 10, force=True) == [(0, 5, 0)]  # a rebalance or a shutdown


def test_a_caught_up_partition_holds_for_idle_once_per_quiet_spell():
    clock = Clock()
    merge: Merge[tuple] = Merge(key, idle=0.1, clock=clock)
    merge.assign([0, 1])
    merge.add(0, [(0, 5, 0), (0, 6, 1)])
    assert merge.take({1: 0}, 1) == [] and merge.deadline({1: 0}) == pytest.approx(0.1)
    clock.now = 0.05
    assert merge.take({1: 0}, 1) == [] and merge.deadline({1: 0}) == pytest.approx(0.05)
    clock.now = 0.1
    assert merge.take({1: 0}, 1) == [(0, 5, 0)]
    merge.add(0, [(0, 7, 2)])
    assert merge.take({1: 0}, 5) == [(0, 6, 1), (0, 7, 2)]  # still quiet: no second wait
    merge.add(1, [(1, 8, 0)])
    assert merge.take({0: 0}, 5) == []  # partition 0 ran dry and holds for its own wait
    clock.now = 0.25
    assert merge.take({0: 0}, 5) == [(1, 8, 0)]
    merge.add(1, [(1, 9, 1)])
    merge.add(0, [(0, 10, 3)])  # partition 0 got records: its next quiet spell waits again
    assert merge.take({}, 5) == [(1, 9, 1)]
    assert merge.take({1: 0}, 5) == []


def test_finished_partitions_never_hold_and_assign_drops_what_was_buffered():
    merge: Merge[tuple] = Merge(key, idle=10.0, clock=Clock())
    merge.assign([0, 1])
    merge.add(0, [(0, 5, 0)])
    merge.finish(1)
    assert merge.take({}, 10) == [(0, 5, 0)]
    merge.add(0, [(0, 6, 1), (0, 7, 2)])
    assert merge.assign([0]) == [(0, 6, 1), (0, 7, 2)] and merge.buffered() == 0
