"""Convert the published TACFN / CFN-SR / MSAF checkpoints into a Transformers TACFN model folder.

Three kinds of original checkpoint are understood:

- the multimodal model (`fold_{i}_msaf_ravdess_best.pth`): `video_model_blocks.*`, `audio_model_blocks.*`, `msaf.0.*`,
  `fc.*`; pass it with `--checkpoint`;
- the unimodal 3D ResNeXt-50 (`fold_{i}_resnext50_best.pth`): `conv1`, `bn1`, `layer1..4`, `fc`; pass it with
  `--video-checkpoint`;
- the unimodal MFCCNet (`fold_{i}_mfccNet_best.pth`): `conv1..3`, `bn1..3`, `fc1`; pass it with `--audio-checkpoint`.

One unimodal checkpoint alone gives a unimodal model; the two together give a fused model whose encoders come from them
and whose fusion block and classifier are newly initialised, as at the start of the paper's second training stage.

Example:

```bash
python -m modeling_tacfn.convert_original_tacfn_checkpoint \
    --checkpoint fold_1_msaf_ravdess_best.pth --output tacfn-ravdess
python -m modeling_tacfn.convert_original_tacfn_checkpoint \
    --video-checkpoint fold_1_resnext50_best.pth --audio-checkpoint fold_1_mfccNet_best.pth --output tacfn-stage2
```

Checkpoints are read with `torch.load(weights_only=True)` only. A checkpoint that does not fit the published
architecture (a missing, unexpected or wrongly shaped tensor) is refused with the offending keys, and nothing is
written.
"""

import argparse
import os
import pickle
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from processing import TACFNFeatureExtractor, TACFNProcessor, TACFNVideoProcessor, save_pipeline

from .configuration_tacfn import RAVDESS_EMOTIONS, TACFNConfig
from .modeling_tacfn import TACFNForAudioVisualClassification


CONTAINER_KEYS = ("state_dict", "model_state_dict", "model")
DATA_PARALLEL_PREFIX = "module."
KEYS_SHOWN_PER_PROBLEM = 5

# Renames inside a block, applied to the part of a key after its layout prefix (whole dotted components only).
BLOCK_RENAMES = {
    "downsample": "shortcut",
    "fc1": "linear1",
    "fc2": "linear2",
    "layer_norms.0": "norm1",
    "layer_norms.1": "norm2",
}

# The published code fed its models BGR frames (normalised with the RGB ImageNet statistics), cropped from clips
# decoded at 224 x 224; the processor saved beside converted weights does the same.
ORIGINAL_VIDEO_PROCESSOR_SETTINGS = {"channel_order": "bgr", "pre_crop_size": {"height": 224, "width": 224}}

# The published code runs the multimodal model (and fine-tunes the unimodal pair) without a ReLU after the video stem's
# batch norm and with the fusion softmax over the height x width positions of each time slice.
MULTIMODAL_COMPAT_SWITCHES = {"video_stem_activation": False, "fusion_softmax": "space"}


@dataclass(frozen=True)
class CheckpointLayout:
    """How one kind of original checkpoint maps onto [`TACFNForAudioVisualClassification`].

    Args:
        name: Human-readable name of the layout, used in reports and errors.
        cli_flag: The command-line option that takes a checkpoint of this layout.
        modality: The `TACFNConfig.modality` of a model converted from this checkpoint alone.
        prefixes: Original key prefix -> our key prefix. Every prefix ends with a dot, so none is a prefix of another
            key's block index (`audio_model_blocks.0.1.` does not match `audio_model_blocks.0.10.weight`).
        classifier_prefix: The original prefix of the classifier, whose weight has shape `(num_labels, features)`.
        non_weight_buffers: Original keys that carry no weights and are dropped.
    """

    name: str
    cli_flag: str
    modality: str
    prefixes: dict[str, str]
    classifier_prefix: str
    non_weight_buffers: tuple[str, ...] = ()

    @property
    def classifier_weight_key(self) -> str:
        return self.classifier_prefix + "weight"


MULTIMODAL_LAYOUT = CheckpointLayout(
    name="published multimodal TACFN",
    cli_flag="--checkpoint",
    modality="both",
    prefixes={
        "video_model_blocks.0.0.": "tacfn.video_encoder.stem.convolution.",
        "video_model_blocks.0.1.": "tacfn.video_encoder.stem.normalization.",
        "video_model_blocks.0.3.": "tacfn.video_encoder.stages.0.",
        "video_model_blocks.0.4.": "tacfn.video_encoder.stages.1.",
        "video_model_blocks.0.5.": "tacfn.video_encoder.stages.2.",
        "video_model_blocks.0.6.": "tacfn.video_encoder.stages.3.",
        "audio_model_blocks.0.0.": "tacfn.audio_encoder.conv1.",
        "audio_model_blocks.0.2.": "tacfn.audio_encoder.bn1.",
        "audio_model_blocks.0.3.": "tacfn.audio_encoder.conv2.",
        "audio_model_blocks.0.6.": "tacfn.audio_encoder.bn2.",
        "audio_model_blocks.0.8.": "tacfn.audio_encoder.conv3.",
        "audio_model_blocks.0.10.": "tacfn.audio_encoder.bn3.",
        "msaf.0.channel_affine.": "tacfn.fusion.video_projection.",
        "msaf.0.y_affine.": "tacfn.fusion.audio_projection.",
        "msaf.0.attn_weight_affine.": "tacfn.fusion.score.",
        "msaf.0.audio_attention.layers.": "tacfn.fusion.selection.layers.",
        "msaf.0.audio_attention.layer_norm.": "tacfn.fusion.selection.final_norm.",
        "fc.": "classifier.",
    },
    classifier_prefix="fc.",
    non_weight_buffers=("msaf.0.audio_attention.version", "msaf.0.audio_attention.embed_positions._float_tensor"),
)

RESNEXT_LAYOUT = CheckpointLayout(
    name="unimodal 3D ResNeXt-50",
    cli_flag="--video-checkpoint",
    modality="video",
    prefixes={
        "conv1.": "tacfn.video_encoder.stem.convolution.",
        "bn1.": "tacfn.video_encoder.stem.normalization.",
        "layer1.": "tacfn.video_encoder.stages.0.",
        "layer2.": "tacfn.video_encoder.stages.1.",
        "layer3.": "tacfn.video_encoder.stages.2.",
        "layer4.": "tacfn.video_encoder.stages.3.",
        "fc.": "classifier.",
    },
    classifier_prefix="fc.",
)

MFCCNET_LAYOUT = CheckpointLayout(
    name="unimodal MFCCNet",
    cli_flag="--audio-checkpoint",
    modality="audio",
    prefixes={
        "conv1.": "tacfn.audio_encoder.conv1.",
        "bn1.": "tacfn.audio_encoder.bn1.",
        "conv2.": "tacfn.audio_encoder.conv2.",
        "bn2.": "tacfn.audio_encoder.bn2.",
        "conv3.": "tacfn.audio_encoder.conv3.",
        "bn3.": "tacfn.audio_encoder.bn3.",
        "fc1.": "classifier.",
    },
    classifier_prefix="fc1.",
)

LAYOUTS = (MULTIMODAL_LAYOUT, RESNEXT_LAYOUT, MFCCNET_LAYOUT)


@dataclass(frozen=True)
class Source:
    """One original checkpoint to convert.

    Args:
        path: The checkpoint file.
        layout: Its layout.
        keep_classifier: Convert its classifier. False for the unimodal pair, whose heads the fused model replaces.
    """

    path: Path
    layout: CheckpointLayout
    keep_classifier: bool


@dataclass
class MappedCheckpoint:
    """An original state dict renamed onto our model.

    Args:
        source: Where the tensors come from.
        state_dict: The original tensors (after unwrapping), under their original keys.
        converted: Our key -> tensor, for every original key with a place in our model's naming.
        original_keys: Our key -> the original key it comes from.
        dropped: Original key -> why it was left out.
        unmapped: Original keys that match no prefix of the layout.
        duplicates: Original keys whose renamed key was already produced by another original key.
    """

    source: Source
    state_dict: dict[str, torch.Tensor]
    converted: dict[str, torch.Tensor] = field(default_factory=dict)
    original_keys: dict[str, str] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------------------
# Reading checkpoints
# ---------------------------------------------------------------------------------------------------------------------


def load_original_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Reads an original checkpoint with `torch.load(weights_only=True)` and returns its state dict.

    Args:
        path: A `.pth` file holding a state dict, or a dict that holds one under `state_dict`, `model_state_dict` or
            `model`. A `module.` prefix (from `torch.nn.DataParallel`) is removed.

    Raises:
        ValueError: The file is missing, unreadable, needs more than `weights_only=True` allows (e.g. a whole pickled
            model) or holds no state dict.
    """
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
    return strip_data_parallel_prefix(unwrap_state_dict(checkpoint, path))


def unpickling_cause(error: pickle.UnpicklingError) -> str:
    """The line of torch's long `weights_only` message that names what it refused (e.g. the pickled class)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    causes = [line for line in lines if "WeightsUnpickler error" in line]
    return (causes or lines or [type(error).__name__])[0]


def unwrap_state_dict(checkpoint: object, path: Path) -> dict[str, torch.Tensor]:
    """Returns the state dict inside a loaded checkpoint.

    Args:
        checkpoint: What `torch.load` returned: a dict of tensors, or a dict holding one under one of `CONTAINER_KEYS`
            (training checkpoints also hold the epoch, optimiser state and so on, which are ignored).
        path: The checkpoint file, for error messages.
    """
    if not isinstance(checkpoint, dict):
        raise ValueError(f"checkpoint {path} holds a {type(checkpoint).__name__}, not a state dict.")
    for container_key in CONTAINER_KEYS:
        if isinstance(checkpoint.get(container_key), dict):
            checkpoint = checkpoint[container_key]
            break
    not_tensors = [key for key, value in checkpoint.items() if not isinstance(value, torch.Tensor)]
    if not_tensors:
        raise ValueError(
            f"checkpoint {path} holds no state dict: expected a dict of tensors, or a dict with one of "
            f"{list(CONTAINER_KEYS)} holding it; these entries are not tensors: {summarise(not_tensors)}"
        )
    if not checkpoint:
        raise ValueError(f"checkpoint {path} holds an empty state dict.")
    return checkpoint


def strip_data_parallel_prefix(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Removes the `module.` prefix that `torch.nn.DataParallel` adds to every key."""
    return {key.removeprefix(DATA_PARALLEL_PREFIX): tensor for key, tensor in state_dict.items()}


# ---------------------------------------------------------------------------------------------------------------------
# Renaming
# ---------------------------------------------------------------------------------------------------------------------


def rename_block_components(suffix: str, renames: dict[str, str]) -> str:
    """Applies `renames` to whole dotted components of `suffix` (`0.fc1.weight` -> `0.linear1.weight`)."""
    wrapped = f".{suffix}."
    for old, new in renames.items():
        wrapped = wrapped.replace(f".{old}.", f".{new}.")
    return wrapped[1:-1]


def rename_key(key: str, layout: CheckpointLayout) -> str | None:
    """Our name for an original key, or None when no prefix of the layout matches it.

    Args:
        key: An original state-dict key, e.g. `video_model_blocks.0.3.0.downsample.1.running_mean`.
        layout: The checkpoint's layout.
    """
    for original_prefix, our_prefix in layout.prefixes.items():
        if key.startswith(original_prefix):
            return our_prefix + rename_block_components(key.removeprefix(original_prefix), BLOCK_RENAMES)
    return None


def original_key(our_key: str, layout: CheckpointLayout) -> str:
    """The original key that would give `our_key` in this layout (used to name missing keys), or `our_key` itself when
    the layout has no place for it."""
    inverse_renames = {new: old for old, new in BLOCK_RENAMES.items()}
    for original_prefix, our_prefix in layout.prefixes.items():
        if our_key.startswith(our_prefix):
            return original_prefix + rename_block_components(our_key.removeprefix(our_prefix), inverse_renames)
    return our_key


def map_state_dict(state_dict: dict[str, torch.Tensor], source: Source) -> MappedCheckpoint:
    """Renames every key of an original state dict onto our model, sorting out the keys that are dropped and those that
    have no place.

    Args:
        state_dict: The original state dict.
        source: The checkpoint it came from, with its layout.
    """
    layout = source.layout
    mapped = MappedCheckpoint(source=source, state_dict=state_dict)
    for key, tensor in state_dict.items():
        if key in layout.non_weight_buffers:
            mapped.dropped[key] = "non-weight buffer of the original code"
            continue
        if key.startswith(layout.classifier_prefix) and not source.keep_classifier:
            mapped.dropped[key] = "unimodal classifier; the fused model has its own"
            continue
        our_key = rename_key(key, layout)
        if our_key is None:
            mapped.unmapped.append(key)
        elif our_key in mapped.converted:
            mapped.duplicates.append(key)
        else:
            mapped.converted[our_key] = tensor
            mapped.original_keys[our_key] = key
    return mapped


# ---------------------------------------------------------------------------------------------------------------------
# Checking a checkpoint against the model
# ---------------------------------------------------------------------------------------------------------------------


def summarise(items: Sequence[str], separator: str = ", ") -> str:
    """The first few items and how many more there are."""
    shown = separator.join(items[:KEYS_SHOWN_PER_PROBLEM])
    hidden = len(items) - KEYS_SHOWN_PER_PROBLEM
    return shown + (f", ... and {hidden} more" if hidden > 0 else "")


def owned_keys(model_keys: Sequence[str], source: Source) -> list[str]:
    """Our model's keys that this source is expected to provide."""
    our_prefixes = [
        our_prefix
        for original_prefix, our_prefix in source.layout.prefixes.items()
        if source.keep_classifier or original_prefix != source.layout.classifier_prefix
    ]
    return [key for key in model_keys if key.startswith(tuple(our_prefixes))]


def find_problems(mapped: MappedCheckpoint, model_state: dict[str, torch.Tensor]) -> list[str]:
    """Lines describing every way a mapped checkpoint does not fit the model: missing keys, unexpected keys and wrongly
    shaped tensors, each with the first few offending original keys and a count. Empty when it fits.

    Args:
        mapped: The renamed checkpoint.
        model_state: The freshly built model's state dict.
    """
    layout = mapped.source.layout
    missing = [original_key(key, layout) for key in owned_keys(list(model_state), mapped.source)]
    missing = [key for key in missing if key not in mapped.state_dict]
    unexpected = mapped.unmapped + mapped.duplicates
    unexpected += [mapped.original_keys[key] for key in mapped.converted if key not in model_state]
    wrong_shapes = [
        f"{mapped.original_keys[key]} is {tuple(tensor.shape)}, expected {tuple(model_state[key].shape)}"
        for key, tensor in mapped.converted.items()
        if key in model_state and tensor.shape != model_state[key].shape
    ]
    listed = (("missing", missing, ", "), ("unexpected", unexpected, ", "), ("wrongly shaped", wrong_shapes, "; "))
    return [
        f"{len(keys)} {description}: {summarise(keys, separator)}" for description, keys, separator in listed if keys
    ]


def layout_hint(state_dict: dict[str, torch.Tensor], expected: CheckpointLayout) -> str:
    """A hint naming the option to use when the keys look like another layout's, else an empty string."""
    for layout in LAYOUTS:
        if layout is expected:
            continue
        recognised = [key for key in state_dict if rename_key(key, layout) or key in layout.non_weight_buffers]
        if len(recognised) == len(state_dict) and layout.classifier_weight_key in state_dict:
            return f"its keys look like a {layout.name} checkpoint: pass it with {layout.cli_flag}."
    return ""


def refuse_if_unfit(mapped_checkpoints: Sequence[MappedCheckpoint], model_state: dict[str, torch.Tensor]) -> None:
    """Raises a ValueError listing the problems of every checkpoint that does not fit the model.

    Args:
        mapped_checkpoints: The renamed checkpoints.
        model_state: The freshly built model's state dict.
    """
    messages = []
    for mapped in mapped_checkpoints:
        problems = find_problems(mapped, model_state)
        if problems:
            source = mapped.source
            hint = layout_hint(mapped.state_dict, source.layout)
            messages.append(
                f"checkpoint {source.path} does not fit the {source.layout.name} architecture:\n  "
                + "\n  ".join(problems + ([hint] if hint else []))
            )
    if messages:
        raise ValueError("\n".join(messages) + "\nNothing was converted.")


# ---------------------------------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------------------------------


def plan_sources(
    checkpoint_path: str | os.PathLike | None,
    video_checkpoint_path: str | os.PathLike | None,
    audio_checkpoint_path: str | os.PathLike | None,
) -> tuple[list[Source], str, dict[str, object]]:
    """Which checkpoints to read, the modality of the converted model and its compat switches.

    Args:
        checkpoint_path: A published multimodal checkpoint; excludes the two others.
        video_checkpoint_path: A unimodal ResNeXt-50 checkpoint.
        audio_checkpoint_path: A unimodal MFCCNet checkpoint.
    """
    if checkpoint_path is not None:
        if video_checkpoint_path is not None or audio_checkpoint_path is not None:
            raise ValueError(
                "give either a multimodal checkpoint or unimodal video / audio checkpoints, not both kinds."
            )
        return [Source(Path(checkpoint_path), MULTIMODAL_LAYOUT, True)], "both", dict(MULTIMODAL_COMPAT_SWITCHES)
    if video_checkpoint_path is not None and audio_checkpoint_path is not None:
        sources = [
            Source(Path(video_checkpoint_path), RESNEXT_LAYOUT, False),
            Source(Path(audio_checkpoint_path), MFCCNET_LAYOUT, False),
        ]
        return sources, "both", dict(MULTIMODAL_COMPAT_SWITCHES)
    if video_checkpoint_path is not None:
        return [Source(Path(video_checkpoint_path), RESNEXT_LAYOUT, True)], "video", {"video_stem_activation": True}
    if audio_checkpoint_path is not None:
        return [Source(Path(audio_checkpoint_path), MFCCNET_LAYOUT, True)], "audio", {}
    raise ValueError("no checkpoint given: pass a multimodal checkpoint, or a video and/or an audio checkpoint.")


def infer_num_labels(mapped_checkpoints: Sequence[MappedCheckpoint]) -> int | None:
    """The number of classes the checkpoints' classifiers were trained for (the rows of their weights), or None when
    none has a 2-D classifier weight (the fit check then reports it).

    Raises:
        ValueError: The checkpoints' classifiers disagree.
    """
    rows = {}
    for mapped in mapped_checkpoints:
        weight = mapped.state_dict.get(mapped.source.layout.classifier_weight_key)
        if weight is not None and weight.ndim == 2:
            rows[f"{mapped.source.path}:{mapped.source.layout.classifier_weight_key}"] = weight.shape[0]
    if len(set(rows.values())) > 1:
        raise ValueError(f"the checkpoints were trained for different numbers of classes: {rows}.")
    return next(iter(rows.values()), None)


def resolve_labels(num_labels: int | None, labels: Sequence[str] | None) -> list[str]:
    """The class names of the converted model.

    Args:
        num_labels: Classes of the checkpoint's classifier, or None when it cannot be read from the checkpoint.
        labels: Names given by the user; the 8 RAVDESS emotions when None.
    """
    if labels is None:
        if num_labels not in (None, len(RAVDESS_EMOTIONS)):
            raise ValueError(
                f"the checkpoint's classifier has {num_labels} classes, not the {len(RAVDESS_EMOTIONS)} RAVDESS "
                "emotions: name its classes with --labels (comma-separated, in the classifier's order)."
            )
        return list(RAVDESS_EMOTIONS)
    labels = [label.strip() for label in labels]
    if any(not label for label in labels) or len(set(labels)) != len(labels):
        raise ValueError(f"labels must be distinct and non-empty, got {labels}.")
    if num_labels is not None and len(labels) != num_labels:
        raise ValueError(
            f"{len(labels)} labels were given ({', '.join(labels)}) but the checkpoint's classifier has {num_labels} "
            "classes."
        )
    return labels


def build_config(modality: str, labels: Sequence[str], compat_switches: dict[str, object]) -> TACFNConfig:
    """The published architecture with the converted model's modality, class names and compat switches."""
    return TACFNConfig(
        modality=modality,
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
        **compat_switches,
    )


# ---------------------------------------------------------------------------------------------------------------------
# Conversion
# ---------------------------------------------------------------------------------------------------------------------


def newly_initialised_modules(model_keys: Sequence[str], mapped_checkpoints: Sequence[MappedCheckpoint]) -> list[str]:
    """Our model's keys that no checkpoint provides, grouped by module (`tacfn.fusion (72 tensors)`)."""
    provided = {key for mapped in mapped_checkpoints for key in owned_keys(model_keys, mapped.source)}
    counts = {}
    for key in model_keys:
        if key not in provided:
            module = ".".join(key.split(".")[: 2 if key.startswith("tacfn.") else 1])
            counts[module] = counts.get(module, 0) + 1
    return [f"{module} ({count} tensors)" for module, count in counts.items()]


def print_report(
    mapped_checkpoints: Sequence[MappedCheckpoint],
    newly_initialised: Sequence[str],
    compat_switches: dict[str, object],
    config: TACFNConfig,
) -> None:
    """Prints what was converted, dropped and newly initialised, and the compat switches of the converted model."""
    for mapped in mapped_checkpoints:
        source = mapped.source
        print(f"Converted {len(mapped.converted)} tensors from {source.path} ({source.layout.name}).")
        reasons = {}
        for key, reason in mapped.dropped.items():
            reasons.setdefault(reason, []).append(key)
        for reason, keys in reasons.items():
            print(f"  dropped {len(keys)} ({reason}): {', '.join(keys)}")
    print(f"Newly initialised: {', '.join(newly_initialised) or 'nothing'}")
    switches = ", ".join(f"{name}={value!r}" for name, value in compat_switches.items())
    print(f"Model: modality={config.modality!r}; compat switches: {switches or 'none'}")
    print(f"Labels: {', '.join(config.id2label[index] for index in range(config.num_labels))}")


def convert_checkpoint(
    checkpoint_path: str | os.PathLike | None = None,
    video_checkpoint_path: str | os.PathLike | None = None,
    audio_checkpoint_path: str | os.PathLike | None = None,
    labels: Sequence[str] | None = None,
    verbose: bool = True,
) -> TACFNForAudioVisualClassification:
    """Builds a [`TACFNForAudioVisualClassification`] holding the weights of original checkpoints.

    Args:
        checkpoint_path: A published multimodal checkpoint (`fold_{i}_msaf_ravdess_best.pth`). Gives a fused model with
            the compat switches of the published code (`video_stem_activation=False`, `fusion_softmax="space"`).
        video_checkpoint_path: A unimodal 3D ResNeXt-50 checkpoint (`fold_{i}_resnext50_best.pth`). Alone, it gives a
            `modality="video"` model that keeps the ReLU after the stem; with `audio_checkpoint_path`, the video
            encoder of a fused model.
        audio_checkpoint_path: A unimodal MFCCNet checkpoint (`fold_{i}_mfccNet_best.pth`). Alone, it gives a
            `modality="audio"` model; with `video_checkpoint_path`, the audio encoder of a fused model whose fusion
            block and classifier are newly initialised and which has the multimodal compat switches.
        labels: Class names, as many as the checkpoint's classifier has outputs. Defaults to the 8 RAVDESS emotions.
        verbose: Print a report of what was converted, dropped and newly initialised.

    Returns:
        The converted model in evaluation mode.

    Raises:
        ValueError: A checkpoint cannot be read safely, or does not fit the published architecture (the message lists
            the missing, unexpected and wrongly shaped keys), or the labels do not match its classifier.
    """
    sources, modality, compat_switches = plan_sources(checkpoint_path, video_checkpoint_path, audio_checkpoint_path)
    mapped_checkpoints = [map_state_dict(load_original_state_dict(source.path), source) for source in sources]
    labels = resolve_labels(infer_num_labels(mapped_checkpoints), labels)
    config = build_config(modality, labels, compat_switches)
    model = TACFNForAudioVisualClassification(config)
    model_state = model.state_dict()
    refuse_if_unfit(mapped_checkpoints, model_state)
    newly_initialised = newly_initialised_modules(list(model_state), mapped_checkpoints)
    if newly_initialised and len(sources) == 1:
        raise ValueError(
            f"no key of {sources[0].path} maps onto {', '.join(newly_initialised)} of the model; the converter's "
            "layout is out of date with the model."
        )
    converted = {key: tensor for mapped in mapped_checkpoints for key, tensor in mapped.converted.items()}
    model.load_state_dict(converted, strict=False)
    if verbose:
        print_report(mapped_checkpoints, newly_initialised, compat_switches, config)
    return model.eval()


# ---------------------------------------------------------------------------------------------------------------------
# Saving and command line
# ---------------------------------------------------------------------------------------------------------------------


def check_output_dir(output_dir: Path) -> None:
    """Refuses an output path that is an existing file (`save_pretrained` would silently write nothing)."""
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"output {output_dir} exists and is not a folder.")


def build_original_processor() -> TACFNProcessor:
    """A `TACFNProcessor` that prepares clips as the published code did (`ORIGINAL_VIDEO_PROCESSOR_SETTINGS`)."""
    return TACFNProcessor(
        feature_extractor=TACFNFeatureExtractor(),
        video_processor=TACFNVideoProcessor(**ORIGINAL_VIDEO_PROCESSOR_SETTINGS),
    )


def save_converted_model(model: TACFNForAudioVisualClassification, output_dir: Path) -> None:
    """Saves the model as safetensors with `save_pretrained`, and beside it a processor with the published
    preprocessing and the pipeline code.

    Args:
        model: The converted model.
        output_dir: The folder to write; created when missing.
    """
    model.save_pretrained(output_dir)
    print(f"Saved the converted model to {output_dir}")
    build_original_processor().save_pretrained(output_dir)
    settings = ", ".join(f"{name}={value!r}" for name, value in ORIGINAL_VIDEO_PROCESSOR_SETTINGS.items())
    print(f"Saved a TACFNProcessor with the published preprocessing ({settings}) to {output_dir}")
    save_pipeline(output_dir)
    print(f"Saved the video-classification pipeline code to {output_dir}")


def parse_labels(text: str | None) -> list[str] | None:
    """`"a,b,c"` -> `["a", "b", "c"]`; None stays None."""
    return None if text is None else text.split(",")


def build_argument_parser() -> argparse.ArgumentParser:
    """The command line: `--checkpoint` or `--video-checkpoint` / `--audio-checkpoint`, `--output`, `--labels`."""
    parser = argparse.ArgumentParser(
        description="Convert original TACFN / CFN-SR checkpoints into a Transformers TACFN model folder.",
    )
    parser.add_argument(
        "--checkpoint", type=Path, help="published multimodal checkpoint (fold_*_msaf_ravdess_best.pth)"
    )
    parser.add_argument(
        "--video-checkpoint", type=Path, help="unimodal 3D ResNeXt-50 checkpoint (fold_*_resnext50_best.pth)"
    )
    parser.add_argument(
        "--audio-checkpoint", type=Path, help="unimodal MFCCNet checkpoint (fold_*_mfccNet_best.pth)"
    )
    parser.add_argument("--output", type=Path, required=True, help="folder to write the converted model into")
    parser.add_argument("--labels", help="comma-separated class names (default: the 8 RAVDESS emotions)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (1 when a checkpoint is refused)."""
    args = build_argument_parser().parse_args(argv)
    try:
        check_output_dir(args.output)
        model = convert_checkpoint(
            checkpoint_path=args.checkpoint,
            video_checkpoint_path=args.video_checkpoint,
            audio_checkpoint_path=args.audio_checkpoint,
            labels=parse_labels(args.labels),
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    save_converted_model(model, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
