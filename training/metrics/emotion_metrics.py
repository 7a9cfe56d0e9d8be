"""Emotion recognition metrics as a local 🤗 Evaluate metric that loads offline:

    metric = evaluate.load("training/metrics/emotion_metrics.py")
    metric.compute(predictions=[0, 2, 1], references=[0, 1, 1], num_classes=3)

This file is imported by `evaluate.load` on its own, so it imports nothing from the project.
"""

import datasets
import evaluate
import numpy as np


_DESCRIPTION = """
Classification metrics reported for speech and audio-visual emotion recognition:

- `accuracy`: the fraction of correct predictions; the emotion recognition literature calls it weighted accuracy (WA).
- `weighted_accuracy`: the same number under its literature name.
- `unweighted_accuracy` (UA): the mean recall over the classes present in the references, so that every class counts
  the same whatever its size.
- `macro_f1`: the mean F1 over the classes present in the references or the predictions (scikit-learn's macro average).
- `per_class_f1`: one F1 per class id `0 .. num_classes - 1`; a class absent from both the references and the
  predictions gets 0.0.
- `confusion_matrix`: `num_classes` lists of `num_classes` counts; row = true class, column = predicted class.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `int`): Predicted class ids.
    references (`list` of `int`): True class ids, one per prediction.
    num_classes (`int`, *optional*): Number of classes, the size of `per_class_f1` and of the confusion matrix.
        Defaults to the length of `label_names` when given, else to the largest class id seen plus one.
    label_names (`list` of `str`, *optional*): Class names in class id order; their number is the number of classes.

Returns:
    `accuracy`, `weighted_accuracy`, `unweighted_accuracy`, `macro_f1` (floats), `per_class_f1` (list of floats) and
    `confusion_matrix` (list of lists of ints).

Examples:
    >>> metric = evaluate.load("training/metrics/emotion_metrics.py")
    >>> metric.compute(predictions=[0, 0, 1, 1], references=[0, 1, 1, 1])["unweighted_accuracy"]
    0.8333333333333333
"""


class EmotionMetrics(evaluate.Metric):
    """WA, UA, macro-F1, per-class F1 and the confusion matrix of integer class predictions."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions=None, references=None, num_classes=None, label_names=None) -> dict:
        predictions = np.asarray(predictions, dtype=np.int64)
        references = np.asarray(references, dtype=np.int64)
        num_classes = resolve_num_classes(predictions, references, num_classes, label_names)
        confusion = confusion_matrix(predictions, references, num_classes)
        per_class_f1 = f1_per_class(confusion)
        accuracy = float(np.trace(confusion) / confusion.sum())
        return {
            "accuracy": accuracy,
            "weighted_accuracy": accuracy,
            "unweighted_accuracy": unweighted_accuracy(confusion),
            "macro_f1": macro_f1(confusion, per_class_f1),
            "per_class_f1": per_class_f1.tolist(),
            "confusion_matrix": confusion.tolist(),
        }


def resolve_num_classes(predictions: np.ndarray, references: np.ndarray, num_classes, label_names) -> int:
    """The number of classes, after checking the inputs and every class id against it.

    Args:
        predictions (`np.ndarray`): Predicted class ids, shape (num_examples,).
        references (`np.ndarray`): True class ids, shape (num_examples,).
        num_classes (`int` or `None`): The number of classes asked for.
        label_names (`list` of `str` or `None`): Class names; their count must agree with `num_classes` when both
            are given.
    """
    if references.size == 0:
        raise ValueError("emotion metrics need at least one prediction and reference; got none.")
    if label_names is not None:
        if num_classes is not None and num_classes != len(label_names):
            raise ValueError(f"num_classes={num_classes} disagrees with the {len(label_names)} label_names given.")
        num_classes = len(label_names)
    smallest = min(predictions.min(), references.min())
    if smallest < 0:
        raise ValueError(f"class ids must be >= 0; got {smallest}.")
    largest = int(max(predictions.max(), references.max()))
    if num_classes is None:
        return largest + 1
    if largest >= num_classes:
        raise ValueError(
            f"class id {largest} is out of range for num_classes={num_classes} (ids 0..{num_classes - 1})."
        )
    return int(num_classes)


def confusion_matrix(predictions: np.ndarray, references: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts of (true class, predicted class) pairs, shape (num_classes, num_classes)."""
    # pair (true t, predicted p) -> flat index t * num_classes + p
    counts = np.bincount(references * num_classes + predictions, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def f1_per_class(confusion: np.ndarray) -> np.ndarray:
    """F1 = 2·TP / (2·TP + FP + FN) of every class, shape (num_classes,); 0.0 where the class never occurs."""
    true_positives = np.diag(confusion).astype(np.float64)
    # row sum + column sum = (TP + FN) + (TP + FP)
    denominator = confusion.sum(axis=0) + confusion.sum(axis=1)
    return np.divide(2 * true_positives, denominator, out=np.zeros_like(true_positives), where=denominator > 0)


def unweighted_accuracy(confusion: np.ndarray) -> float:
    """Mean recall over the classes that occur in the references."""
    support = confusion.sum(axis=1)
    present = support > 0
    return float(np.mean(np.diag(confusion)[present] / support[present]))


def macro_f1(confusion: np.ndarray, per_class_f1: np.ndarray) -> float:
    """Mean F1 over the classes that occur in the references or the predictions (scikit-learn's macro average)."""
    present = (confusion.sum(axis=0) + confusion.sum(axis=1)) > 0
    return float(per_class_f1[present].mean())
