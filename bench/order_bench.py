"""The price of order-free clusters: how many keys are retired on the way, in the generated
order and in shuffles, and a check that the final state is the same in every order.

    .venv/bin/python -m bench.order_bench --corpus zyte --seed 1 --shuffles 3

Prints one row per order: canonical decisions, keys retired on the way (tombstones), final
clusters; then how many distinct final states (root of every page) the orders gave.
"""

from __future__ import annotations

import argparse
import random

from bench.dedup_bench import prepare
from bench.syndication import generate
from stream.dedup import Deduper, MemoryIndex


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="zyte", choices=("zyte", "broad"))
    ap.add_argument("--stories", type=int, default=200)
    ap.add_argument("--copies", type=float, default=6.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--shuffles", type=int, default=3)
    args = ap.parse_args(argv)
    records = list(generate(args.stories, args.copies, args.seed, corpus=args.corpus))
    docs = [d for d in (prepare(r, i)[0] for i, r in enumerate(records)) if d is not None]
    print(f"{len(records)} pages, {len(docs)} with a fingerprint ({args.corpus}, seed {args.seed})\n")
    print("| order | canonical decisions | keys retired on the way | final clusters |\n|---|---|---|---|")
    finals = set()
    for k in range(args.shuffles + 1):
        order = docs if k == 0 else random.Random(k).sample(docs, len(docs))
        deduper = Deduper(MemoryIndex(changelog=False))
        decisions = [deduper.decide(doc) for doc in order]
        final = frozenset((doc.doc_id, deduper.index.root(doc.doc_id).doc_id) for doc in docs)
        finals.add(final)
        name = "as generated" if k == 0 else f"shuffle {k}"
        print(f"| {name} | {sum(d.canonical for d in decisions)} | {sum(len(d.replaces) for d in decisions)} "
              f"| {len({root for _, root in final})} |")
    print(f"\ndistinct final states over {args.shuffles + 1} orders: {len(finals)}")


if __name__ == "__main__":
    main()
