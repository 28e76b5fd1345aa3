"""The canonical rank: earliest published, then original-source signals, then first seen, then the id."""

from __future__ import annotations

from stream.dedup.canonical import foreign_source, rank


def test_earlier_publication_wins() -> None:
    assert rank("https://a.example/x", "2022-02-21T10:00:00Z") < rank("https://b.example/x", "2022-02-21T11:00:00Z")
    # time zones are honoured: 10:00+03:00 is 07:00 UTC
    assert rank("https://a.example/x", "2022-02-21T10:00:00+03:00") < rank("https://b.example/x", "2022-02-21T08:00:00Z")


def test_dated_beats_undated_and_unreadable() -> None:
    dated = rank("https://a.example/x", "2022-02-25")
    assert dated < rank("https://b.example/x", None)
    assert dated < rank("https://b.example/x", "yesterday")


def test_date_only_counts_as_end_of_day() -> None:
    assert rank("https://a.example/x", "2022-02-21T23:00:00") < rank("https://b.example/x", "2022-02-21")
    assert rank("https://a.example/x", "2022-02-21") < rank("https://b.example/x", "2022-02-22T00:30:00Z")


def test_source_signals_rank_a_copy_after_the_original() -> None:
    when = "2022-02-21T10:00:00Z"
    original = rank("https://orig.example/x", when)
    assert original < rank("https://copy.example/x", when, canonical_url="https://orig.example/x")
    assert original < rank("https://copy.example/x", when, attribution="orig.example")
    # but an earlier date still comes first
    assert rank("https://copy.example/x", "2022-02-20", attribution="orig.example") < original


def test_self_references_are_not_foreign() -> None:
    assert not foreign_source("https://www.site.example/a", "https://site.example/a?amp=1")
    assert not foreign_source("https://site.example/a", None, "Site Example")
    assert foreign_source("https://copy.example/a", "https://orig.example/a")
    assert foreign_source("https://copy.example/a", None, "The Original Times")


def test_first_seen_breaks_ties_and_shape_is_fixed() -> None:
    a = rank("https://a.example/x", None, seen=1.0)
    b = rank("https://b.example/x", None, seen=2.0)
    assert a < b and len(a) == len(b) == len(rank("https://c.example/x", "2022-02-21"))


def test_the_document_id_breaks_the_last_tie() -> None:
    a = rank("https://a.example/x", None, seen=1.0, doc_id="00000000000010000000")
    b = rank("https://b.example/x", None, seen=1.0, doc_id="000000000000a0000000")
    assert a < b and a[:4] == b[:4]
    assert rank("https://a.example/x", doc_id="odd id") != rank("https://a.example/x", doc_id="other id")
