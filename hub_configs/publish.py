"""Publish a trained TACFN model folder on the Hugging Face Hub: the weights, the configuration, the processor, the
code files that `trust_remote_code=True` loads, the results training wrote, the pictures, and a model card generated
from all of them.

    python -m hub_configs.publish OUTPUT_DIR REPO_ID [--private] [--create-pr] [--dry-run]

`OUTPUT_DIR` is what `training/train.py` (or the converter) wrote. `--dry-run` prints the exact file list and card and
touches no network. `training/train.py --push_to_hub` ends in `publish()`.

Files other than those (checkpoints, `training_args.bin`, logs) are not uploaded; the dry run lists them.
"""

import argparse
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import HfApi, ModelCard, constants
from huggingface_hub.errors import HFValidationError, OfflineModeIsEnabled
from huggingface_hub.utils import validate_repo_id
from transformers.dynamic_module_utils import get_relative_imports

from .cards import CROSS_VALIDATION_FILE, EVAL_RESULTS_FILE, folder_pictures, model_card_for_folder, read_json


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


def read_json_file(path: Path) -> dict:
    """Reads a JSON object, raising ValueError naming the file when it is missing or not a JSON object."""
    if not path.is_file():
        raise ValueError(f"{path} is missing.")
    return read_json(path)


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
        index = read_json_file(folder / SHARDED_WEIGHTS_INDEX)
        weight_map = index.get("weight_map")
        shards = sorted(set(weight_map.values())) if isinstance(weight_map, dict) else []
        if not shards:
            raise ValueError(f"{folder / SHARDED_WEIGHTS_INDEX} names no weight shards in its `weight_map`.")
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


def class_reference_module(reference: object) -> str | None:
    """`"module.Class"` -> `"module"`; None for anything else, and for code in another repository
    (`"repo--module.Class"`)."""
    if not isinstance(reference, str) or "--" in reference or "." not in reference:
        return None
    return reference.rsplit(".", 1)[0]


def class_references(content: dict) -> list:
    """
    The class references a saved configuration loads by remote code: its `auto_map` entries (nested ones included)
    and the `impl` of its `custom_pipelines` entries.

    Args:
        content: A saved `config.json` or `processor_config.json`.
    """
    references = []
    for key, value in content.items():
        if key == "auto_map" and isinstance(value, dict):
            references += [
                item for entry in value.values() for item in (entry if isinstance(entry, list) else [entry])
            ]
        elif key == "custom_pipelines" and isinstance(value, dict):
            references += [task.get("impl") for task in value.values() if isinstance(task, dict)]
        elif isinstance(value, dict):
            references += class_references(value)
    return references


def relative_import_closure(folder: Path, names: set[str]) -> tuple[set[str], list[str]]:
    """
    Follows the relative imports of code files within a folder.

    Args:
        folder: The model folder.
        names: Code file names to start from (each present in the folder).

    Returns:
        The file names reached (`names` included) and, sorted, the imported file names that are not in the folder.
    """
    reached, missing, pending = set(), set(), sorted(names)
    while pending:
        name = pending.pop()
        if name in reached or name in missing:
            continue
        if not (folder / name).is_file():
            missing.add(name)
            continue
        reached.add(name)
        pending += [f"{module}.py" for module in get_relative_imports(folder / name)]
    return reached, sorted(missing)


def code_files(folder: Path, configs: dict[str, dict]) -> list[str]:
    """
    The code files that remote-code loading of the folder imports: the modules its configurations name (`auto_map`,
    `custom_pipelines`) and, recursively, their relative imports.

    Args:
        folder: The model folder.
        configs: Saved configuration file name -> its content.

    Raises:
        ValueError: A needed code file is not in the folder.
    """
    references = [reference for content in configs.values() for reference in class_references(content)]
    modules = {class_reference_module(reference) for reference in references}
    needed = {f"{module}.py" for module in modules if module is not None}
    missing = sorted(name for name in needed if not (folder / name).is_file())
    if missing:
        raise ValueError(
            f"{folder} lacks the code files {', '.join(missing)} that its configuration names; save the model and "
            "processor with `save_pretrained` after importing `modeling_tacfn` and `processing`."
        )
    reached, missing = relative_import_closure(folder, needed)
    if missing:
        raise ValueError(f"{folder} lacks the code files {', '.join(missing)} that its code files import.")
    return sorted(reached)


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
    configs = {name: read_json_file(output_dir / name) for name in (CONFIG_FILE, PROCESSOR_FILE)}
    card = model_card_for_folder(output_dir, repo_id)
    results = [name for name in (EVAL_RESULTS_FILE, CROSS_VALIDATION_FILE) if (output_dir / name).is_file()]
    files = sorted(
        {*configs, *weight_files(output_dir), *code_files(output_dir, configs), *results, *folder_pictures(output_dir)}
    )
    left_out = sorted(
        entry.name + ("/" if entry.is_dir() else "") for entry in output_dir.iterdir() if entry.name not in files
    )
    return UploadPlan(output_dir, repo_id, files, left_out, card)


def prepare_upload_folder(plan: UploadPlan, destination: str | os.PathLike) -> Path:
    """
    Writes the folder that is uploaded: the planned files (hard links where possible, else copies) and the card.

    Args:
        plan: What to upload, from [`plan_upload`].
        destination: An empty or missing folder.

    Returns:
        The destination folder.
    """
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    for name in plan.files:
        source, target = plan.output_dir / name, destination / name
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
    plan.card.save(destination / CARD_FILE)
    return destination


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
    with tempfile.TemporaryDirectory(prefix="tacfn-upload-") as staging:
        prepare_upload_folder(plan, staging)
        commit = api.upload_folder(
            repo_id=full_repo_id,
            folder_path=staging,
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
