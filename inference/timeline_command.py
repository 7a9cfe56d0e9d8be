"""`tacfn predict VIDEO... --window SECONDS [--stride SECONDS] [--plot]`: the emotion timeline of long recordings, one
prediction per window, written as CSV and JSON (and a picture) per video."""

import json
import sys
from pathlib import Path

from .timeline_output import plot_timeline, timeline_table, write_timeline


def run_timelines(classifier, args) -> list[str]:
    """Predict the timeline of every video of `args.videos`, print it and write its files to `args.timeline_dir`;
    returns the error messages of the videos that failed (the others are still done)."""
    labels = [classifier.model.config.id2label[index] for index in range(classifier.model.config.num_labels)]
    stride = args.stride or args.window
    args.timeline_dir.mkdir(parents=True, exist_ok=True)
    errors = []
    for video in args.videos:
        try:
            timeline = classifier.predict_timeline(
                video, args.window, stride, top_k=len(labels), require_audio=not args.allow_silent
            )
        except (ValueError, OSError) as error:
            errors.append(f"{video}: {error}")
            continue
        stem = args.timeline_dir / f"{Path(video).stem}_timeline"
        write_timeline(timeline, labels, stem.with_suffix(".csv"), stem.with_suffix(".json"))
        written = [str(stem.with_suffix(".csv")), str(stem.with_suffix(".json"))]
        if args.plot:
            written.append(str(plot_timeline(timeline, labels, stem.with_suffix(".png"), title=Path(video).name)))
        print_timeline(video, timeline, labels, written, args.json)
    return errors


def print_timeline(video: str, timeline: list[dict], labels: list[str], written: list[str], as_json: bool) -> None:
    """One line per window (or one JSON object per video with `as_json`), then the files written."""
    rows = timeline_table(timeline, labels)
    if as_json:
        print(json.dumps({"file": video, "windows": rows, "files": written}), flush=True)
        return
    print(f"{video}: {len(rows)} windows")
    for row in rows:
        score = row[row["label"]]
        times = f"{row['start']:8.2f} - {row['end']:8.2f} s"
        print(f"  {times}  {row['label']:<10} {score:.3f}  crop: {row['crop_source']}")
    print(f"  written: {', '.join(written)}", file=sys.stdout, flush=True)
