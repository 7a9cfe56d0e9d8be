"""Metrics for training and evaluation: the local 🤗 Evaluate metric `emotion_metrics.py` (WA, UA, macro-F1, per-class
F1, confusion matrix) and the `compute_metrics` function the Trainer calls with it."""

from collections.abc import Callable
from pathlib import Path

import evaluate
import numpy as np
from transformers import EvalPrediction


EMOTION_METRICS_PATH = Path(__file__).resolve().parent / "emotion_metrics.py"


def load_emotion_metrics() -> evaluate.EvaluationModule:
    """The emotion metric, loaded from its local script (works offline). It keeps its inputs in memory, so several
    processes (DDP ranks) computing it at once share no cache file."""
    return evaluate.load(str(EMOTION_METRICS_PATH), keep_in_memory=True)


def build_compute_metrics(label_names: list[str]) -> Callable[[EvalPrediction], dict]:
    """A Trainer `compute_metrics` function: logits -> predicted class ids -> the emotion metrics over `label_names`.

    Args:
        label_names (`list` of `str`): Class names in label id order; they fix the number of classes, so the
            confusion matrix is `len(label_names)` square even when an evaluation split lacks a class.

    Returns:
        A function of an `EvalPrediction` whose `predictions` are logits of shape (num_examples, num_classes) (or a
        tuple whose first element is) and whose `label_ids` are class ids of shape (num_examples,).
    """
    metric = load_emotion_metrics()

    def compute_metrics(eval_prediction: EvalPrediction) -> dict:
        logits = eval_prediction.predictions
        if isinstance(logits, tuple):
            logits = logits[0]
        # (num_examples, num_classes) -> (num_examples,)
        predictions = np.asarray(logits).argmax(axis=-1)
        return metric.compute(
            predictions=predictions, references=np.asarray(eval_prediction.label_ids), num_classes=len(label_names)
        )

    return compute_metrics
