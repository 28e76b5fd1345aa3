"""Deduplication: MinHash fingerprints, an LSH index behind one interface, the decision."""

from stream.dedup.decide import Decision, Deduper, Doc
from stream.dedup.fingerprint import Fingerprint, fingerprint
from stream.dedup.index import Index
from stream.dedup.memory_index import MemoryIndex

__all__ = ["Decision", "Deduper", "Doc", "Fingerprint", "Index", "MemoryIndex", "fingerprint"]
