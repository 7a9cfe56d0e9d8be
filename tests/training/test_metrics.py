"""The local emotion metric (WA, UA, macro-F1, per-class F1, confusion matrix) against hand-computed values and
scikit-learn, loaded offline through `evaluate.load(path)`, and the Trainer `compute_metrics` built on it."""

import os

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score
from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix
from transformers import EvalPrediction

from training.metrics import EMOTION_METRICS_PATH, build_compute_metrics, load_emotion_metrics


os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.fixture(scope="module")
def metric():
    return load_emotion_metrics()


def test_three_classes_by_hand(metric):
    references = [0, 0, 0, 1, 1, 2, 2, 2, 2, 2]
    predictions = [0, 0, 1, 1, 2, 2, 2, 2, 0, 1]
    result = metric.compute(predictions=predictions, references=references)

    # rows = true class, columns = predicted class
    assert result["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [1, 1, 3]]
    # 6 of 10 right
    assert result["accuracy"] == pytest.approx(0.6)
    assert result["weighted_accuracy"] == pytest.approx(0.6)
    # recalls 2/3, 1/2, 3/5
    assert result["unweighted_accuracy"] == pytest.approx(53 / 90)
    # F1 = 2TP / (2TP + FP + FN): 4/6, 2/5, 6/9
    assert result["per_class_f1"] == pytest.approx([2 / 3, 2 / 5, 2 / 3])
    assert result["macro_f1"] == pytest.approx(26 / 45)


def test_class_only_predicted_and_class_never_seen(metric):
    result = metric.compute(predictions=[0, 2, 1, 1], references=[0, 0, 1, 1], num_classes=4)

    assert result["confusion_matrix"] == [[1, 0, 1, 0], [0, 2, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert result["accuracy"] == pytest.approx(0.75)
    # UA averages the recall of the classes in the references only: (1/2 + 1) / 2
    assert result["unweighted_accuracy"] == pytest.approx(0.75)
    # class 2 was predicted once and never true: F1 0, counted in the macro average; class 3 never occurs: left out
    assert result["per_class_f1"] == pytest.approx([2 / 3, 1.0, 0.0, 0.0])
    assert result["macro_f1"] == pytest.approx((2 / 3 + 1.0 + 0.0) / 3)


def test_agrees_with_scikit_learn_on_random_predictions(metric):
    rng = np.random.default_rng(0)
    references = rng.integers(0, 8, 300)
    # right about half the time, else a random class
    predictions = np.where(rng.random(300) < 0.5, references, rng.integers(0, 8, 300))
    result = metric.compute(predictions=predictions, references=references, num_classes=8)

    assert result["accuracy"] == pytest.approx(np.mean(predictions == references))
    assert result["unweighted_accuracy"] == pytest.approx(balanced_accuracy_score(references, predictions))
    assert result["macro_f1"] == pytest.approx(f1_score(references, predictions, average="macro"))
    assert result["per_class_f1"] == pytest.approx(
        f1_score(references, predictions, average=None, labels=list(range(8))).tolist()
    )
    assert (
        result["confusion_matrix"] == sklearn_confusion_matrix(references, predictions, labels=list(range(8))).tolist()
    )


def test_batches_added_one_by_one_give_the_same_result(metric):
    references, predictions = [0, 1, 2, 2, 1, 0, 2], [0, 2, 2, 2, 1, 1, 0]
    for start in range(0, len(references), 3):
        metric.add_batch(predictions=predictions[start : start + 3], references=references[start : start + 3])
    assert metric.compute(num_classes=3) == metric.compute(
        predictions=predictions, references=references, num_classes=3
    )


def test_label_names_set_the_number_of_classes(metric):
    result = metric.compute(predictions=[0, 1], references=[0, 1], label_names=["neutral", "happy", "angry"])
    assert len(result["per_class_f1"]) == 3 and len(result["confusion_matrix"]) == 3
    with pytest.raises(ValueError, match="disagrees"):
        metric.compute(predictions=[0], references=[0], num_classes=2, label_names=["a", "b", "c"])


@pytest.mark.parametrize(
    "predictions, references, num_classes, message",
    [
        ([0, 5], [0, 1], 4, "class id 5 is out of range for num_classes=4"),
        ([0, -1], [0, 1], None, "must be >= 0"),
        ([], [], 3, "at least one"),
    ],
)
def test_bad_inputs_raise_value_errors(metric, predictions, references, num_classes, message):
    with pytest.raises(ValueError, match=message):
        metric.compute(predictions=predictions, references=references, num_classes=num_classes)


def test_loads_from_its_path_as_a_standalone_script():
    source = EMOTION_METRICS_PATH.read_text()
    # evaluate copies the file into its module cache on its own: it may import nothing from the project
    assert "from training" not in source and "import training" not in source and "from ." not in source
    assert load_emotion_metrics().name == "emotion_metrics"


def test_compute_metrics_takes_logits_and_fixes_the_class_count():
    compute_metrics = build_compute_metrics(["neutral", "happy", "angry", "sad"])
    # (4 examples, 4 classes); argmax: 0, 1, 1, 0
    logits = np.array([[3.0, 0, 0, 0], [0, 2.0, 1.0, 0], [0, 5.0, 0, 0], [1.0, 0, 0, 0.5]])
    labels = np.array([0, 1, 2, 0])

    result = compute_metrics(EvalPrediction(predictions=logits, label_ids=labels))
    assert result["accuracy"] == pytest.approx(0.75)
    # class 3 (sad) never occurs, yet the matrix is 4 x 4
    assert result["confusion_matrix"] == [[2, 0, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    # recalls: 1, 1, 0 over the three classes present
    assert result["unweighted_accuracy"] == pytest.approx(2 / 3)

    # models that return extra outputs hand the Trainer a tuple whose first element is the logits
    with_extras = compute_metrics(EvalPrediction(predictions=(logits, np.zeros((4, 2, 3, 3))), label_ids=labels))
    assert with_extras == result
