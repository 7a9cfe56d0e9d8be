"""The `tacfn` command.

    tacfn predict VIDEO|FOLDER... --model DIR [--top-k 3] [--json] [--output results.jsonl|results.csv]
                                  [--heatmap DIR] [--landmarks-dir DIR] [--batch-size 4] [--num-workers 2]
                                  [--dtype bfloat16]
    tacfn predict VIDEO... --model DIR --window 3.5 [--stride 3.5] [--plot] [--timeline-dir DIR]
    tacfn landmarks VIDEO... --output DIR
    tacfn demo --model DIR [--host 127.0.0.1] [--port 7860] [--max-upload-mb 50] [--max-seconds 120] [--max-queue 16]

`predict` prints a table (or, with `--json`, one JSON object per line) with the top emotions of every clip, and which
modalities each prediction used (a fused model answers an audio file, or a video without an audio track, from the one
modality it has; the table notes "from audio only" / "from video only"); files that cannot be read are reported and
skipped, the others are still predicted, and the exit code is then 1; a summary of the failures ends the run. A folder stands for the video files under it. `--output FILE` writes every clip's result to FILE
as it finishes (JSON lines or CSV rows), and a rerun with the same FILE skips the clips it already holds predictions
for, so a killed run loses nothing it finished. `--heatmap DIR` writes the attention picture (the fusion weights over
the face frames) of every clip to DIR. `--landmarks-dir DIR` crops faces by the OpenFace landmark CSV of each clip (same
stem, as RAVDESS's FacialTracking files) instead of the face detector. Each clip's crop source (csv, landmark_model,
detector, centre) is shown. On the CPU the model runs with its batch norms folded into its convolutions and
`channels_last_3d` weights (exact); `--dtype bfloat16` adds bf16 autocast. `--window SECONDS` predicts every window of a
long recording instead (`--stride`, default the window), writing `<stem>_timeline.csv` / `.json` (and with `--plot` a
picture) to `--timeline-dir`. `landmarks` writes OpenFace-format landmark CSVs made with the landmark model. `demo`
serves the web demo (Gradio) on this machine, with limits on the upload size, the clip length and the queue of waiting
requests.
"""

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from tqdm.auto import tqdm

from .attention_picture import plot_attention_picture
from .batch_prediction import ClipPrediction, predict_files
from .batch_results import ResultFile, expand_videos
from .demo_limits import MAX_CLIP_SECONDS, MAX_QUEUE_SIZE, MAX_UPLOAD_MB
from .landmarks_command import write_landmark_csvs
from .model_folder import load_classifier
from .timeline_command import run_timelines


EXIT_OK = 0
EXIT_SOME_FILES_FAILED = 1
EXIT_USAGE = 2
DTYPES = ("float32", "bfloat16")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `tacfn` and its sub-commands."""
    parser = argparse.ArgumentParser(
        prog="tacfn", description="Emotion recognition from talking-face clips with a trained TACFN model."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    predict = commands.add_parser("predict", help="predict the emotion of video clips")
    predict.add_argument(
        "videos",
        nargs="+",
        metavar="VIDEO",
        help="video or audio files (mp4, avi, mov, mkv, wav, mp3, m4a, ...) or folders of video files",
    )
    predict.add_argument("--model", required=True, help="model folder (or Hub repository id) with its processor")
    predict.add_argument("--top-k", type=int, default=3, help="emotions shown per clip (default: 3)")
    predict.add_argument("--json", action="store_true", help="print one JSON object per clip instead of a table")
    predict.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="write each result to FILE (.jsonl or .csv) as it finishes; a rerun skips the clips FILE has results for",
    )
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
        "--dtype", choices=DTYPES, default="float32", help="bfloat16: bf16 autocast, faster, logits within about 0.01"
    )
    predict.add_argument(
        "--allow-silent",
        action="store_true",
        help="give clips without an audio track silence instead of answering from the video alone (or failing)",
    )
    predict.add_argument("--quiet", action="store_true", help="no progress bar")
    predict.add_argument("--window", type=float, metavar="SECONDS", help="predict every window of a long recording")
    predict.add_argument("--stride", type=float, metavar="SECONDS", help="seconds between windows (default: --window)")
    predict.add_argument("--plot", action="store_true", help="with --window: also draw the timeline as a PNG")
    predict.add_argument(
        "--timeline-dir", type=Path, default=Path("."), metavar="DIR", help="where timelines go (default: .)"
    )

    landmarks = commands.add_parser("landmarks", help="write OpenFace-format landmark CSVs of videos")
    landmarks.add_argument("videos", nargs="+", metavar="VIDEO", help="video files (mp4, avi, mov, mkv, ...)")
    landmarks.add_argument("--output", type=Path, required=True, metavar="DIR", help="folder for the CSVs")
    landmarks.add_argument("--quiet", action="store_true", help="no progress bar")

    demo = commands.add_parser("demo", help="serve the web demo for a model on this machine")
    demo.add_argument("--model", required=True, help="model folder (or Hub repository id) with its processor")
    demo.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine)")
    demo.add_argument("--port", type=int, default=7860, help="port to listen on (default: 7860)")
    demo.add_argument("--device", help="cpu, cuda, ... (default: the first GPU if any, else the CPU)")
    demo.add_argument(
        "--max-upload-mb", type=float, default=MAX_UPLOAD_MB, help=f"largest upload in MB (default: {MAX_UPLOAD_MB:g})"
    )
    demo.add_argument(
        "--max-seconds", type=float, default=MAX_CLIP_SECONDS, help=f"longest recording (default: {MAX_CLIP_SECONDS:g} s)"
    )
    demo.add_argument(
        "--max-queue", type=int, default=MAX_QUEUE_SIZE, help=f"requests that may wait (default: {MAX_QUEUE_SIZE})"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tacfn` console script; returns the exit code."""
    # file names that are not valid UTF-8 (kept by Python as surrogates) are printed escaped instead of crashing
    sys.stdout.reconfigure(errors="backslashreplace")
    sys.stderr.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    if args.command == "predict":
        return predict_command(args)
    if args.command == "landmarks":
        return _report_errors(write_landmark_csvs(args.videos, args.output, quiet=args.quiet), len(args.videos))
    return demo_command(args)


def predict_command(args: argparse.Namespace) -> int:
    """`tacfn predict`: predict every clip, print the results, write attention pictures; returns the exit code."""
    if args.top_k < 1 or args.batch_size < 1 or args.num_workers < 0:
        return _fail("--top-k and --batch-size must be at least 1 and --num-workers at least 0.")
    if args.landmarks_dir is not None and not args.landmarks_dir.is_dir():
        return _fail(f"--landmarks-dir {str(args.landmarks_dir)!r} is not a folder.")
    try:
        classifier = load_classifier(args.model, device=args.device, dtype=args.dtype)
    except ValueError as error:
        return _fail(str(error))
    if args.heatmap is not None:
        if classifier.model.config.modality != "both":
            return _fail(
                f"--heatmap needs the fused model; {args.model!r} is {classifier.model.config.modality!r} only."
            )
        args.heatmap.mkdir(parents=True, exist_ok=True)
    if args.window is not None:
        if args.window <= 0 or (args.stride is not None and args.stride <= 0):
            return _fail("--window and --stride must be positive numbers of seconds.")
        return _report_errors(run_timelines(classifier, args), len(args.videos))
    try:
        results_file = ResultFile(args.output, args.top_k) if args.output is not None else None
    except ValueError as error:
        return _fail(str(error))
    videos = expand_videos(args.videos)
    done = results_file.done if results_file is not None else set()
    # picture names come from every clip, so that a resumed run names them as the first run did
    todo = [(video, name) for video, name in zip(videos, _picture_names(videos)) if video not in done]
    try:
        return _predict_and_report(args, classifier, todo, results_file, skipped=len(videos) - len(todo))
    finally:
        if results_file is not None:
            results_file.close()


def _predict_and_report(args, classifier, todo: list[tuple], results_file, skipped: int) -> int:
    """Predict the clips of `todo` (`(clip, picture name)` pairs), writing each result as it comes (to stdout with
    `--json`, to `results_file`) and printing its warnings; the table (without `--json` and `--output`) and the failure
    summary at the end; returns the exit code. Only the table's rows and the failures are kept, not the clips' frames
    or fusion weights."""
    videos = [video for video, _ in todo]
    rows, failures = [], []
    keep_rows = not args.json and results_file is None
    progress = tqdm(total=len(videos), unit="clip", file=sys.stderr, disable=args.quiet or len(videos) < 2)
    predictions = predict_files(
        classifier,
        videos,
        landmarks=_landmark_files(videos, args.landmarks_dir),
        top_k=args.top_k,
        return_fusion_weights=args.heatmap is not None,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        require_audio=not args.allow_silent,
    )
    for result, (_, picture_name) in zip(predictions, todo):
        picture = None
        if args.heatmap is not None and result.error is None and result.fusion_weights is not None:
            picture = _write_picture(result, args.heatmap / picture_name)
        record = _json_record(result, picture)
        if results_file is not None:
            results_file.write(record)
        if args.json:
            progress.clear()
            print(json.dumps(record), flush=True)
        for message in result.warnings:
            tqdm.write(f"warning: {result.path}: {message}", file=sys.stderr)
        if result.error is not None:
            failures.append((result.path, result.error))
        if keep_rows:
            kept = ClipPrediction(result.path, result.predictions, error=result.error, crop_source=result.crop_source)
            rows.append((kept, picture))
        progress.update()
    progress.close()

    if keep_rows:
        print(format_table(rows, args.top_k))
    if skipped:
        print(f"{skipped} clips already in {str(results_file.path)!r} were skipped.", file=sys.stderr)
    return _report_failures(failures, len(videos))


def demo_command(args: argparse.Namespace) -> int:
    """`tacfn demo`: serve the web demo until interrupted; returns the exit code."""
    try:
        from .web_demo import launch_demo
    except ImportError as error:
        return _fail(f"the web demo needs Gradio (pip install 'tacfn[demo]'): {error}")
    try:
        launch_demo(
            args.model,
            host=args.host,
            port=args.port,
            device=args.device,
            max_upload_mb=args.max_upload_mb,
            max_seconds=args.max_seconds,
            max_queue_size=args.max_queue,
        )
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
            crop = f"crop: {result.crop_source}" if result.crop_source else ""
            notes = [crop, f"picture: {picture}" if picture else "", modalities_note(result.predictions)]
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
        record["crop_source"] = result.crop_source
        if picture is not None:
            record["attention_picture"] = picture
    if result.warnings:
        record["warnings"] = result.warnings
    return record


def _report_failures(failures: list[tuple[str, str]], num_clips: int) -> int:
    """Print the failed clips and why to stderr; exit code 1 when any failed, else 0."""
    for path, error in failures:
        print(f"error: {path}: {error}", file=sys.stderr)
    if failures:
        print(f"{len(failures)} of {num_clips} clips could not be read; the others were predicted.", file=sys.stderr)
        return EXIT_SOME_FILES_FAILED
    return EXIT_OK


def _report_errors(errors: list[str], total: int) -> int:
    """Print the errors of the files that failed; exit code 1 when any did, else 0."""
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    if errors:
        print(f"{len(errors)} of {total} files could not be read; the others were done.", file=sys.stderr)
        return EXIT_SOME_FILES_FAILED
    return EXIT_OK


def _fail(message: str) -> int:
    """Print a usage-level error to stderr and return its exit code."""
    print(f"tacfn: error: {message}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
