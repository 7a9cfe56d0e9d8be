"""Publish a trained TACFN model folder on the Hugging Face Hub: the weights, the configuration, the processor, the
code files that `trust_remote_code=True` loads, the results training wrote, the pictures, and a model card generated
from all of them.

    python -m hub_configs.publish OUTPUT_DIR REPO_ID [--private] [--create-pr] [--dry-run]

`OUTPUT_DIR` is what `training/train.py` (or the converter) wrote. `--dry-run` prints the exact file list and card and
touches no network. `training/train.py --push_to_hub` ends in `publish()`.

The upload is one `HfApi.create_commit` whose `CommitOperationAdd`s read the files straight from `OUTPUT_DIR` (the card
from memory). Files other than those (checkpoints, `training_args.bin`, logs) are not uploaded; the dry run lists them.
"""

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import CommitOperationAdd, HfApi, ModelCard, constants
from huggingface_hub.errors import HFValidationError, OfflineModeIsEnabled
from huggingface_hub.utils import validate_repo_id
from transformers.dynamic_module_utils import get_relative_import_files

from .cards import CROSS_VALIDATION_FILE, EVAL_RESULTS_FILE, folder_pictures, model_card_for_folder


CONFIG_FILE = "config.json"
PROCESSOR_FILE = "processor_config.json"
SINGLE_WEIGHTS_FILE = "model.safetensors"
SHARDED_WEIGHTS_INDEX = "model.safetensors.index.json"
PICKLED_WEIGHTS_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json")
CARD_FILE = "README.md"


@dataclass(frozen=True)
class UploadPlan:
    """
    What publishing a model folder uploads.

    Args:
        output_dir: The model folder.
        repo_id: The repository the card's usage code names (and the upload goes to).
        files: Names of the files of `output_dir` uploaded as they are, sorted.
        left_out: Names of the other entries of `output_dir` (folders end in `/`), which are not uploaded.
        card: The generated model card, uploaded as `README.md`.
    """

    output_dir: Path
    repo_id: str
    files: list[str]
    left_out: list[str]
    card: ModelCard

    def operations(self) -> list[CommitOperationAdd]:
        """The commit: the card as `README.md`, then each planned file read straight from the output folder."""
        card = CommitOperationAdd(path_in_repo=CARD_FILE, path_or_fileobj=str(self.card).encode("utf-8"))
        files = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=self.output_dir / name) for name in self.files]
        return [card, *files]

    def describe(self) -> str:
        """The file list with sizes, the generated card first, then what is left out."""
        card_size = len(str(self.card).encode("utf-8"))
        lines = [f"{len(self.files) + 1} files from {self.output_dir} for {self.repo_id}:"]
        lines.append(f"  {CARD_FILE:<40} {card_size:>12,} bytes (generated model card)")
        for name in self.files:
            lines.append(f"  {name:<40} {(self.output_dir / name).stat().st_size:>12,} bytes")
        if self.left_out:
            lines.append(f"not uploaded: {', '.join(self.left_out)}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------------
# What a model folder uploads
# ---------------------------------------------------------------------------------------------------------------------


def weight_files(folder: Path) -> list[str]:
    """
    The safetensors weight files of a model folder: `model.safetensors`, or a sharded index with every shard it names.

    Args:
        folder: The model folder.

    Raises:
        ValueError: The folder has no safetensors weights, only pickled ones, or a shard named in the index is missing.
    """
    if (folder / SINGLE_WEIGHTS_FILE).is_file():
        return [SINGLE_WEIGHTS_FILE]
    if (folder / SHARDED_WEIGHTS_INDEX).is_file():
        index = json.loads((folder / SHARDED_WEIGHTS_INDEX).read_text(encoding="utf-8"))
        shards = sorted(set(index["weight_map"].values()))
        missing = [shard for shard in shards if not (folder / shard).is_file()]
        if missing:
            raise ValueError(f"{folder / SHARDED_WEIGHTS_INDEX} names shards that are missing: {', '.join(missing)}.")
        return [SHARDED_WEIGHTS_INDEX, *shards]
    if any((folder / name).is_file() for name in PICKLED_WEIGHTS_FILES):
        raise ValueError(
            f"{folder} holds pickled weights only; publish safetensors (save with `save_pretrained`, the default)."
        )
    raise ValueError(
        f"{folder} has no {SINGLE_WEIGHTS_FILE}: it is not a trained model folder (the hub_configs/ folders hold the "
        "configuration only; train or convert a model first)."
    )


def named_code_files(configs: list[dict]) -> set[str]:
    """
    The code files that saved configurations name for remote-code loading: the modules of their `auto_map` classes
    and of their `custom_pipelines` implementations (code in other repositories, `"repo--module.Class"`, aside).

    Args:
        configs: The content of the folder's `config.json` and `processor_config.json`.
    """
    references = [reference for content in configs for reference in content.get("auto_map", {}).values()]
    references += [task["impl"] for content in configs for task in content.get("custom_pipelines", {}).values()]
    return {f"{reference.rsplit('.', 1)[0]}.py" for reference in references if "--" not in reference}


def code_files(folder: Path, configs: list[dict]) -> list[str]:
    """
    The code files that remote-code loading of the folder imports: those its configurations name and, through
    Transformers' `get_relative_import_files`, everything they import relatively.

    Args:
        folder: The model folder.
        configs: The content of its `config.json` and `processor_config.json`.

    Raises:
        ValueError: A needed code file is not in the folder.
    """
    named = named_code_files(configs)
    missing = sorted(name for name in named if not (folder / name).is_file())
    if missing:
        raise ValueError(
            f"{folder} lacks the code files {', '.join(missing)} that its configuration names; save the model and "
            "processor with `save_pretrained` after importing `modeling_tacfn` and `processing`."
        )
    files = set(named)
    for name in sorted(named):
        try:
            files.update(Path(path).name for path in get_relative_import_files(folder / name))
        except FileNotFoundError as error:
            missing = Path(error.filename).name
            raise ValueError(f"{folder} lacks the code files {missing} that its code files import.") from None
    return sorted(files)


def check_repo_id(repo_id: str) -> None:
    """Raises ValueError for a repository id that the Hub would refuse."""
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise ValueError(f"invalid repository id {repo_id!r}: {error}") from None


def plan_upload(output_dir: str | os.PathLike, repo_id: str) -> UploadPlan:
    """
    Works out what publishing `output_dir` to `repo_id` uploads, reading the folder only (no network).

    Args:
        output_dir: A model folder written by `training/train.py`, `training.cross_validate` or the converter.
        repo_id: The repository id; the generated card's usage code loads it.

    Returns:
        The [`UploadPlan`].

    Raises:
        ValueError: The folder is not a complete model folder (configuration, processor, safetensors weights and the
            code files its `auto_map`s name), its results are malformed, or the repository id is invalid.
    """
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        raise ValueError(f"{output_dir} is not a folder.")
    check_repo_id(repo_id)
    for name in (CONFIG_FILE, PROCESSOR_FILE):
        if not (output_dir / name).is_file():
            raise ValueError(f"{output_dir / name} is missing.")
    card = model_card_for_folder(output_dir, repo_id)
    configs = [json.loads((output_dir / name).read_text(encoding="utf-8")) for name in (CONFIG_FILE, PROCESSOR_FILE)]
    results = [name for name in (EVAL_RESULTS_FILE, CROSS_VALIDATION_FILE) if (output_dir / name).is_file()]
    files = sorted(
        {
            CONFIG_FILE,
            PROCESSOR_FILE,
            *weight_files(output_dir),
            *code_files(output_dir, configs),
            *results,
            *folder_pictures(output_dir),
        }
    )
    left_out = sorted(
        entry.name + ("/" if entry.is_dir() else "") for entry in output_dir.iterdir() if entry.name not in files
    )
    return UploadPlan(output_dir, repo_id, files, left_out, card)


# ---------------------------------------------------------------------------------------------------------------------
# Publishing
# ---------------------------------------------------------------------------------------------------------------------


def commit_message(plan: UploadPlan) -> str:
    """A commit message that says what is uploaded."""
    results = [name for name in (EVAL_RESULTS_FILE, CROSS_VALIDATION_FILE) if name in plan.files]
    suffix = f" with {' and '.join(results)}" if results else ""
    return f"Upload TACFN model, processor, code and card{suffix}"


def publish(
    output_dir: str | os.PathLike,
    repo_id: str | None = None,
    private: bool | None = False,
    create_pr: bool = False,
    dry_run: bool = False,
    token: str | None = None,
) -> str | None:
    """
    Publishes a trained model folder on the Hub: creates the repository if needed and uploads the model, processor,
    code files, results, pictures and a generated model card in one commit.

    Args:
        output_dir: The model folder (`--output_dir` of `training/train.py`, or the converter's `--output`).
        repo_id: `"namespace/name"`, or a name alone for the token owner's namespace; defaults to the folder's name,
            as the Trainer does.
        private: Create the repository private (an existing repository keeps its visibility); None uses the
            namespace's default.
        create_pr: Open a pull request with the upload instead of committing to `main`.
        dry_run: Print the exact file list and card, touch no network and upload nothing.
        token: A Hugging Face token; defaults to the logged-in one (`hf auth login` or `HF_TOKEN`).

    Returns:
        The URL of the commit (or of the pull request), or None for a dry run.

    Raises:
        ValueError: The folder is not a complete model folder, its results are malformed, or `repo_id` is invalid.
        OfflineModeIsEnabled: `HF_HUB_OFFLINE` is set and this is not a dry run.
    """
    repo_id = repo_id or Path(output_dir).resolve().name
    plan = plan_upload(output_dir, repo_id)
    if dry_run:
        print(plan.describe())
        if "/" not in repo_id:
            print(f"(a real upload goes to <token owner>/{repo_id}, and its card names that full id)")
        print(f"----- {CARD_FILE} -----")
        print(plan.card)
        return None
    if constants.HF_HUB_OFFLINE:
        raise OfflineModeIsEnabled(
            f"HF_HUB_OFFLINE is set: cannot publish {output_dir} to {repo_id}; --dry-run shows what would be uploaded."
        )
    api = HfApi(token=token)
    full_repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
    if full_repo_id != repo_id:
        plan = plan_upload(output_dir, full_repo_id)
    commit = api.create_commit(
        repo_id=full_repo_id,
        operations=plan.operations(),
        commit_message=commit_message(plan),
        create_pr=create_pr,
    )
    url = commit.pr_url if create_pr else commit.commit_url
    print(f"published {output_dir} to {full_repo_id}: {url}")
    return url


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (1 when the folder cannot be published)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output_dir", type=Path, help="the trained model folder")
    parser.add_argument("repo_id", help="namespace/name on the Hub (a name alone: your namespace)")
    parser.add_argument("--private", action="store_true", help="create the repository private")
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing to main")
    parser.add_argument("--dry-run", action="store_true", help="print the file list and card; no network, no upload")
    args = parser.parse_args(argv)
    try:
        publish(args.output_dir, args.repo_id, private=args.private, create_pr=args.create_pr, dry_run=args.dry_run)
    except (ValueError, OfflineModeIsEnabled) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
