"""The order of steps, in one place.

    bytes --decode--> RawPage --clean--> Cleaned --fingerprint--> Prepared     (pure, any process)
    Prepared --Deduper.decide--> Outcome --messages--> [Message]               (stateful, in order)

:func:`prepare` is pure and runs in worker processes. :class:`Processor` holds the
dedup index and must see one partition's records in order. Nothing here does I/O
beyond what the index backend does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import orjson

from stream.clean import BoilerplateLearner, clean
from stream.decode import decode, doc_id, parse_time, source
from stream.dedup import Decision, Deduper, Doc, Index, fingerprint
from stream.dedup.canonical import rank
from stream.errors import BadRecord
from stream.models import Message, Prepared, Rejected

_learner: BoilerplateLearner | None = None


def learner() -> BoilerplateLearner:
    """This process's per-domain boilerplate learner (bounded memory)."""
    global _learner
    if _learner is None:
        _learner = BoilerplateLearner()
    return _learner


def prepare(value: bytes | None, max_bytes: int, timestamp: float | None = None,
            fingerprinted: bool = True, learn: bool = False) -> Prepared | Rejected:
    """Decode, clean and (unless told not to) fingerprint one record. Never raises.

    With ``learn``, lines that recur across a domain's pages are dropped too; the
    text then depends on the pages seen before, so outputs are no longer a
    function of the record alone."""
    url = None
    try:
        page = decode(value, max_bytes)
        url = page.url
        cleaned = clean(page.url, html=page.html, text=page.text, learner=learner() if learn else None)
        # Expiry runs on the stream's own clock: the record timestamp, else when the page
        # was fetched, else published. Mixing them would let one old or future-dated page
        # move the watermark and expire the rest.
        event_time = timestamp or parse_time(page.fetched_at or page.published_at or "") or 0.0
        fp = fingerprint(cleaned.text) if fingerprinted else None
        # The body is not needed past this point; dropping it keeps a worker's result small.
        return Prepared(doc_id(page), replace(page, html=None, text=None), cleaned, fp, event_time)
    except BadRecord as exc:
        return Rejected(exc.reason, exc.detail, url)
    except RecursionError:
        return Rejected("too_deep", "the page is nested too deeply to process", url)
    except Exception as exc:  # a bug or a library failure on one page must not stop the service
        return Rejected("processing_error", f"{type(exc).__name__}: {str(exc)[:200]}", url)


def prepare_many(values: list[tuple[bytes | None, float | None]], max_bytes: int,
                 fingerprinted: bool = True, learn: bool = False) -> list[Prepared | Rejected]:
    """:func:`prepare` over a chunk; the unit of work sent to a worker process."""
    return [prepare(value, max_bytes, ts, fingerprinted, learn) for value, ts in values]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an input record came from."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one record: a decision, or a rejection."""

    item: Prepared | Rejected
    decision: Decision | None = None

    @property
    def kind(self) -> str:
        if self.decision is None:
            return "dead_letter"
        return "article" if self.decision.canonical else "duplicate"


class Processor:
    """Decides each prepared record against the dedup index. Not thread-safe."""

    def __init__(self, deduper: Deduper) -> None:
        self.deduper = deduper

    def decide(self, item: Prepared | Rejected) -> Outcome:
        if isinstance(item, Rejected):
            return Outcome(item)
        c = item.cleaned
        doc = Doc(item.doc_id, item.fingerprint, item.event_time,
                  rank(item.page.url, item.page.published_at or c.published_at, c.canonical_url, c.attribution,
                       item.event_time, item.doc_id))
        return Outcome(item, self.deduper.decide(doc))


def article(item: Prepared, decision: Decision) -> dict:
    """The value published for a canonical article."""
    page, c = item.page, item.cleaned
    value = dict(page.extra)
    value.update(
        id=item.doc_id,
        cluster_id=decision.cluster_id,
        url=page.url,
        title=c.title,
        text=c.text,
        fetched_at=page.fetched_at,
        published_at=page.published_at or c.published_at,
        lang=page.lang or c.lang,
        source=source(page.url),
    )
    if decision.replaces:
        value["replaces"] = list(decision.replaces)
    return value


def duplicate(item: Prepared, decision: Decision) -> dict:
    """The value published for a duplicate decision."""
    value = {
        "id": item.doc_id,
        "url": item.page.url,
        "cluster_id": decision.cluster_id,
        "duplicate_of": decision.duplicate_of,
        "similarity": decision.similarity,
        "source": source(item.page.url),
        "fetched_at": item.page.fetched_at,
    }
    if decision.replaces:
        value["replaces"] = list(decision.replaces)
    return value


def messages(outcome: Outcome, raw: bytes | None, origin: Origin) -> list[Message]:
    """What an outcome publishes: the record's own message (every input ends on exactly one
    topic), then a tombstone on the articles topic for each cluster the decision retired."""
    item, decision = outcome.item, outcome.decision
    if decision is None:
        assert isinstance(item, Rejected)
        return [Message("dead_letter", None, raw or b"", dead_letter_headers(item, origin))]
    assert isinstance(item, Prepared)
    key = decision.cluster_id.encode()
    own = (Message("article", key, orjson.dumps(article(item, decision))) if decision.canonical
           else Message("duplicate", key, orjson.dumps(duplicate(item, decision))))
    return [own, *(tombstone(old) for old in decision.replaces)]


def tombstone(cluster_id: str) -> Message:
    """Deletes a retired cluster's key from the (compacted) articles topic."""
    return Message("article", cluster_id.encode(), None)


def dead_letter_headers(item: Rejected, origin: Origin) -> tuple[tuple[str, bytes], ...]:
    return (
        ("reason", item.reason.encode()),
        ("detail", item.detail.encode("utf-8", "replace")[:1000]),
        ("source_topic", origin.topic.encode()),
        ("source_partition", str(origin.partition).encode()),
        ("source_offset", str(origin.offset).encode()),
    )


def final_line(outcome: Outcome, index: Index) -> dict:
    """One line of ``stream dedup`` output: the page's cluster once every page is decided."""
    item, d = outcome.item, outcome.decision
    if d is None:
        return {"url": item.url, "error": item.reason, "detail": item.detail}
    root = index.root(d.doc_id)
    cluster_id = root.doc_id if root is not None else d.cluster_id
    canonical = cluster_id == d.doc_id
    return {"url": item.page.url, "id": d.doc_id, "cluster_id": cluster_id, "canonical": canonical,
            "duplicate_of": None if canonical else cluster_id, "similarity": d.similarity}


def clean_line(item: Prepared | Rejected) -> dict:
    """One line of ``stream clean`` output."""
    if isinstance(item, Rejected):
        return {"url": item.url, "error": item.reason, "detail": item.detail}
    c = item.cleaned
    return {"url": item.page.url, "id": item.doc_id, "title": c.title, "text": c.text,
            "published_at": item.page.published_at or c.published_at, "lang": item.page.lang or c.lang,
            "canonical_url": c.canonical_url, "source": source(item.page.url)}
