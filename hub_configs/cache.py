"""Place a model folder into the Hugging Face cache under a repository id, in the layout a download leaves there, so
that `from_pretrained(REPO_ID)` finds it offline (`HF_HUB_OFFLINE=1`) on a machine that cannot reach the Hub.

    python -m hub_configs.cache FOLDER REPO_ID [--cache-dir DIR] [--revision main]

The layout, under `models--NAMESPACE--NAME/`: `blobs/<sha256>` holds each file's content, `snapshots/<commit>/<file>`
links to its blob, and `refs/<revision>` names the commit. The commit hash is derived from the files' names and
contents, so placing the same folder twice gives the same snapshot.
"""

import argparse
import hashlib
import os
import shutil
import sys
from pathlib import Path

from huggingface_hub import constants
from huggingface_hub.errors import HFValidationError
from huggingface_hub.file_download import repo_folder_name
from huggingface_hub.utils import validate_repo_id


def file_sha256(path: Path) -> str:
    """The SHA-256 hex digest of a file's content, read in 1 MiB pieces."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for piece in iter(lambda: stream.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()


def snapshot_commit(digests: dict[str, str]) -> str:
    """A 40-hex-digit commit hash determined by the snapshot's file names and content digests."""
    listing = "".join(f"{name}\0{digest}\n" for name, digest in sorted(digests.items()))
    return hashlib.sha1(listing.encode("utf-8")).hexdigest()


def place_in_cache(
    folder: str | os.PathLike,
    repo_id: str,
    cache_dir: str | os.PathLike | None = None,
    revision: str = constants.DEFAULT_REVISION,
) -> Path:
    """
    Copies the files at the top of a model folder into the Hugging Face cache as the snapshot of `repo_id` at
    `revision` (sub-folders such as training checkpoints are not copied).

    Args:
        folder: The model folder (from training, the converter, or a download).
        repo_id: The model repository id to file it under, e.g. `"someone/tacfn-ravdess"`.
        cache_dir: The hub cache; defaults to the one `from_pretrained` uses (`HF_HUB_CACHE`, else
            `~/.cache/huggingface/hub`).
        revision: The branch name whose ref points at the snapshot.

    Returns:
        The snapshot folder.

    Raises:
        ValueError: `folder` is not a folder or has no files, or `repo_id` is not a valid repository id.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder.")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise ValueError(f"invalid repository id {repo_id!r}: {error}") from None
    files = sorted(path for path in folder.iterdir() if path.is_file())
    if not files:
        raise ValueError(f"{folder} has no files to place in the cache.")
    repo_dir = Path(cache_dir or constants.HF_HUB_CACHE) / repo_folder_name(repo_id=repo_id, repo_type="model")
    digests = {path.name: file_sha256(path) for path in files}
    commit = snapshot_commit(digests)
    snapshot = repo_dir / "snapshots" / commit
    (repo_dir / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    for path in files:
        blob = repo_dir / "blobs" / digests[path.name]
        if not blob.is_file():
            shutil.copyfile(path, blob)
        link = snapshot / path.name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(Path("..", "..", "blobs", digests[path.name]))
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / revision).write_text(commit)
    return snapshot


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (1 when the folder cannot be placed)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="the model folder")
    parser.add_argument("repo_id", help="the repository id to file it under, e.g. someone/tacfn-ravdess")
    parser.add_argument(
        "--cache-dir", type=Path, help="the hub cache (default: HF_HUB_CACHE or ~/.cache/huggingface/hub)"
    )
    parser.add_argument("--revision", default=constants.DEFAULT_REVISION, help="branch name (default: main)")
    args = parser.parse_args(argv)
    try:
        snapshot = place_in_cache(args.folder, args.repo_id, args.cache_dir, args.revision)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"placed {args.folder} in the cache as {args.repo_id}@{args.revision}: {snapshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
