"""Evaluate the semantic model on held-out locales and field names, next to the rules.

    python training/evaluate_semantic.py [--model PATH] [--per-type 200] [--threshold 0.93]

The examples come from semantic_data.py's HELD_OUT split: locales, field names, qualifiers,
parents and opaque names that training never uses. Prints per-type precision, recall and F1
for the model and for `rule_based`, both macro-F1s, and the model's throughput in fields per
second; exits 1 when the model's macro-F1 is below the threshold or the model cannot load.
Needs onnxruntime, numpy and faker only.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "training")]

import semantic_data  # noqa: E402

from backworks_cli.learn.features import Field, featurize  # noqa: E402
from backworks_cli.learn.semantic import Classifier  # noqa: E402
from backworks_cli.learn.semantic_rules import rule_based  # noqa: E402

Scores = dict[str, tuple[float, float, float, int]]


def scores(truth: Sequence[str], predicted: Sequence[str]) -> Scores:
    """Per true label: (precision, recall, F1, support)."""
    hits = Counter(t for t, p in zip(truth, predicted, strict=True) if t == p)
    made = Counter(predicted)
    support = Counter(truth)
    out: Scores = {}
    for label in sorted(support):
        p = hits[label] / made[label] if made[label] else 0.0
        r = hits[label] / support[label]
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        out[label] = (p, r, f1, support[label])
    return out


def macro_f1(table: Scores) -> float:
    return sum(f1 for _, _, f1, _ in table.values()) / len(table) if table else 0.0


def accuracy(truth: Sequence[str], predicted: Sequence[str]) -> float:
    return sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth)


def throughput(classifier: Classifier, fields: Sequence[Field], batch: int) -> tuple[float, float]:
    """(fields per second through `classify`, share of that time spent in featurize), the
    best of three passes so that a busy machine disturbs the figure less."""
    passes = []
    for _ in range(3):
        started = time.perf_counter()
        for i in range(0, len(fields), batch):
            classifier.classify(fields[i : i + batch])
        total = time.perf_counter() - started
        started = time.perf_counter()
        for i in range(0, len(fields), batch):
            featurize(fields[i : i + batch])
        passes.append((total, time.perf_counter() - started))
    total = min(t for t, _ in passes)
    features = min(f for _, f in passes)
    return len(fields) / total, min(features / total, 1.0)


def report(table: Scores, baseline: Scores) -> str:
    lines = [f"{'type':<20}{'n':>5}   {'model P/R/F1':<22}{'rules P/R/F1':<22}"]
    for label, (p, r, f1, n) in table.items():
        bp, br, bf1, _ = baseline[label]
        lines.append(f"{label:<20}{n:>5}   {p:.3f} {r:.3f} {f1:.3f}    {bp:.3f} {br:.3f} {bf1:.3f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="ONNX model (default: packaged)")
    parser.add_argument("--per-type", type=int, default=200, help="held-out examples per type")
    parser.add_argument("--seed", type=int, default=11, help="seed for the held-out examples")
    parser.add_argument("--threshold", type=float, default=0.93, help="minimum model macro-F1")
    parser.add_argument("--batch", type=int, default=1000, help="fields per classify call")
    args = parser.parse_args(argv)

    problems: list[str] = []
    classifier = Classifier.load(args.model, warn=problems.append)
    if not classifier.uses_model:
        print(f"error: {problems[0]}", file=sys.stderr)
        return 1
    overlap = semantic_data.overlaps()
    if overlap:
        print(f"error: held-out names also used in training: {overlap}", file=sys.stderr)
        return 1

    pairs = list(semantic_data.examples(semantic_data.HELD_OUT, args.per_type, args.seed))
    fields = [field for field, _ in pairs]
    truth = [label for _, label in pairs]
    predicted = [label for label, _ in classifier.classify(fields)]
    baseline = [rule_based(field) for field in fields]
    table, rules = scores(truth, predicted), scores(truth, baseline)
    model_f1, rules_f1 = macro_f1(table), macro_f1(rules)
    rate, feature_share = throughput(classifier, fields, args.batch)

    print(report(table, rules))
    print()
    print(f"held-out examples: {len(fields)} ({len(semantic_data.HELD_OUT.locales)} locales)")
    print(f"macro-F1   model {model_f1:.4f}   rules {rules_f1:.4f}")
    print(
        f"accuracy   model {accuracy(truth, predicted):.4f}   rules {accuracy(truth, baseline):.4f}"
    )
    weak = sorted(table.items(), key=lambda item: item[1][2])[:5]
    print("weakest    " + ", ".join(f"{label} {f1:.3f}" for label, (_, _, f1, _) in weak))
    confusions = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p)
    print("confusions " + ", ".join(f"{t}->{p} {n}" for (t, p), n in confusions.most_common(6)))
    print(
        f"throughput {rate:,.0f} fields/s in batches of {args.batch} "
        f"({feature_share:.0%} of the time in featurize)"
    )
    if model_f1 < args.threshold:
        print(f"error: macro-F1 {model_f1:.4f} is below {args.threshold}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    semantic_data.pin_hash_seed()
    raise SystemExit(main())
