"""``stream clean`` and ``stream dedup``: the JSONL contract, as a user runs them."""

from __future__ import annotations

import subprocess
import sys

import orjson
import pytest

from stream.samples import raw_values, records

URLS = [r["url"] for r in records()]


def run(command: str, data: bytes, *args: str) -> list[dict]:
    done = subprocess.run([sys.executable, "-m", "stream", command, *args], input=data, capture_output=True,
                          timeout=120, check=True)
    return [orjson.loads(line) for line in done.stdout.splitlines()]


@pytest.fixture(scope="module")
def data() -> bytes:
    return b"\n".join(raw_values()) + b"\n"


@pytest.mark.parametrize("workers", ["0", "2"])
def test_dedup_one_line_per_input_in_order(data, workers):
    lines = run("dedup", data, "--workers", workers)
    assert len(lines) == len(raw_values())
    assert [line["url"] for line in lines[: len(URLS)]] == URLS
    by_url = {line["url"]: line for line in lines[: len(URLS)]}
    original, flat, retitled = by_url[URLS[0]], by_url[URLS[3]], by_url[URLS[6]]
    assert original["canonical"] and original["duplicate_of"] is None and original["similarity"] is None
    for copy in (flat, retitled):
        assert not copy["canonical"] and copy["cluster_id"] == copy["duplicate_of"] == original["id"]
        assert 0 < copy["similarity"] <= 1
    others = [by_url[u] for u in URLS if u not in (URLS[0], URLS[3], URLS[6])]
    assert all(o["canonical"] and o["cluster_id"] == o["id"] for o in others)
    assert [line["error"] for line in lines[len(URLS):]] == ["invalid_json", "missing_url", "no_content"]


def test_dedup_ids_are_the_same_on_every_run(data):
    assert run("dedup", data) == run("dedup", data, "--workers", "0")


def test_clean_contract(data, tmp_path):
    (tmp_path / "in.jsonl").write_bytes(data)
    subprocess.run([sys.executable, "-m", "stream", "clean", "--input", str(tmp_path / "in.jsonl"),
                    "--output", str(tmp_path / "out.jsonl")], check=True, timeout=120)
    lines = [orjson.loads(x) for x in (tmp_path / "out.jsonl").read_bytes().splitlines()]
    assert len(lines) == len(raw_values())
    flat = lines[3]
    assert flat["url"] == URLS[3] and flat["title"] == "Putin set to address security officials – Kremlin"
    assert flat["text"].startswith("Russian President Vladimir Putin will speak")
    assert flat["text"].endswith("there is always a chance.”")
    assert {"url", "error"} <= set(lines[-1])


def test_bad_setting_exits_with_a_message():
    done = subprocess.run([sys.executable, "-m", "stream", "dedup", "--threshold", "7"], input=b"",
                          capture_output=True, timeout=60)
    assert done.returncode == 2 and b"threshold" in done.stderr


def test_dedup_gives_the_same_clusters_for_every_order_of_the_lines(data):
    """Final clusters and canonicals are a function of the set of pages: five shuffles of
    pages with copies (dated at random, so later copies often rank first) agree."""
    import random

    from tests import stories
    from tests.test_determinism import pages

    values = pages(random.Random(7), 20) + [stories.copy(n, c) for n in range(20, 30) for c in range(2)]
    outcomes = set()
    for seed in range(5):
        order = values[:]
        random.Random(seed).shuffle(order)
        lines = run("dedup", b"\n".join(order) + b"\n", "--workers", "0")
        assert len(lines) == len(values)
        by_url = {line["url"]: line for line in lines if "error" not in line}
        outcomes.add(frozenset((url, line["cluster_id"], line["canonical"]) for url, line in by_url.items()))
    assert len(outcomes) == 1
    final = outcomes.pop()
    clusters = {cluster for _, cluster, _ in final}
    assert len(clusters) < len(final) and len({c for _, c, canonical in final if canonical}) == len(clusters)
