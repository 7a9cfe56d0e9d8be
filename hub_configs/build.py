"""Generate the ready-to-publish configuration folders `hub_configs/tacfn-ravdess/` (the published RAVDESS setting),
`hub_configs/tacfn-iemocap/` (the IEMOCAP 4-class setting) and `hub_configs/tacfn-ravdess-wav2vec2-videomae/` (the
fusion over wav2vec2-base and VideoMAE-base, for RAVDESS) from the code: `config.json` and
`processor_config.json` exactly as `save_pretrained` writes them for the presets of `hub_configs/presets.py`, and the
model card `README.md`.

    python -m hub_configs.build            # (re)write both folders
    python -m hub_configs.build --check    # exit status 1, naming the stale files, when a folder is out of date
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from modeling_tacfn.modeling_tacfn import AUTO_MAP
from .presets import model_config, processor_for

from .cards import build_model_card
from .datasets import DATASETS


HUB_CONFIGS_DIR = Path(__file__).resolve().parent
# folder name -> the preset of `hub_configs/presets.py` (also the data set) it is generated from
HUB_CONFIGS = {
    "tacfn-ravdess": "ravdess",
    "tacfn-iemocap": "iemocap",
    "tacfn-ravdess-wav2vec2-videomae": "wav2vec2-videomae",
}
# the data set of a preset that is not named after one
DATASET_OF_PRESET = {"wav2vec2-videomae": "ravdess"}
SAVED_FILES = ("config.json", "processor_config.json")
# written by `save_pretrained` from the installed library, not from this project's code; ignored by `--check`
LIBRARY_VERSION_KEYS = ("transformers_version",)


def generated_files(name: str) -> dict[str, str]:
    """
    The files of one configuration folder, file name -> text.

    Args:
        name: A key of `HUB_CONFIGS` (`"tacfn-ravdess"` or `"tacfn-iemocap"`), also the repo id the card's usage
            code loads.
    """
    preset = HUB_CONFIGS[name]
    config = model_config(preset)
    # the complete map that a model's `save_pretrained` writes, so the config fits the weights and code saved with it
    config.auto_map = dict(AUTO_MAP)
    processor = processor_for(config)
    with tempfile.TemporaryDirectory(prefix="tacfn-hub-config-") as scratch:
        config.save_pretrained(scratch)
        processor.save_pretrained(scratch)
        files = {file_name: (Path(scratch) / file_name).read_text(encoding="utf-8") for file_name in SAVED_FILES}
    facts = DATASETS[DATASET_OF_PRESET.get(preset, preset)]
    card = build_model_card(config, processor, name, facts, has_weights=False, preset=preset)
    files["README.md"] = str(card)
    return files


def write_folder(name: str, root: Path) -> Path:
    """
    Writes one configuration folder under `root`, replacing its generated files, and returns the folder.

    Args:
        name: A key of `HUB_CONFIGS`.
        root: The folder that holds the configuration folders.
    """
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, text in generated_files(name).items():
        (folder / file_name).write_text(text, encoding="utf-8")
    return folder


def comparable(file_name: str, text: str) -> object:
    """What `--check` compares: JSON files as parsed objects without the library version, other files as text."""
    if not file_name.endswith(".json"):
        return text
    try:
        content = json.loads(text)
    except json.JSONDecodeError:
        return text
    if isinstance(content, dict):
        for key in LIBRARY_VERSION_KEYS:
            content.pop(key, None)
    return content


def stale_files(name: str, root: Path) -> list[Path]:
    """
    The files of one configuration folder under `root` that are missing or differ from what the code generates now.

    Args:
        name: A key of `HUB_CONFIGS`.
        root: The folder that holds the configuration folders.
    """
    stale = []
    for file_name, expected in generated_files(name).items():
        path = root / name / file_name
        if not path.is_file():
            stale.append(path)
            continue
        written = path.read_text(encoding="utf-8")
        if comparable(file_name, written) != comparable(file_name, expected):
            stale.append(path)
    return stale


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (1 when `--check` finds stale files)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--check", action="store_true", help="compare the folders with what the code generates; write nothing"
    )
    parser.add_argument(
        "--output-dir", type=Path, default=HUB_CONFIGS_DIR, help="where the folders are (default: hub_configs/)"
    )
    args = parser.parse_args(argv)
    if args.check:
        stale = [path for name in HUB_CONFIGS for path in stale_files(name, args.output_dir)]
        for path in stale:
            print(f"out of date: {path}")
        if stale:
            print("run `python -m hub_configs.build` to regenerate them.")
            return 1
        print(f"{', '.join(HUB_CONFIGS)} are up to date.")
        return 0
    for name in HUB_CONFIGS:
        print(f"wrote {write_folder(name, args.output_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
