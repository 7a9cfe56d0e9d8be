"""One prepared row -> the processor's inputs for that clip, shared by on-the-fly training and the clip store: which
data set rows to read (a data set root or a folder a preparation command saved) and how the processor is called on a
RAVDESS-format clip or an IEMOCAP utterance."""

from pathlib import Path

from datasets import Dataset, load_from_disk

from processing import TACFNProcessor

from . import iemocap, ravdess


def is_saved_dataset(root: Path) -> bool:
    """Whether `root` is a folder that `Dataset.save_to_disk` (or `DatasetDict.save_to_disk`) wrote."""
    return (root / "dataset_info.json").is_file() or (root / "dataset_dict.json").is_file()


def load_rows(dataset: str, root: Path, landmarks_dir: str | None = None) -> Dataset:
    """Every prepared row of `dataset` (`ravdess`, `iemocap`, `demo`) under `root`: a saved preparation is loaded, a
    data set root is prepared (see `training.data.ravdess` and `training.data.iemocap`)."""
    if is_saved_dataset(root):
        return load_from_disk(root)
    if dataset == "iemocap":
        return iemocap.prepare_iemocap(root)[0]
    return ravdess.prepare_ravdess(root, landmarks_dir=landmarks_dir)[0]


def clip_key(row: dict) -> str:
    """The name of a row's clip that seeds its augmentation: the video path of a RAVDESS-format clip, the utterance of
    an IEMOCAP row."""
    return row.get("path") or row["utterance"]


def clip_inputs(processor: TACFNProcessor, dataset: str, row: dict, **settings) -> dict:
    """The model inputs of one row, each of batch size 1: a RAVDESS-format clip's frames and its own audio track, or an
    IEMOCAP utterance's speaker half of the dialog video during the utterance and the utterance wav. `settings` go to
    the processor for this call (e.g. `do_augment=True`)."""
    if dataset == "iemocap":
        return processor(**iemocap.processor_inputs(row), return_tensors="pt", **settings)
    return processor(videos=row["path"], landmarks=row["landmarks"], return_tensors="pt", **settings)
