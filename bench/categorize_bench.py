"""Categorization benchmark: learn on nine months of a made-up household, suggest categories for the last three.

    python bench/categorize_bench.py                 # seed 7, k 5
    python bench/categorize_bench.py --seed 3 --k 7

Prints accuracy at each coverage level (coverage: share of the test rows whose confidence passes the
threshold), the best operating point with at least 80 % coverage, and embeddings per second.
"""

from __future__ import annotations

import argparse
import operator
import sys
import time
from collections import Counter

from categorize_data import Generator, Txn

from fintrack.categorize.embedding import embed, normalize, vote

TRAIN_MONTHS = 9
GOAL_ACCURACY, GOAL_COVERAGE = 0.90, 0.80
THRESHOLDS = [i / 20 for i in range(20)]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=7, help="the generator's seed (default 7)")
    p.add_argument("--scale", type=float, default=2.5, help="purchases per month relative to the table (default 2.5)")
    p.add_argument("--k", type=int, default=5, help="neighbours that vote (default 5)")
    p.add_argument("--errors", type=int, default=0, help="print this many confident mistakes")
    return p.parse_args()


def vector(t: Txn) -> list[float]:
    return embed(t.payee, t.description, t.memo)


def embeddings_per_second(rows: list[Txn]) -> float:
    # A fresh word cache would flatter nothing here: real imports repeat merchants just the same.
    start = time.perf_counter()
    n = 0
    while time.perf_counter() - start < 1.0:
        for t in rows:
            vector(t)
        n += len(rows)
    return n / (time.perf_counter() - start)


def predict(train: list[Txn], test: list[Txn], k: int) -> list[tuple[str | None, float]]:
    """Brute-force cosine kNN: the vectors are unit length, so the dot product is the cosine."""
    vectors = [vector(t) for t in train]
    labels = [t.category for t in train]
    out = []
    for t in test:
        q = vector(t)
        sims = [sum(map(operator.mul, q, v)) for v in vectors]
        top = sorted(range(len(sims)), key=sims.__getitem__, reverse=True)[:k]
        out.append(vote([(labels[i], sims[i]) for i in top], k))
    return out


def main() -> int:
    args = parse_args()
    rows = Generator(args.seed, args.scale).history()
    train = [t for t in rows if t.date.month <= TRAIN_MONTHS]
    test = [t for t in rows if t.date.month > TRAIN_MONTHS]
    print(
        f"{len(rows)} transactions, {len({t.category for t in rows})} categories; train {len(train)}, test {len(test)}"
    )
    seen = {normalize(t.description) for t in train}
    unseen = sum(normalize(t.description) not in seen for t in test)
    print(f"test rows whose normalized description never appears in training: {unseen} ({unseen / len(test):.0%})")

    start = time.perf_counter()
    results = predict(train, test, args.k)
    print(f"kNN over {len(train)} vectors for {len(test)} queries: {time.perf_counter() - start:.1f} s")

    print(f"\n{'threshold':>9} {'coverage':>9} {'accuracy':>9} {'applied':>8}")
    best: tuple[float, float, float] | None = None
    for threshold in THRESHOLDS:
        passed = [(t, cat) for t, (cat, conf) in zip(test, results, strict=True) if cat and conf >= threshold]
        coverage = len(passed) / len(test)
        accuracy = sum(t.category == cat for t, cat in passed) / len(passed) if passed else 0.0
        print(f"{threshold:>9.2f} {coverage:>9.1%} {accuracy:>9.1%} {len(passed):>8}")
        if coverage >= GOAL_COVERAGE and (best is None or accuracy > best[2]):
            best = (threshold, coverage, accuracy)
    if best:
        met = "meets" if best[2] >= GOAL_ACCURACY else "misses"
        print(
            f"\nbest with coverage >= {GOAL_COVERAGE:.0%}: threshold {best[0]:.2f}, coverage {best[1]:.1%}, "
            f"accuracy {best[2]:.1%} ({met} the {GOAL_ACCURACY:.0%} goal)"
        )
    if args.errors:
        wrong = Counter(
            (normalize(t.description), t.category, cat)
            for t, (cat, conf) in zip(test, results, strict=True)
            if cat != t.category and best and conf >= best[0]
        )
        for (desc, truth, guess), n in wrong.most_common(args.errors):
            print(f"  {n:>3}x {desc!r}: {truth} suggested as {guess}")
    print(f"\nembed: {embeddings_per_second(rows):,.0f} embeddings/s (pure Python, one core)")
    return 0 if best and best[2] >= GOAL_ACCURACY else 1


if __name__ == "__main__":
    sys.exit(main())
