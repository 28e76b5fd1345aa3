"""Every kind of bad input gets a reason from the pure core, and a dead letter from the service."""

from __future__ import annotations

import orjson
import pytest

from stream.kafka.topics import produce
from stream.models import Rejected
from stream.pipeline import prepare
from tests.poison import LIMIT, corpus
from tests.service_support import by_topic, outputs, running

CORPUS = corpus()


def test_the_corpus_has_at_least_25_kinds():
    assert len({kind for kind, _, _ in CORPUS}) >= 25


@pytest.mark.parametrize(("kind", "value", "reason"), CORPUS, ids=[k for k, _, _ in CORPUS])
def test_each_kind_is_rejected_with_its_reason(kind, value, reason):
    item = prepare(value, LIMIT)
    assert isinstance(item, Rejected), kind
    assert item.reason == reason


def good_page(i: int) -> bytes:
    words = " ".join(f"w{i}x{j}" for j in range(120))
    return orjson.dumps({"url": f"https://good.example/{i}", "text": f"Story {i}\n\n{words}."})


@pytest.mark.kafka
async def test_poison_interleaved_with_good_pages(settings):
    values, expect_dead = [], []
    for i, (kind, value, reason) in enumerate(CORPUS):
        values += [good_page(i), value]
        expect_dead.append(reason)
    async with running(settings) as service:
        await produce(settings, settings.input_topic, values, keys=[b"k"] * len(values))
        got = await outputs(settings, len(values), timeout=120, settle=2.0)
        assert not service.stopping.is_set()  # still up
    decoded = by_topic(settings, got)
    assert sorted(a["url"] for a in decoded["articles"]) == sorted(f"https://good.example/{i}" for i in range(len(CORPUS)))
    assert sorted(r.headers["reason"].decode() for r in decoded["dead"]) == sorted(expect_dead)
    sent = {v for v in values if v is not None}
    assert all(r.value in sent or r.value in (None, b"") for r in decoded["dead"])  # original bytes kept
