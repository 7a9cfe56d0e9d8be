"""Figures written by training runs."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_confusion_matrix(confusion: np.ndarray, label_names: list[str], path: str | Path) -> Path:
    """Saves a confusion matrix (rows: true class, columns: predicted class) as a PNG with counts and row-normalised
    colours, and returns its path."""
    confusion = np.asarray(confusion)
    recall = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    size = 1.2 + 0.55 * len(label_names)
    figure, axes = plt.subplots(figsize=(size + 1.5, size))
    image = axes.imshow(recall, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(label_names)), label_names, rotation=45, ha="right")
    axes.set_yticks(range(len(label_names)), label_names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    for row, column in np.ndindex(confusion.shape):
        colour = "white" if recall[row, column] > 0.5 else "black"
        axes.text(column, row, int(confusion[row, column]), ha="center", va="center", color=colour, fontsize=8)
    figure.colorbar(image, ax=axes, label="recall")
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
