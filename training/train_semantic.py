"""Train the field-semantics classifier and export it as backworks_cli/data/semantic.onnx.

    python training/train_semantic.py [--per-type 2000] [--seed 7] [--output PATH]

Examples come from semantic_data.py (Faker, training locales and names only), features from
backworks_cli.learn.features.featurize's sparse twin, the classifier is a multinomial logistic
regression exported with skl2onnx. One thread and fixed seeds: the same arguments give a
byte-identical model file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from array import array
from collections.abc import Sequence
from pathlib import Path

# Threaded BLAS may sum in a different order from run to run; one thread keeps the model stable.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "training")]

import numpy as np  # noqa: E402
import semantic_data  # noqa: E402
from scipy import sparse  # noqa: E402

from backworks_cli.learn.features import (  # noqa: E402
    FEATURE_DIM,
    Field,
    featurizer_fingerprint,
    sparse_features,
)

DEFAULT_OUTPUT = ROOT / "backworks_cli" / "data" / "semantic.onnx"


def feature_matrix(fields: Sequence[Field]) -> sparse.csr_matrix:
    """The features of `fields` as a sparse float32 matrix, rows in order."""
    indptr = array("q", [0])
    cols = array("i")
    vals = array("f")
    for field in fields:
        feats = sparse_features(field)
        cols.extend(feats)
        vals.extend(feats.values())
        indptr.append(len(cols))
    matrix = sparse.csr_matrix(
        (np.frombuffer(vals, dtype=np.float32), np.frombuffer(cols, dtype=np.int32), indptr),
        shape=(len(fields), FEATURE_DIM),
    )
    matrix.sort_indices()
    return matrix


def train(per_type: int, seed: int, c: float):
    """A fitted LogisticRegression on `per_type` generated examples of every type."""
    from sklearn.linear_model import LogisticRegression

    pairs = list(semantic_data.examples(semantic_data.TRAIN, per_type, seed))
    x = feature_matrix([field for field, _ in pairs])
    y = np.asarray([label for _, label in pairs])
    model = LogisticRegression(C=c, max_iter=3000, tol=1e-5)
    model.fit(x, y)
    return model


def to_onnx(model, *, seed: int, per_type: int) -> bytes:
    """The model as ONNX bytes, with labels and featurizer fingerprint in its metadata."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    onx = convert_sklearn(
        model,
        name="backworks_semantic",
        initial_types=[("features", FloatTensorType([None, FEATURE_DIM]))],
        options={id(model): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    onx.doc_string = "backworks field semantics; features from backworks_cli.learn.features"
    meta = {
        "labels": json.dumps([str(label) for label in model.classes_]),
        "featurizer": featurizer_fingerprint(),
        "feature_dim": str(FEATURE_DIM),
        "training": json.dumps({"per_type": per_type, "seed": seed}),
    }
    del onx.metadata_props[:]
    for key, value in sorted(meta.items()):
        entry = onx.metadata_props.add()
        entry.key, entry.value = key, value
    return onx.SerializeToString()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-type", type=int, default=2000, help="examples per semantic type")
    parser.add_argument("--seed", type=int, default=7, help="seed for data generation")
    parser.add_argument("--c", type=float, default=3.0, help="inverse regularisation strength")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="model file to write")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    model = train(args.per_type, args.seed, args.c)
    data = to_onnx(model, seed=args.seed, per_type=args.per_type)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    elapsed = time.perf_counter() - started
    print(
        f"wrote {args.output} ({len(data) / 1e6:.2f} MB, {len(model.classes_)} types, "
        f"{FEATURE_DIM} features) in {elapsed:.0f} s"
    )
    return 0


if __name__ == "__main__":
    semantic_data.pin_hash_seed()
    raise SystemExit(main())
