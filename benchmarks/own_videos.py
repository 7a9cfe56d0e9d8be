"""Users' own videos: how well the landmark model's crop agrees with the box of the face's 68 points, how fast the
landmark path is on 720p, and a long recording predicted as a timeline against decoding it once per window.

- `crop_agreement_*`: the largest and the 90th-percentile distance of a crop box side from the box of the true 68
  points, in fractions of the face size, over the 30 sampled frames: on real photographed faces (scikit-image's
  astronaut portrait in six conditions, and matplotlib's Grace Hopper portrait; the 68 points found on the still photo)
  panned through a 720p H.264 clip, beside the predictor's own self-consistency on each still; and on rendered demo
  faces against the demo data's own landmark CSVs. Target: within 5%.
- `landmark_path_720p`: clips/s on one core of the landmark model alone (detection, two shape-predictor fits, smoothing)
  on 30 decoded 720p frames, and of the whole processor with it. Target: >= 3 clips/s per core for the landmark path.
- `timeline_*`: a 1080p recording (10 minutes by default, keyframe every second as phones record) cut into 3.5 s
  windows at a 3.5 s stride: the processor over every window (decoding by seeking) against the time the processor took
  before, when every window decoded the file from its start (measured on one window, times the windows); and one
  window's 30 frames decoded by seeking against a 3.5 s clip of its own (target <= 2x).

Run as `python -m benchmarks.own_videos [--quick] [--minutes M]` (`--quick`: a 1-minute recording).
"""

import argparse
import itertools
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import numpy as np

from benchmarks.preprocessing import pin_to_one_core
from benchmarks.report import report
from processing import TACFNFeatureExtractor, TACFNProcessor, TACFNVideoProcessor
from processing.face_landmarks_tacfn import detect_faces, fit_landmarks, landmark_model_available
from processing.frame_boxes_tacfn import face_boxes
from processing.media_io_tacfn import read_clip
from processing.media_writing import write_clip, write_long_clip
from tests import media
from training.data.demo import make_actor, write_demo_clip
from training.data.ravdess import RavdessName
from training.data.talking_faces import ClipFormat


FPS = 30.0
WINDOW = 3.5
CROP_TARGET = 0.05
LANDMARK_TARGET = 3.0
SEEK_TARGET = 2.0
# a keyframe every second, as phones record
LONG_ENCODER_OPTIONS = {"preset": "ultrafast", "crf": "23", "g": "30"}


def face_settings(processor: TACFNVideoProcessor) -> dict:
    """The settings `face_boxes` reads, from a processor."""
    names = ("do_face_crop", "face_box_source", "landmark_rows", "num_detection_frames", "detection_max_side")
    return {name: getattr(processor, name) for name in names}


def crop_errors(boxes: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Per frame, the largest distance of a box side from the expected box, in fractions of the mean face size."""
    face_size = (expected[:, 2:] - expected[:, :2]).mean()
    return np.abs(boxes - expected).max(axis=1) / face_size


def predictor_self_consistency(photo: np.ndarray) -> float:
    """The 90th percentile, over boxes moved by up to 5% of the face size and scaled by 0.95 to 1.05, of how far the
    shape predictor's 68-point box moves from its box in the detector's box, in fractions of the face size: how well a
    single fit on the still defines "the box of the face's 68 points" at all."""
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    box = detect_faces(gray, max(photo.shape))[0]
    reference = media.points_box(fit_landmarks(gray, box))
    face_size = (reference[2:] - reference[:2]).mean()
    centre, half = (box[:2] + box[2:]) / 2, (box[2:] - box[:2]) / 2
    shifts = (-0.05, -0.025, 0.0, 0.025, 0.05)
    errors = []
    for dx, dy, scale in itertools.product(shifts, shifts, (0.95, 1.0, 1.05)):
        moved_centre = centre + np.array([dx, dy]) * face_size
        moved = np.concatenate([moved_centre - half * scale, moved_centre + half * scale])
        errors.append(np.abs(media.points_box(fit_landmarks(gray, moved)) - reference).max() / face_size)
    return float(np.quantile(errors, 0.9))


def photo_pan_frames(photo: np.ndarray, height: int, width: int, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """`photo` pasted on a noisy canvas of (height, width), moving right 2 px a frame; the frames and the true 68
    points in each (the still's, moved with it), (num_frames, 68, 2)."""
    points = media.still_landmarks(photo)
    rng = np.random.default_rng(0)
    canvas = rng.integers(60, 140, (height, width, 3), dtype=np.uint8)
    top = (height - photo.shape[0]) // 2
    frames, truth = [], []
    for index in range(num_frames):
        left = width // 4 + 2 * index
        frame = canvas.copy()
        frame[top : top + photo.shape[0], left : left + photo.shape[1]] = photo
        frames.append(frame)
        truth.append(points + [left, top])
    return np.stack(frames), np.stack(truth)


def tilted(photo: np.ndarray, degrees: float) -> np.ndarray:
    """`photo` turned by `degrees` counter-clockwise about its centre (the edges mirrored in)."""
    height, width = photo.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(photo, turn, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def astronaut_conditions() -> dict[str, np.ndarray]:
    """The astronaut portrait as users' videos show faces: a face 90, 185 and 275 pixels wide, tilted both ways, dim."""
    face = media.astronaut_face(2.0)
    return {
        "face_90px": media.astronaut_face(1.0),
        "face_185px": face,
        "face_275px": media.astronaut_face(3.0),
        "tilted_10deg": tilted(face, 10),
        "tilted_-15deg": tilted(face, -15),
        "dim": (face * 0.4).round().astype(np.uint8),
    }


def real_face_agreement(folder: Path, processor: TACFNVideoProcessor, name: str, photo: np.ndarray) -> float:
    """The landmark model's crop boxes in a 720p H.264 pan of `photo` against the boxes of the still's 68 points:
    reports the largest and the 90th-percentile distance and the predictor's self-consistency; returns the largest."""
    frames, truth = photo_pan_frames(photo, 720, 1280, 90)
    path = write_clip(folder / f"{name}_pan.mp4", frames, FPS, media.speech_like_audio(3.0, 48000), 48000)
    clip = processor.load_clip(path)
    area = (0, 0, clip.info.width, clip.info.height)
    boxes, _ = face_boxes(clip.frames, clip.indices, FPS, area, None, face_settings(processor), str(path))
    errors = crop_errors(boxes, media.points_box(truth[clip.indices]))
    report(f"crop_agreement_{name}_720p_max", float(errors.max()), "of face size", CROP_TARGET, False)
    report(f"crop_agreement_{name}_720p_p90", float(np.quantile(errors, 0.9)), "of face size", CROP_TARGET, False)
    report(f"predictor_self_consistency_{name}_p90", predictor_self_consistency(photo), "of face size")
    return float(errors.max())


def demo_face_agreement(folder: Path, processor: TACFNVideoProcessor) -> None:
    """The landmark model's crop boxes on rendered demo clips (8 actors, both statements) against the boxes of the
    demo's own landmark CSVs: per clip the largest distance over its 30 frames; the median clip and the worst."""
    settings = face_settings(processor)
    worst_per_clip, no_face = [], 0
    demo_format = ClipFormat(frame_height=256, frame_width=256, zoom=2.0)
    for actor, statement in itertools.product(range(1, 9), range(2)):
        name = RavdessName(0, 0, 2 + actor % 6, 0, statement, 1, actor)
        demo = write_demo_clip(folder / f"demo_{actor}_{statement}.mp4", name, make_actor(actor, 1), 1, demo_format)
        clip = processor.load_clip(demo)
        area = (0, 0, clip.info.width, clip.info.height)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            boxes, source = face_boxes(clip.frames, clip.indices, clip.info.fps, area, None, settings, str(demo))
        if source != "landmark_model":
            no_face += 1
            continue
        csv = str(demo.with_suffix(".csv"))
        csv_boxes, _ = face_boxes(clip.frames, clip.indices, clip.info.fps, area, csv, settings, str(demo))
        worst_per_clip.append(crop_errors(boxes, csv_boxes).max())
    worst_per_clip = np.array(worst_per_clip)
    report("crop_agreement_demo_faces_median_clip_max", float(np.median(worst_per_clip)), "of face size", CROP_TARGET,
           False)  # fmt: skip
    report("crop_agreement_demo_faces_worst_clip_max", float(worst_per_clip.max()), "of face size", CROP_TARGET, False)
    report("crop_agreement_demo_faces_clips_within_target", float(np.mean(worst_per_clip <= CROP_TARGET)), "of clips")
    report("crop_agreement_demo_faces_no_face_found", float(no_face), f"of {len(worst_per_clip) + no_face} clips")


def crop_agreement(folder: Path, processor: TACFNVideoProcessor) -> None:
    """The landmark model's crop boxes against the true 68 points' boxes: two real faces at 720p (a frontal, evenly
    lit one in six conditions, and one the predictor itself fits unsteadily) and rendered demo faces."""
    worst = max(
        real_face_agreement(folder, processor, f"astronaut_{condition}", photo)
        for condition, photo in astronaut_conditions().items()
    )
    report("crop_agreement_astronaut_worst_condition_max", worst, "of face size", CROP_TARGET, False)
    real_face_agreement(folder, processor, "grace_hopper", media.photographed_face(1.0))
    demo_face_agreement(folder, processor)


def landmark_speed(folder: Path, processor: TACFNVideoProcessor, clips: int) -> None:
    """Clips/s on one core of the landmark path alone and of the whole processor, 720p, 30 frames."""
    frames, _ = photo_pan_frames(media.astronaut_face(2.0), 720, 1280, 90)
    audio = media.speech_like_audio(3.0, 48000)
    path = write_clip(folder / "speed.mp4", frames, FPS, audio, 48000, encoder_options={"preset": "medium"})
    clip = processor.load_clip(path)
    area = (0, 0, clip.info.width, clip.info.height)
    settings = face_settings(processor)
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(clips):
        face_boxes(clip.frames, clip.indices, FPS, area, None, settings, str(path))
    report("landmark_path_720p_one_core", clips / (time.perf_counter() - start), "clips/s", LANDMARK_TARGET)
    # per CPU second: what one core gives when other processes share it
    per_cpu_second = clips / (time.process_time() - cpu_start)
    report("landmark_path_720p_per_cpu_second", per_cpu_second, "clips/cpu-s", LANDMARK_TARGET)
    full = TACFNProcessor(TACFNFeatureExtractor(), processor)
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(clips):
        full(videos=str(path))
    report("preprocess_720p_landmark_model_one_core", clips / (time.perf_counter() - start), "clips/s")
    report("preprocess_720p_landmark_model_per_cpu_second", clips / (time.process_time() - cpu_start), "clips/cpu-s")


def long_recording(folder: Path, minutes: float, processor: TACFNVideoProcessor) -> None:
    """The timeline over a 1080p recording against decoding it from the start for every window."""
    num_frames = int(minutes * 60 * FPS)
    photo = media.photographed_face(1.0)
    rng = np.random.default_rng(0)
    canvas = rng.integers(60, 140, (1080, 1920, 3), dtype=np.uint8)

    def make_frame(index: int) -> np.ndarray:
        frame = np.roll(canvas, index % 97, axis=1)
        left = 600 + int(200 * np.sin(index / 90))
        frame[240 : 240 + photo.shape[0], left : left + photo.shape[1]] = photo
        return frame

    speech = media.speech_like_audio(10.0, 48000)
    audio = np.tile(speech, (1, int(np.ceil(minutes * 6))))[:, : int(minutes * 60 * 48000)]
    start = time.perf_counter()
    path = write_long_clip(folder / "long.mp4", make_frame, num_frames, FPS, audio, 48000, LONG_ENCODER_OPTIONS)
    report("timeline_recording_written", time.perf_counter() - start, f"s for {minutes:g} min of 1080p")
    short = write_long_clip(folder / "short.mp4", make_frame, int(WINDOW * FPS), FPS, audio[:, : int(WINDOW * 48000)],
                            48000, LONG_ENCODER_OPTIONS)  # fmt: skip
    full = TACFNProcessor(TACFNFeatureExtractor(), processor)
    windows = full.timeline_windows(path, WINDOW, WINDOW)

    # before: a window was predicted by decoding from the file's start up to its frames (the last window: the whole
    # file), so the cost of the timeline was about the windows times half a whole-file decode; measured on the last one
    start = time.perf_counter()
    last_window = int(WINDOW * FPS)
    read_clip(str(path), lambda info: np.linspace(info.num_frames - last_window, info.num_frames - 1, 30).astype(int))
    whole_decode = time.perf_counter() - start
    report("timeline_decode_whole_file_once", whole_decode, "s")
    report("timeline_decode_from_start_per_window_estimate", whole_decode * len(windows), "s")

    start = time.perf_counter()
    for window_start, window_end in windows:
        full(videos=str(path), video_start=window_start, video_end=window_end)
    timeline = time.perf_counter() - start
    report(f"timeline_processor_{len(windows)}_windows", timeline, "s", whole_decode * len(windows), False)

    middle = windows[len(windows) // 2]
    times = middle[0] + np.arange(30) * WINDOW / 30
    start = time.perf_counter()
    read_clip(str(path), times=times)
    seeking = time.perf_counter() - start
    start = time.perf_counter()
    read_clip(str(short), lambda info: np.arange(30) * info.num_frames // 30)
    clip = time.perf_counter() - start
    report("timeline_window_seek_vs_3.5s_clip", seeking / clip, "x", SEEK_TARGET, higher_is_better=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.own_videos", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 1-minute recording and fewer repetitions")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the long recording (default: 10)")
    args = parser.parse_args(argv)
    if not landmark_model_available():
        raise SystemExit("the landmark model is not installed: pip install 'tacfn[faces]'")
    pin_to_one_core()
    processor = TACFNVideoProcessor()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        crop_agreement(folder, processor)
        landmark_speed(folder, processor, clips=3 if args.quick else 10)
        long_recording(folder, 1.0 if args.quick else args.minutes, processor)


if __name__ == "__main__":
    main()
