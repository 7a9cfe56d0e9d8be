"""Convert the published TACFN / CFN-SR / MSAF checkpoints into a Transformers TACFN model folder.

Three kinds of original checkpoint are understood: the multimodal model (`fold_{i}_msaf_ravdess_best.pth`,
`--checkpoint`), the unimodal 3D ResNeXt-50 (`fold_{i}_resnext50_best.pth`, `--video-checkpoint`) and the unimodal
MFCCNet (`fold_{i}_mfccNet_best.pth`, `--audio-checkpoint`). One unimodal checkpoint gives a unimodal model; the two
give a fused model with their encoders and a new fusion block and classifier (the paper's second stage). Example:
`python -m modeling_tacfn.convert_original_tacfn_checkpoint --checkpoint fold_1_msaf_ravdess_best.pth --output DIR`.

Checkpoints are read with `torch.load(weights_only=True)` only. The keys are renamed by the layout tables below and
loaded with `load_state_dict(strict=False)`; a checkpoint that does not fit the published architecture (a missing,
unexpected or wrongly shaped tensor) is refused with the offending keys, and nothing is written. The one exception is
what the published code does not have: the fused model's stand-ins for a missing modality keep their initialisation
(zeros), so a converted model answers complete clips exactly as the original did.
"""

import argparse
import os
import sys
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from processing import TACFNFeatureExtractor, TACFNProcessor, TACFNVideoProcessor, save_pipeline

from .configuration_tacfn import RAVDESS_EMOTIONS, TACFNConfig
from .modeling_tacfn import TACFNForAudioVisualClassification
from .original_checkpoint_reading import first_keys, load_original_state_dict


# Renames inside a block, applied to the part of a key after its layout prefix (whole dotted components only).
BLOCK_RENAMES = {
    "downsample": "shortcut",
    "fc1": "linear1",
    "fc2": "linear2",
    "layer_norms.0": "norm1",
    "layer_norms.1": "norm2",
}

# The published preprocessing (compat settings): BGR frames from clips decoded at 224 x 224, its frame and landmark-row
# rules and JPEG crops; audio resampled by ffmpeg to 16-bit 44.1 kHz before the window is cut, librosa < 0.9 padding.
ORIGINAL_VIDEO_PROCESSOR_SETTINGS = {"channel_order": "bgr", "pre_crop_size": {"height": 224, "width": 224},
    "frame_sampling": "published", "landmark_rows": "published", "jpeg_round_trip": True}  # fmt: skip
ORIGINAL_FEATURE_EXTRACTOR_SETTINGS = {"resampling": "track_swr_s16", "pad_mode": "reflect"}

# The published code runs the multimodal model (and fine-tunes the unimodal pair) without a ReLU after the video stem's
# batch norm and with the fusion softmax over the height x width positions of each time slice.
MULTIMODAL_COMPAT_SWITCHES = {"video_stem_activation": False, "fusion_softmax": "space"}
# parameters the published code does not have (the missing-modality stand-ins): they keep their initialisation
NEW_IN_THIS_IMPLEMENTATION = "tacfn.stand_ins."


@dataclass(frozen=True)
class CheckpointLayout:
    """How one kind of original checkpoint maps onto [`TACFNForAudioVisualClassification`]: original key prefix -> our
    key prefix. Every prefix ends with a dot, so none is a prefix of another key's block index
    (`audio_model_blocks.0.1.` does not match `audio_model_blocks.0.10.weight`)."""

    name: str  # used in reports and errors
    cli_flag: str  # the command-line option that takes a checkpoint of this layout
    prefixes: dict[str, str]
    classifier_prefix: str  # its weight has shape (num_labels, features)
    non_weight_buffers: tuple[str, ...] = ()  # original keys that carry no weights and are dropped

    @property
    def classifier_weight_key(self) -> str:
        return self.classifier_prefix + "weight"


MULTIMODAL_LAYOUT = CheckpointLayout(
    name="published multimodal TACFN", cli_flag="--checkpoint",
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
    name="unimodal 3D ResNeXt-50", cli_flag="--video-checkpoint",
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
    name="unimodal MFCCNet", cli_flag="--audio-checkpoint",
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


def translate(key: str, prefixes: dict[str, str], renames: dict[str, str]) -> str | None:
    """Replaces the prefix of `key` found in `prefixes` and applies `renames` to whole dotted components of the rest
    (`layer1.0.downsample.1.weight` -> `tacfn.video_encoder.stages.0.0.shortcut.1.weight`); None without a match."""
    for old_prefix, new_prefix in prefixes.items():
        if key.startswith(old_prefix):
            rest = f".{key.removeprefix(old_prefix)}."
            for old, new in renames.items():
                rest = rest.replace(f".{old}.", f".{new}.")
            return new_prefix + rest[1:-1]
    return None


def rename_key(key: str, layout: CheckpointLayout) -> str | None:
    """Our name for an original key, or None when the layout has no place for it."""
    return translate(key, layout.prefixes, BLOCK_RENAMES)


def original_key(our_key: str, layout: CheckpointLayout) -> str | None:
    """The original key that gives `our_key` in this layout, or None when the layout has no place for it."""
    inverse_prefixes = {ours: original for original, ours in layout.prefixes.items()}
    return translate(our_key, inverse_prefixes, {new: old for old, new in BLOCK_RENAMES.items()})


@dataclass
class Checkpoint:
    """One original checkpoint renamed onto our model, with the original keys that do not fit it."""

    path: Path
    layout: CheckpointLayout
    keep_classifier: bool  # False for the unimodal pair, whose heads the fused model replaces
    state_dict: dict[str, torch.Tensor] = field(default_factory=dict)  # under the original keys
    converted: dict[str, torch.Tensor] = field(default_factory=dict)  # our key -> tensor
    original_keys: dict[str, str] = field(default_factory=dict)  # our key -> the original key it comes from
    dropped: dict[str, str] = field(default_factory=dict)  # original key -> why it was left out
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    wrongly_shaped: list[str] = field(default_factory=list)

    def read(self) -> "Checkpoint":
        """Loads the file and renames every key by the layout: non-weight buffers (and the classifier of a unimodal
        pair) are dropped; a key with no place in the layout, or a second key for the same place, is unexpected."""
        self.state_dict = load_original_state_dict(self.path)
        for key, tensor in self.state_dict.items():
            our_key = rename_key(key, self.layout)
            if key in self.layout.non_weight_buffers:
                self.dropped[key] = "non-weight buffer of the original code"
            elif key.startswith(self.layout.classifier_prefix) and not self.keep_classifier:
                self.dropped[key] = "unimodal classifier; the fused model has its own"
            elif our_key is None or our_key in self.converted:
                self.unexpected.append(key)
            else:
                self.converted[our_key], self.original_keys[our_key] = tensor, key
        return self

    def provides(self, our_key: str) -> str | None:
        """The original key this checkpoint should hold for `our_key`, or None when it provides no such tensor."""
        key = original_key(our_key, self.layout)
        unused_head = key is not None and key.startswith(self.layout.classifier_prefix) and not self.keep_classifier
        return None if unused_head else key

    def misfit(self) -> str:
        """What keeps the checkpoint from fitting, each kind of problem with the first offending keys and a count;
        empty when it fits."""
        listed = [("missing", self.missing, ", "), ("unexpected", self.unexpected, ", ")]
        listed.append(("wrongly shaped", self.wrongly_shaped, "; "))  # the shapes hold commas
        lines = [f"{len(keys)} {kind}: {first_keys(keys, separator)}" for kind, keys, separator in listed if keys]
        if not lines:
            return ""
        for layout in LAYOUTS:
            fits = all(rename_key(key, layout) or key in layout.non_weight_buffers for key in self.state_dict)
            if layout is not self.layout and fits and layout.classifier_weight_key in self.state_dict:
                lines.append(f"its keys look like a {layout.name} checkpoint: pass it with {layout.cli_flag}.")
                break
        return f"checkpoint {self.path} does not fit the {self.layout.name} architecture:\n  " + "\n  ".join(lines)


def plan_checkpoints(
    checkpoint_path: str | os.PathLike | None,
    video_checkpoint_path: str | os.PathLike | None,
    audio_checkpoint_path: str | os.PathLike | None,
) -> tuple[list[Checkpoint], str, dict[str, object]]:
    """Which checkpoints to read, the modality of the converted model and its compat switches."""
    if checkpoint_path is not None and (video_checkpoint_path is not None or audio_checkpoint_path is not None):
        raise ValueError("give either a multimodal checkpoint or unimodal video / audio checkpoints, not both kinds.")
    if checkpoint_path is not None:
        return [Checkpoint(Path(checkpoint_path), MULTIMODAL_LAYOUT, True)], "both", dict(MULTIMODAL_COMPAT_SWITCHES)
    pair = video_checkpoint_path is not None and audio_checkpoint_path is not None
    checkpoints = [
        Checkpoint(Path(path), layout, keep_classifier=not pair)
        for path, layout in ((video_checkpoint_path, RESNEXT_LAYOUT), (audio_checkpoint_path, MFCCNET_LAYOUT))
        if path is not None
    ]
    if not checkpoints:
        raise ValueError("no checkpoint given: pass a multimodal checkpoint, or a video and/or an audio checkpoint.")
    if pair:
        return checkpoints, "both", dict(MULTIMODAL_COMPAT_SWITCHES)
    if video_checkpoint_path is not None:
        return checkpoints, "video", {"video_stem_activation": True}
    return checkpoints, "audio", {}


def class_names(checkpoints: Sequence[Checkpoint], labels: Sequence[str] | None) -> list[str]:
    """The class names of the converted model: `labels` as the user gave them, or the 8 RAVDESS emotions. Either must
    match the rows of the checkpoints' classifier weights, and the checkpoints must agree on them."""
    rows = {}
    for checkpoint in checkpoints:
        weight = checkpoint.state_dict.get(checkpoint.layout.classifier_weight_key)
        if weight is not None and weight.ndim == 2:  # else the fit check reports it
            rows[f"{checkpoint.path}:{checkpoint.layout.classifier_weight_key}"] = weight.shape[0]
    if len(set(rows.values())) > 1:
        raise ValueError(f"the checkpoints were trained for different numbers of classes: {rows}.")
    num_labels = next(iter(rows.values()), None)
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


def load_checkpoints(model: TACFNForAudioVisualClassification, checkpoints: Sequence[Checkpoint]) -> list[str]:
    """Loads the renamed tensors into `model` with `load_state_dict(strict=False)` and files the keys it reports under
    the checkpoint they concern: an unexpected key under the checkpoint it came from, a missing key under the one whose
    layout provides it. A tensor shaped unlike the model's is not loaded but reported. Returns the model's keys that no
    checkpoint provides: they keep their new initialisation."""
    model_state = model.state_dict()
    # with the model's module versions a BatchNorm reports a missing `num_batches_tracked` instead of filling in 0
    loadable = OrderedDict()
    loadable._metadata = model_state._metadata
    for checkpoint in checkpoints:
        for key, tensor in checkpoint.converted.items():
            if key in model_state and tensor.shape != model_state[key].shape:
                shapes = f"is {tuple(tensor.shape)}, expected {tuple(model_state[key].shape)}"
                checkpoint.wrongly_shaped.append(f"{checkpoint.original_keys[key]} {shapes}")
            else:
                loadable[key] = tensor
    result = model.load_state_dict(loadable, strict=False)
    newly_initialised = []
    for key in result.missing_keys:
        owner = next((checkpoint for checkpoint in checkpoints if checkpoint.provides(key)), None)
        if owner is None:
            newly_initialised.append(key)
        elif key not in owner.converted:  # a wrongly shaped tensor is reported as such
            owner.missing.append(owner.provides(key))
    for key in result.unexpected_keys:
        owner = next(checkpoint for checkpoint in checkpoints if key in checkpoint.original_keys)
        owner.unexpected.append(owner.original_keys[key])
    return newly_initialised


def count_by_module(keys: Sequence[str]) -> list[str]:
    """`tacfn.fusion (67 tensors)`, ...: the keys grouped by the module below `tacfn` (or the top-level module)."""
    modules = Counter(".".join(key.split(".")[: 2 if key.startswith("tacfn.") else 1]) for key in keys)
    return [f"{module} ({count} tensors)" for module, count in modules.items()]


def print_report(checkpoints: Sequence[Checkpoint], newly_initialised: list[str], switches: dict, config: TACFNConfig):
    """Prints what was converted, dropped and newly initialised, and the compat switches of the converted model."""
    for checkpoint in checkpoints:
        print(f"Converted {len(checkpoint.converted)} tensors from {checkpoint.path} ({checkpoint.layout.name}).")
        for reason in dict.fromkeys(checkpoint.dropped.values()):
            keys = [key for key, why in checkpoint.dropped.items() if why == reason]
            print(f"  dropped {len(keys)} ({reason}): {', '.join(keys)}")
    print(f"Newly initialised: {', '.join(count_by_module(newly_initialised)) or 'nothing'}")
    switches = ", ".join(f"{name}={value!r}" for name, value in switches.items())
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
        checkpoint_path: A published multimodal checkpoint (`fold_{i}_msaf_ravdess_best.pth`): a fused model with the
            compat switches of the published code (`video_stem_activation=False`, `fusion_softmax="space"`).
        video_checkpoint_path: A unimodal 3D ResNeXt-50 checkpoint (`fold_{i}_resnext50_best.pth`): alone, a
            `modality="video"` model that keeps the ReLU after the stem; with `audio_checkpoint_path`, the video
            encoder of a fused model with the multimodal compat switches and a new fusion block and classifier.
        audio_checkpoint_path: A unimodal MFCCNet checkpoint (`fold_{i}_mfccNet_best.pth`): alone, a `modality="audio"`
            model; with `video_checkpoint_path`, the audio encoder of that fused model.
        labels: Class names, as many as the checkpoint's classifier has outputs. Defaults to the 8 RAVDESS emotions.
        verbose: Print a report of what was converted, dropped and newly initialised.

    Returns the converted model in evaluation mode. Raises a ValueError when a checkpoint cannot be read safely, does
    not fit the published architecture (naming the missing, unexpected and wrongly shaped keys) or does not match the
    labels.
    """
    planned, modality, compat_switches = plan_checkpoints(checkpoint_path, video_checkpoint_path, audio_checkpoint_path)
    checkpoints = [checkpoint.read() for checkpoint in planned]
    id2label = dict(enumerate(class_names(checkpoints, labels)))
    config = TACFNConfig(
        modality=modality, id2label=id2label, label2id={label: i for i, label in id2label.items()}, **compat_switches
    )
    model = TACFNForAudioVisualClassification(config)
    newly_initialised = load_checkpoints(model, checkpoints)
    misfits = [message for message in (checkpoint.misfit() for checkpoint in checkpoints) if message]
    if misfits:
        raise ValueError("\n".join(misfits) + "\nNothing was converted.")
    unmapped = [key for key in newly_initialised if not key.startswith(NEW_IN_THIS_IMPLEMENTATION)]
    if unmapped and len(checkpoints) == 1:
        raise ValueError(
            f"no key of {checkpoints[0].path} maps onto {', '.join(count_by_module(unmapped))} of the model; the "
            "converter's layout is out of date with the model."
        )
    if verbose:
        print_report(checkpoints, newly_initialised, compat_switches, config)
    return model.eval()


def save_converted_model(model: TACFNForAudioVisualClassification, output_dir: Path) -> None:
    """Saves the model (`save_pretrained`), a `TACFNProcessor` with the published preprocessing and the pipeline."""
    model.save_pretrained(output_dir)
    print(f"Saved the converted model to {output_dir}")
    video_processor = TACFNVideoProcessor(**ORIGINAL_VIDEO_PROCESSOR_SETTINGS)
    processor = TACFNProcessor(TACFNFeatureExtractor(**ORIGINAL_FEATURE_EXTRACTOR_SETTINGS), video_processor)
    processor.save_pretrained(output_dir)
    published = ORIGINAL_VIDEO_PROCESSOR_SETTINGS | ORIGINAL_FEATURE_EXTRACTOR_SETTINGS
    settings = ", ".join(f"{name}={value!r}" for name, value in published.items())
    print(f"Saved a TACFNProcessor with the published preprocessing ({settings}) to {output_dir}")
    save_pipeline(output_dir)
    print(f"Saved the video-classification pipeline code to {output_dir}")


def build_argument_parser() -> argparse.ArgumentParser:
    """The command line: `--checkpoint` or `--video-checkpoint` / `--audio-checkpoint`, `--output`, `--labels`."""
    parser = argparse.ArgumentParser(
        description="Convert original TACFN / CFN-SR checkpoints into a Transformers TACFN model folder."
    )
    parser.add_argument(
        "--checkpoint", type=Path, help="published multimodal checkpoint (fold_*_msaf_ravdess_best.pth)"
    )
    parser.add_argument(
        "--video-checkpoint", type=Path, help="unimodal 3D ResNeXt-50 checkpoint (fold_*_resnext50_best.pth)"
    )
    parser.add_argument("--audio-checkpoint", type=Path, help="unimodal MFCCNet checkpoint (fold_*_mfccNet_best.pth)")
    parser.add_argument("--output", type=Path, required=True, help="folder to write the converted model into")
    parser.add_argument("--labels", help="comma-separated class names (default: the 8 RAVDESS emotions)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (1 when a checkpoint is refused)."""
    args = build_argument_parser().parse_args(argv)
    try:
        if args.output.exists() and not args.output.is_dir():  # save_pretrained would silently write nothing
            raise ValueError(f"output {args.output} exists and is not a folder.")
        model = convert_checkpoint(
            checkpoint_path=args.checkpoint,
            video_checkpoint_path=args.video_checkpoint,
            audio_checkpoint_path=args.audio_checkpoint,
            labels=None if args.labels is None else args.labels.split(","),
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    save_converted_model(model, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
