"""Field semantics: which kind of data a JSON leaf holds (email, city, price...).

A field is judged from its name, its path and a few sample values. The shipped model is a
small linear classifier in ONNX (trained by training/train_semantic.py) fed by `featurize`
(features.py, shared by training and inference). `rule_based` (semantic_rules.py) is
the format/keyword baseline and the fallback when the model cannot be loaded. This is the only
module that imports onnxruntime; it and numpy are imported lazily.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from backworks_cli.learn.features import (
    FEATURE_DIM,
    SEMANTIC_TYPES,
    Field,
    featurize,
    featurizer_fingerprint,
)
from backworks_cli.learn.semantic_rules import RULE_CONFIDENCE, rule_based


def _default_model_bytes() -> bytes:
    from importlib.resources import files

    return files("backworks_cli").joinpath("data", "semantic.onnx").read_bytes()


class Classifier:
    """Field classifier: the shipped ONNX model, or the rules when it cannot be loaded."""

    def __init__(self, session: Any = None, labels: Sequence[str] = ()) -> None:
        self._session = session
        self._labels = tuple(labels)

    @classmethod
    def load(
        cls, path: Path | None = None, *, warn: Callable[[str], None] | None = None
    ) -> Classifier:
        """Load the model at `path` (default: the packaged one); never raises.

        A missing, unreadable or incompatible model calls `warn` once and gives a classifier
        that uses `rule_based`.
        """
        where = str(path) if path is not None else "packaged with backworks"
        try:
            data = Path(path).read_bytes() if path is not None else _default_model_bytes()
        except OSError as exc:
            reason = f"it cannot be read ({exc.strerror or exc})"
        else:
            try:
                return cls(*_session(data))
            except Exception as exc:
                reason = f"it is not a usable model ({type(exc).__name__}: {exc})"
        if warn is not None:
            warn(
                f"Cannot use the semantic model {where}: {reason}. Field types come from "
                "rule-based detection instead; reinstall backworks or rebuild the model with "
                "`python training/train_semantic.py`."
            )
        return cls()

    @property
    def uses_model(self) -> bool:
        return self._session is not None

    @property
    def labels(self) -> tuple[str, ...]:
        return self._labels if self._session is not None else SEMANTIC_TYPES

    def classify(self, fields: Sequence[Field]) -> list[tuple[str, float]]:
        """(semantic type, confidence) for each field, in one model run."""
        if not fields:
            return []
        if self._session is None:
            return [(rule_based(f), RULE_CONFIDENCE) for f in fields]
        probabilities = self.probabilities(fields)
        best = probabilities.argmax(axis=1)
        return [(self._labels[int(i)], float(probabilities[row, i])) for row, i in enumerate(best)]

    def probabilities(self, fields: Sequence[Field]):
        """The model's class probabilities (len(fields) x len(labels)), columns as `labels`."""
        x = featurize(fields)
        name = self._session.get_inputs()[0].name
        outputs = self._session.run(None, {name: x})
        return outputs[1]


def _session(data: bytes) -> tuple[Any, list[str]]:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 4
    session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    labels = json.loads(meta.get("labels", "[]"))
    trained_with = meta.get("featurizer", "none")
    if trained_with != featurizer_fingerprint():
        raise ValueError(
            f"trained with featurizer {trained_with}, this is {featurizer_fingerprint()}"
        )
    width = session.get_inputs()[0].shape[-1]
    if width != FEATURE_DIM:
        raise ValueError(f"input width {width}, expected {FEATURE_DIM}")
    if not labels or len(session.get_outputs()) < 2:
        raise ValueError("no labels recorded in the model metadata")
    return session, labels
