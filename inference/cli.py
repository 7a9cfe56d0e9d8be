"""The `tacfn` command.

    tacfn predict VIDEO... --model DIR [--top-k 3] [--json] [--heatmap DIR] [--landmarks-dir DIR]
                           [--batch-size 4] [--num-workers 2]
    tacfn demo --model DIR [--host 127.0.0.1] [--port 7860]

`predict` prints a table (or, with `--json`, one JSON object per line) with the top emotions of every clip, and which
modalities each prediction used (a fused model answers an audio file, or a video without an audio track, from the one
modality it has; the table notes "from audio only" / "from video only"); files that cannot be read are reported and
skipped, the others are still predicted, and the exit code is then 1. `--heatmap DIR`
writes the attention picture (the fusion weights over the face frames) of every clip to DIR. `--landmarks-dir DIR`
crops faces by the OpenFace landmark CSV of each clip (same stem, as RAVDESS's FacialTracking files) instead of the face
detector. `demo` serves the web demo (Gradio) on this machine.
"""

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from tqdm.auto import tqdm

from .attention_picture import plot_attention_picture
from .batch_prediction import ClipPrediction, predict_files
from .model_folder import load_classifier


EXIT_OK = 0
EXIT_SOME_FILES_FAILED = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `tacfn` and its sub-commands."""
    parser = argparse.ArgumentParser(
        prog="tacfn", description="Emotion recognition from talking-face clips with a trained TACFN model."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    predict = commands.add_parser("predict", help="predict the emotion of video clips")
    predict.add_argument(
        "videos", nargs="+", metavar="VIDEO", help="video or audio files (mp4, avi, mov, mkv, wav, mp3, m4a, ...)"
    )
    predict.add_argument("--model", required=True, help="model folder (or Hub repository id) with its processor")
    predict.add_argument("--top-k", type=int, default=3, help="emotions shown per clip (default: 3)")
    predict.add_argument("--json", action="store_true", help="print one JSON object per clip instead of a table")
    predict.add_argument("--heatmap", type=Path, metavar="DIR", help="write each clip's attention picture to DIR")
    predict.add_argument(
        "--landmarks-dir",
        type=Path,
        metavar="DIR",
        help="crop faces by the OpenFace landmark CSV named like each clip (CLIP_STEM.csv) in DIR, when there is one",
    )
    predict.add_argument("--batch-size", type=int, default=1, help="clips per model call (default: 1)")
    predict.add_argument(
        "--num-workers", type=int, default=0, help="processes that decode clips while the model runs (default: 0)"
    )
    predict.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: the first GPU if any, else the CPU)")
    predict.add_argument(
        "--allow-silent",
        action="store_true",
        help="give clips without an audio track silence instead of answering from the video alone (or failing)",
    )
    predict.add_argument("--quiet", action="store_true", help="no progress bar")

    demo = commands.add_parser("demo", help="serve the web demo for a model on this machine")
    demo.add_argument("--model", required=True, help="model folder (or Hub repository id) with its processor")
    demo.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine)")
    demo.add_argument("--port", type=int, default=7860, help="port to listen on (default: 7860)")
    demo.add_argument("--device", help="cpu, cuda, ... (default: the first GPU if any, else the CPU)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tacfn` console script; returns the exit code."""
    # file names that are not valid UTF-8 (kept by Python as surrogates) are printed escaped instead of crashing
    sys.stdout.reconfigure(errors="backslashreplace")
    sys.stderr.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    if args.command == "predict":
        return predict_command(args)
    return demo_command(args)


def predict_command(args: argparse.Namespace) -> int:
    """`tacfn predict`: predict every clip, print the results, write attention pictures; returns the exit code."""
    if args.top_k < 1 or args.batch_size < 1 or args.num_workers < 0:
        return _fail("--top-k and --batch-size must be at least 1 and --num-workers at least 0.")
    if args.landmarks_dir is not None and not args.landmarks_dir.is_dir():
        return _fail(f"--landmarks-dir {str(args.landmarks_dir)!r} is not a folder.")
    try:
        classifier = load_classifier(args.model, device=args.device)
    except ValueError as error:
        return _fail(str(error))
    if args.heatmap is not None:
        if classifier.model.config.modality != "both":
            return _fail(
                f"--heatmap needs the fused model; {args.model!r} is {classifier.model.config.modality!r} only."
            )
        args.heatmap.mkdir(parents=True, exist_ok=True)
    picture_names = _picture_names(args.videos)

    results = []
    progress = tqdm(total=len(args.videos), unit="clip", file=sys.stderr, disable=args.quiet or len(args.videos) < 2)
    predictions = predict_files(
        classifier,
        args.videos,
        landmarks=_landmark_files(args.videos, args.landmarks_dir),
        top_k=args.top_k,
        return_fusion_weights=args.heatmap is not None,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        require_audio=not args.allow_silent,
    )
    for index, result in enumerate(predictions):
        picture = None
        if args.heatmap is not None and result.error is None and result.fusion_weights is not None:
            picture = _write_picture(result, args.heatmap / picture_names[index])
        results.append((result, picture))
        if args.json:
            progress.clear()
            print(json.dumps(_json_record(result, picture)), flush=True)
        progress.update()
    progress.close()

    if not args.json:
        print(format_table(results, args.top_k))
    return _report_failures([result for result, _ in results])


def demo_command(args: argparse.Namespace) -> int:
    """`tacfn demo`: serve the web demo until interrupted; returns the exit code."""
    try:
        from .web_demo import launch_demo
    except ImportError as error:
        return _fail(f"the web demo needs Gradio (pip install 'tacfn[demo]'): {error}")
    try:
        launch_demo(args.model, host=args.host, port=args.port, device=args.device)
    except ValueError as error:
        return _fail(str(error))
    return EXIT_OK


def format_table(results: list[tuple], top_k: int) -> str:
    """
    The results as an aligned text table: one row per clip with its top emotions and scores (and attention picture),
    or why it failed.

    Args:
        results (`list[tuple]`): `(ClipPrediction, attention picture path or None)` per clip.
        top_k (`int`): Emotion columns.
    """
    header = ["clip"] + [f"top {rank}" for rank in range(1, top_k + 1)]
    rows = []
    for result, picture in results:
        if result.error is not None:
            rows.append(([result.path], f"FAILED: {result.error}"))
        else:
            cells = [f"{item['label']} {item['score']:.3f}" for item in result.predictions]
            notes = [f"picture: {picture}" if picture else "", modalities_note(result.predictions)]
            rows.append(([result.path] + cells, "  ".join(note for note in notes if note)))
    # aligned columns; the trailing note (error or picture) is left as long as it is
    widths = [len(name) for name in header]
    for cells, _ in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, cells)] + widths[len(cells) :]
    lines = ["  ".join(name.ljust(width) for name, width in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * width for width in widths))
    for cells, note in rows:
        padded = [cell.ljust(width) for cell, width in zip(cells, widths)]
        lines.append("  ".join(padded + [note]).rstrip())
    return "\n".join(lines)


def modalities_note(predictions: list[dict]) -> str:
    """"from audio only" / "from video only" for a prediction made without one of the two; empty when it used both."""
    used = predictions[0]["modalities"]
    return "" if len(used) == 2 else f"from {used[0]} only"


def _landmark_files(paths: list[str], folder: Path | None) -> list[str | None]:
    """Per clip, `folder/<stem>.csv` when `folder` is given and that file exists, else `None` (the face detector)."""
    if folder is None:
        return [None] * len(paths)
    candidates = [folder / f"{Path(path).stem}.csv" for path in paths]
    return [str(candidate) if candidate.is_file() else None for candidate in candidates]


def _picture_names(paths: list[str]) -> list[str]:
    """A PNG name per clip: `<stem>_attention.png`, with the clip's position added when stems repeat."""
    stems = [Path(path).stem for path in paths]
    counts = Counter(stems)
    return [
        f"{stem}_attention.png" if counts[stem] == 1 else f"{stem}_{index}_attention.png"
        for index, stem in enumerate(stems)
    ]


def _write_picture(result: ClipPrediction, path: Path) -> str:
    """Draw a clip's attention picture; returns its path as a string."""
    plot_attention_picture(
        result.frames, result.fusion_weights, path, predictions=result.predictions, title=Path(result.path).name
    )
    return str(path)


def _json_record(result: ClipPrediction, picture: str | None) -> dict:
    """One clip's JSON line: the file and its predictions (and attention picture), or the file and its error."""
    record = {"file": result.path}
    if result.error is not None:
        record["error"] = result.error
    else:
        record["predictions"] = result.predictions
        record["modalities"] = result.predictions[0]["modalities"]  # what the prediction used
        if picture is not None:
            record["attention_picture"] = picture
    if result.warnings:
        record["warnings"] = result.warnings
    return record


def _report_failures(results: list[ClipPrediction]) -> int:
    """Print every warning and error to stderr; exit code 1 when any file failed, else 0."""
    for result in results:
        for message in result.warnings:
            print(f"warning: {result.path}: {message}", file=sys.stderr)
    failed = [result for result in results if result.error is not None]
    for result in failed:
        print(f"error: {result.path}: {result.error}", file=sys.stderr)
    if failed:
        print(f"{len(failed)} of {len(results)} clips could not be read; the others were predicted.", file=sys.stderr)
        return EXIT_SOME_FILES_FAILED
    return EXIT_OK


def _fail(message: str) -> int:
    """Print a usage-level error to stderr and return its exit code."""
    print(f"tacfn: error: {message}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
