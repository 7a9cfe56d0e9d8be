"""OpenFace-format landmark CSVs for any video, made with the landmark model (`face_landmarks_tacfn`): every frame of
the video, as displayed (turned as its display matrix says), in the columns the processor and the RAVDESS / IEMOCAP
preparation read (`frame, face_id, timestamp, confidence, success, x_0..x_67, y_0..y_67`)."""

import numpy as np

from .face_landmarks_tacfn import landmark_model_available, track_face_landmarks
from .media_io_tacfn import LANDMARK_COLUMNS, NUM_LANDMARKS, describe_media, open_media, read_clip
from .media_writing import write_openface_csv


# the columns `write_landmark_csv` writes, in OpenFace's order
LANDMARK_CSV_COLUMNS = ("frame", "face_id", "timestamp", "confidence", "success", *LANDMARK_COLUMNS)
# seconds of video decoded and tracked at a time; the face of one stretch is followed into the next
CHUNK_SECONDS = 3.0
# the face detector runs this often (seconds) while the face is followed
DETECTION_INTERVAL_SECONDS = 0.5


def write_landmark_csv(video, output, detection_max_side: int = 640) -> dict:
    """
    Write the 68 landmarks of the face in every frame of a video as an OpenFace CSV.

    Frames are decoded `CHUNK_SECONDS` at a time (by seeking), the detector runs every `DETECTION_INTERVAL_SECONDS`,
    and each stretch follows the face of the one before (see `track_face_landmarks`). `success` is 1 where the frame
    has landmarks, `confidence` repeats it (dlib gives no confidence per frame); a stretch without a face has rows of
    zeros with `success` 0, which the processor skips.

    Args:
        video (`str` or `os.PathLike`): The video file.
        output (`str` or `os.PathLike`): The CSV to write.
        detection_max_side (`int`, *optional*, defaults to 640): Frames are scaled to at most this many pixels on their
            longer side for the detector.

    Returns:
        `dict` with `frames` (rows written) and `tracked` (rows with `success` 1). Raises `ValueError` naming the file
        when it cannot be read, or when the landmark model is not installed.
    """
    if not landmark_model_available():
        raise ValueError("writing landmark CSVs needs the landmark model: pip install 'tacfn[faces]'.")
    with open_media(video, "video") as (path, container):
        if not container.streams.video:
            raise ValueError(f"video file {path!r} has no video stream (is it an audio file?).")
        info = describe_media(path, container, "video")
    if not info.fps:
        raise ValueError(f"video file {path!r} states no frame rate; its frames cannot be timed.")
    frames_per_chunk = max(1, int(CHUNK_SECONDS * info.fps))
    points = np.zeros((info.num_frames, NUM_LANDMARKS, 2), dtype=np.float32)
    success = np.zeros(info.num_frames, dtype=bool)
    follow = None
    for first in range(0, info.num_frames, frames_per_chunk):
        indices = np.arange(first, min(first + frames_per_chunk, info.num_frames))
        # a quarter frame into each frame's display time: the frame itself, whatever the rounding of its timestamp
        times = (indices + 0.25) / info.fps
        clip = read_clip(path, times=times)
        detections = max(2, int(round(len(indices) / info.fps / DETECTION_INTERVAL_SECONDS)) + 1)
        face = track_face_landmarks(clip.frames, times, detections, detection_max_side, follow)
        if face is None:
            follow = None
            continue
        points[indices], success[indices] = face.points, face.success
        tracked = face.points[face.success]
        follow = np.concatenate([tracked[-1].min(axis=0), tracked[-1].max(axis=0)]) if len(tracked) else None
    confidence = success.astype(np.float64)
    write_openface_csv(
        output, points, info.fps, {"success": confidence, "confidence": confidence}, header=LANDMARK_CSV_COLUMNS
    )
    return {"frames": int(info.num_frames), "tracked": int(success.sum())}
