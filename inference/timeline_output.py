"""A long recording's emotion timeline (the pipeline's `predict_timeline`) written out: a CSV with one row per window
and a column per emotion, a JSON file with the same, and a picture of the probabilities over time."""

import csv
import json
from pathlib import Path

import matplotlib


matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def timeline_table(timeline: list[dict], labels: list[str]) -> list[dict]:
    """One flat row per window: `start`, `end`, the best `label`, `crop_source` and a score per emotion of `labels`."""
    rows = []
    for window in timeline:
        scores = {item["label"]: item["score"] for item in window["predictions"]}
        row = {"start": round(window["start"], 3), "end": round(window["end"], 3)}
        row.update(label=window["predictions"][0]["label"], crop_source=window["crop_source"])
        row.update({label: round(scores.get(label, 0.0), 6) for label in labels})
        rows.append(row)
    return rows


def write_timeline(timeline: list[dict], labels: list[str], csv_path, json_path) -> None:
    """Write the timeline as a CSV (`timeline_table` rows) and as JSON (`{"windows": rows}`)."""
    rows = timeline_table(timeline, labels)
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    Path(json_path).write_text(json.dumps({"windows": rows}, indent=2) + "\n", encoding="utf-8")


def plot_timeline(timeline: list[dict], labels: list[str], path, title: str = "") -> Path:
    """
    Draw the probability of every emotion over time, one line per emotion, each window's scores at its middle.

    Args:
        timeline (`list[dict]`): The pipeline's `predict_timeline` output (scores of every label).
        labels (`list[str]`): The emotions, in the model's order.
        path (`str` or `os.PathLike`): The PNG to write.
        title (`str`, *optional*): A title, e.g. the file name.

    Returns:
        The path of the picture.
    """
    rows = timeline_table(timeline, labels)
    middles = [(row["start"] + row["end"]) / 2 for row in rows]
    figure, axes = plt.subplots(figsize=(10, 4))
    for label in labels:
        axes.plot(middles, [row[label] for row in rows], marker="o", markersize=3, label=label)
    axes.set_xlabel("time (s), middle of each window")
    axes.set_ylabel("probability")
    axes.set_ylim(0, 1)
    axes.set_title(title)
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return Path(path)
