"""Results of a batch prediction written as they finish, so that a killed run keeps what it wrote and a rerun skips
it: one JSON object per line (`.jsonl`) or one CSV row (`.csv`) per clip, flushed after each clip.

A record holds the clip (`file`), its predictions (`label_1`, `score_1`, ... in a CSV), the attention picture when one
was drawn, the error of a file that failed and the warnings it raised. On reopening, a last line cut off by the kill is
removed, and the clips with predictions count as done; clips that failed are tried again (their new record follows).
"""

import csv
import json
import os
from pathlib import Path


VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv")
RESULT_FORMATS = (".jsonl", ".csv")


def expand_videos(paths: list[str]) -> list[str]:
    """The clip files to predict: each path as given, a folder replaced by the video files under it (by suffix,
    `VIDEO_SUFFIXES`, in sorted order, subfolders included). A folder without any stays as it is, to be reported as a
    failure (not a file)."""
    videos = []
    for path in paths:
        if os.path.isdir(path):
            candidates = (found for found in Path(path).rglob("*") if found.suffix.lower() in VIDEO_SUFFIXES)
            videos.extend(sorted(str(found) for found in candidates if found.is_file()) or [path])
        else:
            videos.append(path)
    return videos


class ResultFile:
    """
    A results file opened for appending, one record per clip.

    Args:
        path (`str` or `os.PathLike`): A `.jsonl` or `.csv` file; created (with its folder) when missing.
        top_k (`int`): Labels per clip, the CSV's `label_i` / `score_i` columns.

    Raises `ValueError` for another suffix, or a CSV written with other columns (another `--top-k`).
    """

    def __init__(self, path: str | os.PathLike, top_k: int):
        self.path = Path(path)
        self.format = self.path.suffix.lower()
        if self.format not in RESULT_FORMATS:
            raise ValueError(f"results file {str(self.path)!r} must end in .jsonl (JSON lines) or .csv.")
        ranks = range(1, top_k + 1)
        self.columns = ["file", *(f"{key}_{rank}" for rank in ranks for key in ("label", "score"))]
        self.columns += ["modalities", "crop_source", "attention_picture", "error", "warnings"]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _drop_cut_off_line(self.path)
        self.done = self._read_done()
        self.handle = open(self.path, "a", encoding="utf-8", newline="", errors="surrogateescape")
        if self.format == ".csv":
            self.writer = csv.DictWriter(self.handle, self.columns)
            if self.handle.tell() == 0:
                self.writer.writeheader()

    def _read_done(self) -> set[str]:
        """The clips the file holds predictions for."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return set()
        with open(self.path, encoding="utf-8", newline="", errors="surrogateescape") as handle:
            if self.format == ".jsonl":
                return {record["file"] for record in self._records(handle) if "predictions" in record}
            reader = csv.DictReader(handle)
            if reader.fieldnames != self.columns:
                raise ValueError(
                    f"results file {str(self.path)!r} has the columns {reader.fieldnames}, not {self.columns}; "
                    "write to a new file (or use the --top-k it was written with)."
                )
            return {row["file"] for row in reader if not row["error"]}

    def _records(self, handle):
        """The JSON records of an open `.jsonl` file; `ValueError` naming the line that is not one."""
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"results file {str(self.path)!r}: line {number} is not JSON ({error}).") from error

    def write(self, record: dict) -> None:
        """Append one clip's record (the `tacfn predict --json` layout) and flush it to the file."""
        if self.format == ".jsonl":
            self.handle.write(json.dumps(record) + "\n")
        else:
            self.writer.writerow(self._row(record))
        self.handle.flush()

    def _row(self, record: dict) -> dict:
        """A record as a CSV row; line breaks in messages become spaces, so every row is one line."""
        row = {"file": record["file"], "attention_picture": record.get("attention_picture", "")}
        for rank, item in enumerate(record.get("predictions", []), start=1):
            row[f"label_{rank}"], row[f"score_{rank}"] = item["label"], f"{item['score']:.6f}"
        row["modalities"] = " ".join(record.get("modalities", []))
        row["crop_source"] = record.get("crop_source") or ""
        row["error"] = record.get("error", "")
        row["warnings"] = " | ".join(record.get("warnings", []))
        return {name: str(value).replace("\r", " ").replace("\n", " ") for name, value in row.items()}

    def close(self) -> None:
        self.handle.close()


def _drop_cut_off_line(path: Path, chunk_size: int = 1 << 16) -> None:
    """Remove a last line without its line break (a write cut off by a kill) from `path`, when it exists; only the
    file's tail is read."""
    if not path.exists():
        return
    with open(path, "rb+") as handle:
        end = position = handle.seek(0, os.SEEK_END)
        while position > 0:
            start = max(0, position - chunk_size)
            handle.seek(start)
            chunk = handle.read(position - start)
            if position == end and chunk.endswith(b"\n"):
                return
            if b"\n" in chunk:
                handle.truncate(start + chunk.rindex(b"\n") + 1)
                return
            position = start
        handle.truncate(0)
