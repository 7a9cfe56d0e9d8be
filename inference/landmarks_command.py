"""`tacfn landmarks VIDEO... --output DIR`: OpenFace-format landmark CSVs (`DIR/<stem>.csv`) of the face in every frame
of each video, made with the landmark model, so a data set of one's own videos can be prepared as RAVDESS is (its
FacialTracking CSVs have the same columns and names)."""

import sys
from pathlib import Path

from tqdm.auto import tqdm

from processing.landmark_csv_tacfn import write_landmark_csv


def write_landmark_csvs(videos: list[str], output: Path, quiet: bool = False) -> list[str]:
    """
    Write one landmark CSV per video into `output` (created when missing), with a progress bar.

    Args:
        videos (`list[str]`): The video files.
        output (`Path`): The folder of the CSVs.
        quiet (`bool`, *optional*, defaults to `False`): No progress bar.

    Returns:
        The error messages of the videos that could not be read (their CSVs are not written; the others are).
    """
    output.mkdir(parents=True, exist_ok=True)
    errors = []
    for video in tqdm(videos, unit="video", file=sys.stderr, disable=quiet):
        target = output / f"{Path(video).stem}.csv"
        try:
            counts = write_landmark_csv(video, target)
        except (ValueError, OSError) as error:
            errors.append(f"{video}: {error}")
            continue
        tqdm.write(f"{target}: {counts['tracked']} of {counts['frames']} frames with a face", file=sys.stdout)
    return errors
