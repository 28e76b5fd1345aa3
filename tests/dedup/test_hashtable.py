"""The index's linear-probing multimap against a plain dict, with runs longer than a probe window."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from stream.dedup.hashtable import Table, TableFull


def found(table: Table, key: int, stored: np.ndarray) -> list[int]:
    return sorted(table.find(np.array([key], np.uint32), stored.__getitem__).tolist())


@pytest.mark.parametrize("batch", [250, 32])  # a call of many keys probes narrow windows, of few keys wide ones
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_inserts_and_deletes_agree_with_a_dict_when_keys_pile_up(seed, batch):
    rng = np.random.default_rng(seed)
    table = Table(tbits=1, cap=4096)
    # few distinct keys, many codes each: runs of hundreds of cells, far past one probe window
    keys = rng.choice(np.array([5, 6, 7, 1 << 31, (1 << 31) + 9], np.uint32), size=1500)
    stored = keys.copy()  # code -> its key, as the index keeps it
    want: dict[int, set[int]] = defaultdict(set)
    for start in range(0, 1500, batch):  # keys in one call may pick the same free cell
        codes = np.arange(start, min(1500, start + batch))
        table.insert(keys[codes], codes)
        for c in codes.tolist():
            want[int(keys[c])].add(c)
    gone = rng.choice(1500, size=400, replace=False)
    for i in range(0, len(gone), batch):
        table.delete(keys[gone[i:i + batch]], gone[i:i + batch])
    for c in gone.tolist():
        want[int(keys[c])].discard(c)
    again = np.sort(gone[:150])  # tombstones are reused
    for i in range(0, len(again), batch):
        table.insert(keys[again[i:i + batch]], again[i:i + batch])
    for c in again.tolist():
        want[int(keys[c])].add(c)
    for key in map(int, np.unique(keys)):
        assert found(table, key, stored) == sorted(want[key])
    assert table.used == sum(len(v) for v in want.values())


def test_a_row_past_its_slack_raises_table_full():
    table = Table(tbits=0, cap=64, slack=32)
    with pytest.raises(TableFull):
        table.insert(np.full(200, 3, np.uint32), np.arange(200))
