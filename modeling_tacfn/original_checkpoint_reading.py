"""Reading the published TACFN / CFN-SR / MSAF checkpoints safely: `torch.load(weights_only=True)` only, the state dict
found inside training checkpoints, without `torch.nn.DataParallel`'s prefix. Used by the weight converter."""

import pickle
from collections.abc import Sequence
from pathlib import Path

import torch


CONTAINER_KEYS = ("state_dict", "model_state_dict", "model")
DATA_PARALLEL_PREFIX = "module."
KEYS_SHOWN = 5


def first_keys(keys: Sequence[str], separator: str = ", ") -> str:
    """The first `KEYS_SHOWN` keys and how many more there are."""
    hidden = len(keys) - KEYS_SHOWN
    return separator.join(keys[:KEYS_SHOWN]) + (f", ... and {hidden} more" if hidden > 0 else "")


def load_original_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The state dict of an original checkpoint, read with `torch.load(weights_only=True)`, without the `module.`
    prefix of `torch.nn.DataParallel`. Raises a ValueError when the file is missing, unreadable, needs more than
    `weights_only=True` allows (e.g. a whole pickled model) or holds no state dict."""
    if not path.is_file():
        raise ValueError(f"checkpoint {path} does not exist or is not a file.")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ValueError(
            f"checkpoint {path} holds Python objects other than tensors and plain containers (for example a whole "
            "pickled model), which `torch.load(weights_only=True)` refuses to run. This converter loads nothing else, "
            "because unpickling arbitrary objects can execute code. Re-save the weights alone where the original code "
            f"runs: `torch.save(model.state_dict(), path)`. torch said: {unpickling_cause(error)}"
        ) from error
    except Exception as error:
        raise ValueError(f"checkpoint {path} is not a readable PyTorch file: {error!r}") from error
    if not isinstance(checkpoint, dict):
        raise ValueError(f"checkpoint {path} holds a {type(checkpoint).__name__}, not a state dict.")
    # training checkpoints hold the state dict beside the epoch, the optimiser state and so on
    checkpoint = next((checkpoint[key] for key in CONTAINER_KEYS if isinstance(checkpoint.get(key), dict)), checkpoint)
    not_tensors = [key for key, value in checkpoint.items() if not isinstance(value, torch.Tensor)]
    if not_tensors:
        raise ValueError(
            f"checkpoint {path} holds no state dict: expected a dict of tensors, or a dict with one of "
            f"{list(CONTAINER_KEYS)} holding it; these entries are not tensors: {first_keys(not_tensors)}"
        )
    if not checkpoint:
        raise ValueError(f"checkpoint {path} holds an empty state dict.")
    return {key.removeprefix(DATA_PARALLEL_PREFIX): tensor for key, tensor in checkpoint.items()}


def unpickling_cause(error: pickle.UnpicklingError) -> str:
    """The line of torch's long `weights_only` message that names what it refused (e.g. the pickled class)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    causes = [line for line in lines if "WeightsUnpickler error" in line]
    return (causes or lines or [type(error).__name__])[0]


__all__ = ["first_keys", "load_original_state_dict"]
