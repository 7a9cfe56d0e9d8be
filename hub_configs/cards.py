"""Model cards for TACFN model folders, written with `huggingface_hub.ModelCard` / `ModelCardData` from the code: the
configuration, the processor, and the results that training wrote (`eval_results.json`, `cross_validation.json`).
Nothing in a card is typed by hand per model: a folder without results gets a card without a `model-index`."""

import inspect
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from huggingface_hub import EvalResult, ModelCard, ModelCardData
from transformers.dynamic_module_utils import get_imports, get_relative_import_files

from modeling_tacfn import TACFNConfig, TACFNForAudioVisualClassification
from processing import TACFNProcessor
from .presets import MODEL_PRESETS, model_config

from .datasets import DatasetFacts, dataset_facts, dataset_for_labels


EVAL_RESULTS_FILE = "eval_results.json"
CROSS_VALIDATION_FILE = "cross_validation.json"
WEIGHTS_FILES = ("model.safetensors", "model.safetensors.index.json")
ARXIV_URL = "https://arxiv.org/abs/2505.06536"
CARD_TAGS = ("emotion-recognition", "audio-visual", "multimodal", "tacfn")
CITATION = """@article{liu2023tacfn,
  title         = {{TACFN}: Transformer-based Adaptive Cross-modal Fusion Network for Multimodal Emotion Recognition},
  author        = {Liu, Feng and Fu, Ziwang and Wang, Yunlong and Zheng, Qijian},
  journal       = {CAAI Artificial Intelligence Research},
  year          = {2023},
  eprint        = {2505.06536},
  archivePrefix = {arXiv}
}"""
# pip names of the modules the remote code imports, where they differ
PIP_NAMES = {"cv2": "opencv-python-headless"}
# Transformers' video processors need torchvision, although the code files do not import it themselves
EXTRA_REMOTE_CODE_PACKAGES = ("torchvision",)
RESAMPLE_NAMES = {0: "nearest", 1: "Lanczos", 2: "bilinear", 3: "bicubic", 4: "area"}


@dataclass(frozen=True)
class MetricSpec:
    """How one metric that training reports appears in a card: its Hub metric type, display name and arguments."""

    hub_type: str
    display_name: str
    hub_args: dict | None = None


# the metrics of the model-index and of the result tables, keyed by their names in the results training writes
METRICS = {
    "accuracy": MetricSpec("accuracy", "Accuracy (WA)"),
    "unweighted_accuracy": MetricSpec("recall", "Unweighted accuracy (UA)", {"average": "macro"}),
    "macro_f1": MetricSpec("f1", "Macro F1", {"average": "macro"}),
}


# ---------------------------------------------------------------------------------------------------------------------
# Results written by training
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingResults:
    """
    What training wrote about a model: the test report of its fold and, when the model was published after
    cross-validation, the summary over all folds. At least one of the two is set.

    Args:
        evaluation: The content of `eval_results.json` (`training/train.py`).
        cross_validation: The content of `cross_validation.json` (`python -m training.cross_validate`).
    """

    evaluation: dict | None
    cross_validation: dict | None

    @property
    def summary(self) -> dict:
        """The report that names the data set, protocol and classes (both agree when both are present)."""
        return self.evaluation if self.evaluation is not None else self.cross_validation


def read_json(path: Path) -> dict:
    """Reads a JSON object from `path`, raising ValueError that names the file when it is not one."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(content, dict):
        raise ValueError(f"{path} must hold a JSON object, not {type(content).__name__}.")
    return content


def check_metrics(metrics: object, source: str) -> None:
    """
    Raises ValueError unless `metrics` is a dict holding at least one of the card's metrics, each a number in [0, 1].

    Args:
        metrics: The `metrics` entry of a report.
        source: Where it was read, for the error message.
    """
    if not isinstance(metrics, dict):
        raise ValueError(f"{source}: `metrics` must be an object of metric name -> value.")
    present = [name for name in METRICS if name in metrics]
    if not present:
        raise ValueError(f"{source}: `metrics` has none of {list(METRICS)}.")
    for name in present:
        value = metrics[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError(f"{source}: metric {name!r} must be a number in [0, 1], got {value!r}.")


def check_report_header(report: dict, source: str, required: tuple[str, ...]) -> None:
    """
    Raises ValueError unless `report` has the `required` keys, a known data set and a list of class names.

    Args:
        report: A report read from JSON.
        source: Where it was read, for the error message.
        required: Keys that must be present.
    """
    missing = [key for key in required if key not in report]
    if missing:
        raise ValueError(f"{source} lacks {', '.join(missing)}.")
    dataset_facts(report["dataset"], source)
    labels = report["label_names"]
    if not isinstance(labels, list) or not labels or not all(isinstance(label, str) for label in labels):
        raise ValueError(f"{source}: `label_names` must be a non-empty list of class names.")


def check_evaluation(report: dict, source: str) -> None:
    """Raises ValueError unless `report` has the fields of an `eval_results.json` that a card needs."""
    check_report_header(report, source, ("dataset", "protocol", "fold", "label_names", "metrics"))
    check_metrics(report["metrics"], source)
    training_arguments = report.get("training_arguments")
    if training_arguments is not None and not isinstance(training_arguments, dict):
        raise ValueError(f"{source}: `training_arguments` must be an object of argument name -> value.")


def check_cross_validation(summary: dict, source: str) -> None:
    """Raises ValueError unless `summary` has the fields of a `cross_validation.json` that a card needs."""
    check_report_header(summary, source, ("dataset", "protocol", "label_names", "folds", "mean", "std"))
    if not isinstance(summary["folds"], list) or not summary["folds"]:
        raise ValueError(f"{source}: `folds` must be a non-empty list.")
    for index, fold in enumerate(summary["folds"]):
        if not isinstance(fold, dict) or "fold" not in fold or "metrics" not in fold:
            raise ValueError(f"{source}: folds[{index}] must be an object with `fold` and `metrics`.")
        check_metrics(fold["metrics"], f"{source} folds[{index}]")
    check_metrics(summary["mean"], f"{source} mean")
    check_metrics(summary["std"], f"{source} std")


def check_results_agree(evaluation: dict, cross_validation: dict, folder: Path) -> None:
    """Raises ValueError when the fold report and the cross-validation summary in `folder` describe different runs."""
    for key in ("dataset", "protocol", "label_names"):
        if evaluation[key] != cross_validation[key]:
            raise ValueError(
                f"{folder}: {EVAL_RESULTS_FILE} and {CROSS_VALIDATION_FILE} disagree on {key} "
                f"({evaluation[key]!r} vs {cross_validation[key]!r})."
            )
    folds = [fold["fold"] for fold in cross_validation["folds"]]
    if evaluation["fold"] not in folds:
        raise ValueError(
            f"{folder}: the model's fold {evaluation['fold']} is not among the cross-validated folds {folds}."
        )


def read_results(folder: str | Path) -> TrainingResults | None:
    """
    Reads and checks the results training wrote into a model folder.

    Args:
        folder: A model folder that may hold `eval_results.json` and `cross_validation.json`.

    Returns:
        The results, or None when the folder holds neither file.

    Raises:
        ValueError: A results file is not valid JSON, lacks a field the card needs, or the two files disagree.
    """
    folder = Path(folder)
    evaluation = cross_validation = None
    if (folder / EVAL_RESULTS_FILE).is_file():
        evaluation = read_json(folder / EVAL_RESULTS_FILE)
        check_evaluation(evaluation, str(folder / EVAL_RESULTS_FILE))
    if (folder / CROSS_VALIDATION_FILE).is_file():
        cross_validation = read_json(folder / CROSS_VALIDATION_FILE)
        check_cross_validation(cross_validation, str(folder / CROSS_VALIDATION_FILE))
    if evaluation is None and cross_validation is None:
        return None
    if evaluation is not None and cross_validation is not None:
        check_results_agree(evaluation, cross_validation, folder)
    return TrainingResults(evaluation, cross_validation)


# ---------------------------------------------------------------------------------------------------------------------
# Metadata
# ---------------------------------------------------------------------------------------------------------------------


def eval_results_for_model_index(results: TrainingResults, facts: DatasetFacts) -> list[EvalResult]:
    """
    The `model-index` entries: the cross-validation means when the folder has them, else the test metrics of the
    model's own fold; task video-classification, one entry per metric that training reported.

    Args:
        results: The folder's results.
        facts: The data set they were measured on.
    """
    if results.cross_validation is not None:
        summary = results.cross_validation
        metrics = summary["mean"]
        folds = [fold["fold"] for fold in summary["folds"]]
        dataset_args = {"protocol": summary["protocol"], "folds": folds}
        suffix = f", mean over {len(folds)} folds"
    else:
        metrics = results.evaluation["metrics"]
        dataset_args = {"protocol": results.evaluation["protocol"], "fold": results.evaluation["fold"]}
        suffix = ""
    return [
        EvalResult(
            task_type="video-classification",
            task_name="Audio-visual emotion recognition",
            dataset_type=facts.key,
            dataset_name=facts.display_name,
            dataset_split="test",
            dataset_args=dataset_args,
            metric_type=spec.hub_type,
            metric_value=metrics[name],
            metric_name=spec.display_name + suffix,
            metric_args=spec.hub_args,
        )
        for name, spec in METRICS.items()
        if name in metrics
    ]


def card_metadata(repo_id: str, facts: DatasetFacts, results: TrainingResults | None) -> ModelCardData:
    """
    The card's YAML metadata.

    Args:
        repo_id: The repository (or local folder name) the card belongs to; names the `model-index` entry.
        facts: The data set of the model.
        results: Results to fill the `model-index` with; None leaves it out.
    """
    return ModelCardData(
        library_name="transformers",
        pipeline_tag="video-classification",
        license="apache-2.0",
        language="en",
        tags=[*CARD_TAGS, facts.tag],
        datasets=list(facts.hub_ids) or None,
        metrics=[spec.hub_type for spec in METRICS.values()],
        model_name=repo_id if results is not None else None,
        eval_results=eval_results_for_model_index(results, facts) if results is not None else None,
    )


# ---------------------------------------------------------------------------------------------------------------------
# Body sections
# ---------------------------------------------------------------------------------------------------------------------


def percent(value: float) -> str:
    """A metric in [0, 1] as a percentage with two decimals: 0.8125 -> "81.25"."""
    return f"{100 * value:.2f}"


def label_list(config: TACFNConfig) -> str:
    """The class names in label-id order, comma-separated."""
    return ", ".join(config.id2label[index] for index in range(config.num_labels))


def count_parameters(config: TACFNConfig) -> int:
    """Parameters of the classification model for `config`, counted on the meta device (nothing is allocated)."""
    with torch.device("meta"):
        model = TACFNForAudioVisualClassification(config)
    return sum(parameter.numel() for parameter in model.parameters())


def video_encoder_name(config: TACFNConfig) -> str:
    """The video encoder's name: "3D ResNeXt-50" for the published stages [3, 4, 6, 3] (3 layers per bottleneck, the
    stem and the classifier)."""
    return f"3D ResNeXt-{3 * sum(config.video_layers) + 2}"


def architecture_sentence(config: TACFNConfig) -> str:
    """What the network computes, for the config's modality."""
    height = width = config.image_size
    video = (
        f"a {video_encoder_name(config)} encodes {config.num_frames} face frames of {height}x{width} "
        f"(cardinality {config.video_cardinality})"
    )
    audio = f"a 1D CNN encodes {config.num_mfcc} MFCCs x {config.num_audio_frames} frames of the speech"
    if config.modality == "video":
        return f"This is the video-only model of the paper's first training stage: {video}, and a linear classifier"
    if config.modality == "audio":
        return f"This is the audio-only model of the paper's first training stage: {audio}, and a linear classifier"
    return (
        f"{video[0].upper() + video[1:]}; {audio}; an adaptive cross-modal block lets a causal Transformer summary of "
        f"the audio ({config.fusion_num_layers} layers, {config.fusion_num_heads} heads) weight the positions of the "
        "video feature map and reinforce them; a linear classifier reads the pooled video next to the audio features"
    )


def provenance_sentence(facts: DatasetFacts, results: TrainingResults | None, has_weights: bool) -> str:
    """Where the folder's weights come from, or that it has none."""
    if not has_weights:
        return (
            "This folder holds the configuration, the preprocessing and this card for the setting, without weights: "
            "train it with `training/train.py` or convert the published checkpoints with "
            "`python -m modeling_tacfn.convert_original_tacfn_checkpoint`, then publish the model folder with "
            "`python -m hub_configs.publish`, which completes this card with the results."
        )
    if results is None:
        return (
            "These weights come without evaluation results in their folder (for example, converted from the published "
            "checkpoints), so this card reports no figures."
        )
    return f"These weights were trained with this project's `training/train.py` on {facts.description}."


def summary_section(
    config: TACFNConfig, facts: DatasetFacts, results: TrainingResults | None, has_weights: bool
) -> str:
    """Title and what the model does: task, architecture, classes, size and where the weights come from."""
    num_parameters = count_parameters(config)
    return "\n\n".join(
        [
            f"# TACFN: audio-visual emotion recognition ({facts.display_name})",
            "TACFN (Transformer-based Adaptive Cross-modal Fusion Network; Liu, Fu, Wang and Zheng, CAAI Artificial "
            f"Intelligence Research 2023, [arXiv:2505.06536]({ARXIV_URL})) recognises the emotion portrayed in a "
            f"short talking-face clip from its face frames and its speech. {architecture_sentence(config)}.",
            f"It predicts one of {config.num_labels} classes: {label_list(config)}. "
            f"Parameters: {num_parameters:,} ({num_parameters / 1e6:.2f} M).",
            provenance_sentence(facts, results, has_weights),
        ]
    )


def metric_table(metrics: dict) -> list[str]:
    """A markdown table of the card's metrics present in `metrics`, as percentages."""
    rows = ["| metric | value (%) |", "|---|---|"]
    rows += [
        f"| {spec.display_name} | {percent(metrics[name])} |" for name, spec in METRICS.items() if name in metrics
    ]
    return rows


def per_class_table(metrics: dict, label_names: list[str]) -> list[str]:
    """A markdown table of per-class F1 scores; empty when the report has none that fit the classes."""
    scores = metrics.get("per_class_f1")
    if not isinstance(scores, list) or len(scores) != len(label_names):
        return []
    rows = ["| class | F1 (%) |", "|---|---|"]
    rows += [f"| {label} | {percent(score)} |" for label, score in zip(label_names, scores)]
    return rows


def cross_validation_table(summary: dict) -> list[str]:
    """One row per fold and a final mean ± std row, over the card's metrics that the summary holds."""
    names = [name for name in METRICS if name in summary["mean"]]
    rows = [
        "| fold | " + " | ".join(f"{METRICS[name].display_name} (%)" for name in names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    for fold in summary["folds"]:
        cells = [percent(fold["metrics"][name]) if name in fold["metrics"] else "–" for name in names]
        rows.append(f"| {fold['fold']} | " + " | ".join(cells) + " |")
    mean_cells = [f"{percent(summary['mean'][name])} ± {percent(summary['std'][name])}" for name in names]
    rows.append("| mean ± std | " + " | ".join(mean_cells) + " |")
    return rows


def picture_lines(pictures: list[str]) -> list[str]:
    """Markdown images for the pictures uploaded with the model, captioned from their file names."""
    return [f"![{Path(name).stem.replace('_', ' ')}]({name})" for name in pictures]


def fold_results_lines(report: dict, facts: DatasetFacts) -> list[str]:
    """The test figures of the model's own fold."""
    examples = report.get("num_test_examples")
    size = f" ({examples} test clips)" if isinstance(examples, int) else ""
    lines = [
        f"Test figures of this model: {facts.display_name}, {report['protocol']} protocol, fold {report['fold']}"
        f"{size}.",
        "",
        *metric_table(report["metrics"]),
    ]
    per_class = per_class_table(report["metrics"], report["label_names"])
    if per_class:
        lines += ["", "Per-class F1 on the test fold:", "", *per_class]
    return lines


def results_section(results: TrainingResults | None, facts: DatasetFacts, pictures: list[str]) -> str:
    """The figures training wrote: the cross-validation table and/or this fold's figures, and the pictures."""
    lines = ["## Results", ""]
    if results is None:
        lines.append("No evaluation results come with this folder.")
        return "\n".join(lines)
    if results.cross_validation is not None:
        summary = results.cross_validation
        lines += [
            f"Cross-validation on {facts.display_name}, {summary['protocol']} protocol, {len(summary['folds'])} folds "
            "(population standard deviation over folds); the `model-index` above holds the means.",
            "",
            *cross_validation_table(summary),
            "",
        ]
    if results.evaluation is not None:
        lines += [*fold_results_lines(results.evaluation, facts), ""]
    lines += picture_lines(pictures)
    return "\n".join(lines).rstrip()


def remote_code_requirements() -> list[str]:
    """The pip packages that the code files shipped with a model folder import, found by reading those files: the
    modules of the model and the processor and their relative imports (imports inside `try` blocks are optional and
    left out, as Transformers' own check leaves them out)."""
    entry_files = [inspect.getfile(TACFNForAudioVisualClassification), inspect.getfile(TACFNProcessor)]
    code_files = {file for entry in entry_files for file in [entry, *get_relative_import_files(entry)]}
    modules = {module for file in code_files for module in get_imports(file)} - set(sys.stdlib_module_names)
    return sorted({PIP_NAMES.get(module, module) for module in modules} | set(EXTRA_REMOTE_CODE_PACKAGES))


def prediction_code(config: TACFNConfig) -> str:
    """The lines of the usage example that run the model and print its prediction (and, for a fused model, the shape
    of its fusion weights)."""
    if config.modality != "both":
        return """with torch.no_grad():
    outputs = model(**inputs)
print(model.config.id2label[outputs.logits.argmax(-1).item()])"""
    return """with torch.no_grad():
    outputs = model(**inputs, output_attentions=True)
print(model.config.id2label[outputs.logits.argmax(-1).item()])
print(outputs.attentions.shape)  # the audio-driven fusion weights over the video feature map"""


def pipeline_usage(repo_id: str, config: TACFNConfig) -> str:
    """How to use the pipelines that the model folder ships (`custom_pipelines` in its config); empty without one."""
    tasks = sorted(getattr(config, "custom_pipelines", None) or {})
    if not tasks:
        return ""
    calls = "\n".join(
        f'classifier = pipeline("{task}", model="{repo_id}", trust_remote_code=True)\nprint(classifier("clip.mp4"))'
        for task in tasks
    )
    return f"""

The folder also ships its pipeline code, so one call goes from a clip to the top labels and their scores:

```python
from transformers import pipeline

{calls}
```"""


def usage_section(repo_id: str, config: TACFNConfig, requirements: list[str]) -> str:
    """How to load and run the model: with `trust_remote_code=True` only, and with this project installed."""
    install = " ".join(requirements)
    return f"""## Usage

The folder carries its own code, so Transformers loads it without this project installed
(`pip install {install}`, and `dlib-bin` to detect faces in clips given without landmarks):

```python
import torch
from transformers import AutoModelForVideoClassification, AutoProcessor

processor = AutoProcessor.from_pretrained("{repo_id}", trust_remote_code=True)
model = AutoModelForVideoClassification.from_pretrained("{repo_id}", trust_remote_code=True).eval()

inputs = processor(videos="clip.mp4")  # the clip's frames and its own audio track
{prediction_code(config)}
```{pipeline_usage(repo_id, config)}

`AutoModel.from_pretrained("{repo_id}", trust_remote_code=True)` gives the network without its classifier
(`TACFNModel`): its `pooler_output` is the {config.hidden_size}-wide clip representation.

With this project installed (`pip install .` in its repository), importing its packages registers TACFN with the
Auto classes and no remote code is run:

```python
import modeling_tacfn  # registers TACFNConfig and the models
import processing  # registers TACFNProcessor
from transformers import AutoModelForVideoClassification, AutoProcessor

processor = AutoProcessor.from_pretrained("{repo_id}")
model = AutoModelForVideoClassification.from_pretrained("{repo_id}").eval()
```

`"{repo_id}"` is a Hub repository id or a local folder of that name; offline (`HF_HUB_OFFLINE=1`), the folder or
the Hugging Face cache is used."""


def pixel_scaling(video_processor) -> str:
    """How the video processor turns uint8 pixels into model inputs: rescaling, then normalisation."""
    steps = []
    if video_processor.do_rescale:
        factor = video_processor.rescale_factor
        steps.append("scaled to [0, 1]" if abs(factor - 1 / 255) < 1e-12 else f"multiplied by {factor:g}")
    if video_processor.do_normalize:
        mean, std = tuple(video_processor.image_mean), tuple(video_processor.image_std)
        steps.append(f"normalised with mean {mean} and std {std}")
    return ", ".join(steps) or "left as raw pixel values"


def video_preprocessing_line(processor: TACFNProcessor) -> str:
    """What the video processor does, from its settings."""
    video = processor.video_processor
    crop = (
        "the face cropped from each (to the bounding box of its OpenFace landmarks when `landmarks=` gives them, else "
        "to the box dlib's face detector finds on a few frames)"
        if video.do_face_crop
        else "whole frames (no face crop)"
    )
    pre_crop = ""
    if video.pre_crop_size is not None:
        pre_crop = (
            f" Frames are first scaled to {video.pre_crop_size.height}x{video.pre_crop_size.width} while decoding, as "
            "the published preprocessing decoded RAVDESS."
        )
    return (
        f"- `pixel_values_videos` (batch, {video.num_frames}, 3, {video.size.height}, {video.size.width}): "
        f"{video.num_frames} frames sampled uniformly over the clip, {crop}, resized to "
        f"{video.size.height}x{video.size.width} ({RESAMPLE_NAMES[int(video.resample)]}), {pixel_scaling(video)}, "
        f"channels in {video.channel_order.upper()} order.{pre_crop}"
    )


def audio_preprocessing_line(processor: TACFNProcessor) -> str:
    """What the feature extractor does, from its settings."""
    audio = processor.feature_extractor
    return (
        f"- `input_features` (batch, {audio.num_mfcc}, {audio.num_audio_frames}): {audio.num_mfcc} MFCCs of the "
        f"{audio.audio_duration} s of audio starting {audio.audio_offset} s into the clip, mixed to mono and "
        f"resampled to {audio.sampling_rate} Hz (FFT {audio.n_fft}, hop {audio.hop_length}, {audio.num_mel_bins} "
        f"slaney mel bands, {audio.top_db:g} dB range, orthonormal DCT-II, as `librosa.feature.mfcc` computes them). "
        "The audio is the clip's own track unless `audio=` gives a file or a waveform (with `sampling_rate=`)."
    )


def preprocessing_section(processor: TACFNProcessor, facts: DatasetFacts) -> str:
    """The model inputs and how the processor makes them from a clip."""
    lines = [
        "## Inputs and preprocessing",
        "",
        "`processor(videos=..., audio=None, landmarks=None)` takes video files or RGB frame arrays (one clip or a "
        "list) and returns both model inputs:",
        "",
        video_preprocessing_line(processor),
        audio_preprocessing_line(processor),
        "",
        "Training adds one random resized crop and horizontal flip per clip (`do_augment=True`), the same for all of "
        "its frames.",
    ]
    if facts.preprocessing_notes:
        lines += ["", facts.preprocessing_notes]
    return "\n".join(lines)


def architecture_settings(config: TACFNConfig) -> dict:
    """The settings `TACFNConfig` takes as its own arguments (the architecture), without the class names and the other
    generic `PretrainedConfig` fields."""
    names = [name for name in inspect.signature(TACFNConfig.__init__).parameters if name not in ("self", "kwargs")]
    return {name: getattr(config, name) for name in names}


def preset_name(config: TACFNConfig, dataset: str) -> str | None:
    """
    The `hub_configs/presets.py` preset with this config's architecture, if one has it; the preset named after the data
    set first (the RAVDESS and IEMOCAP presets share their architecture).

    Args:
        config: The model's configuration.
        dataset: The data set's name.
    """
    ours = architecture_settings(config)
    for name in sorted(MODEL_PRESETS, key=lambda name: name != dataset):
        if architecture_settings(model_config(name, modality=config.modality)) == ours:
            return name
    return None


def training_command(config: TACFNConfig, facts: DatasetFacts, repo_id: str, protocol: str, fold: int | str) -> str:
    """The `training/train.py` command line for a fold of this setting."""
    data_dirs = {"ravdess": "RAVDESS", "iemocap": "IEMOCAP_full_release", "demo": "demo_data"}
    arguments = [
        "python training/train.py",
        f"--dataset {facts.key} --data_dir {data_dirs[facts.key]}",
        f"--config {preset_name(config, facts.key) or repo_id} --modality {config.modality}",
        f"--protocol {protocol} --fold {fold} --output_dir {repo_id.split('/')[-1]}",
    ]
    return " \\\n    ".join(arguments)


def training_arguments_table(arguments: dict) -> list[str]:
    """The hyperparameters a run recorded, one row each."""
    return ["| argument | value |", "|---|---|", *(f"| `{name}` | `{value}` |" for name, value in arguments.items())]


def training_section(config: TACFNConfig, facts: DatasetFacts, repo_id: str, results: TrainingResults | None) -> str:
    """The training recipe and the evaluation protocol: for a trained model the run's own settings, otherwise how to
    train the setting."""
    lines = ["## Training and evaluation protocol", ""]
    if results is None:
        protocol, fold = "clean", 0
        lines.append(
            f"Train on {facts.description}. One fold's run (`--protocol published` reproduces the published protocol):"
        )
    else:
        report = results.summary
        protocol = report["protocol"]
        fold = results.evaluation["fold"] if results.evaluation is not None else "K"
        world_size = results.evaluation.get("world_size") if results.evaluation is not None else None
        processes = f" on {world_size} process(es)" if isinstance(world_size, int) else ""
        lines.append(
            f"Trained on {facts.description}, {report['protocol']} protocol, fold {fold}{processes}, with the 🤗 "
            "Trainer:"
        )
    lines += ["", "```bash", training_command(config, facts, repo_id, protocol, fold), "```", ""]
    if results is not None and results.evaluation is not None and results.evaluation.get("training_arguments"):
        lines += [
            "Hyperparameters of the run:",
            "",
            *training_arguments_table(results.evaluation["training_arguments"]),
            "",
        ]
    lines += [
        "The paper trains in two stages: the unimodal models first (`--modality video`, `--modality audio`), then the "
        "fused model starting from their encoders (`--init_video_from`, `--init_audio_from`). "
        f"`python -m training.cross_validate` with the same arguments runs all {facts.num_folds} folds and writes "
        "`cross_validation.json`, whose means this card's `model-index` takes when the file is published with the "
        "model.",
        "",
        "Protocols:",
        "",
        *(f"- `{name}`: {text}" for name, text in facts.protocols.items()),
        "",
        "Metrics: accuracy (WA), unweighted accuracy (UA, the mean of the per-class recalls) and macro F1 over the "
        "test clips.",
    ]
    return "\n".join(lines)


def limitations_section(facts: DatasetFacts) -> str:
    """What the model cannot be trusted with, and the licences."""
    lines = [
        "## Limitations",
        "",
        *(f"- {limitation}" for limitation in facts.limitations),
        "- Face crops come from landmarks or dlib's frontal face detector: profile views, occlusion, several faces or "
        "no face in view degrade the video stream (a clip without a detected face is centre-cropped).",
        "- The model recognises portrayed emotion categories, not what a person feels; do not use it to make "
        "decisions about people.",
        f"- Licences: the code and this card are Apache-2.0. {facts.licence}",
    ]
    return "\n".join(lines)


def differences_section(config: TACFNConfig, processor: TACFNProcessor) -> str:
    """How this implementation, and this model's settings, differ from the published code."""
    stem = (
        "on, as the paper describes the network"
        if config.video_stem_activation
        else "off, as in the published multimodal code (converted original weights need it)"
    )
    softmax = (
        'over all positions of the video feature map (`fusion_softmax="spacetime"`, the paper\'s formulation)'
        if config.fusion_softmax == "spacetime"
        else 'per time slice (`fusion_softmax="space"`, as in the published code)'
    )
    channels = (
        "RGB, as the ImageNet statistics expect"
        if processor.video_processor.channel_order == "rgb"
        else "BGR, as the published code fed its model (converted original weights need it)"
    )
    return "\n".join(
        [
            "## Differences from the published code",
            "",
            "- Fusion is per sample. The published code sums the attention maps of all clips in a batch, so a clip's "
            "prediction depends on its batch-mates and the feature scale grows with the batch size; here a clip's "
            "output is the same alone or in any batch.",
            "- Runs on CPU and GPU (the published code hard-codes `.cuda()`), and the selection Transformer ships "
            "with the fusion block.",
            "- Evaluation: the published code picks the best epoch on the very fold it reports (and on RAVDESS, with "
            "k=5, never tests actors 21-24); here all folds run and a `clean` protocol keeps validation and test data "
            "apart.",
            "- Augmentation draws one random crop and flip per clip, applied to all its frames alike, instead of one "
            "per frame.",
            f"- This model's settings: ReLU after the video stem {stem}; splicing softmax {softmax}; frames in "
            f"{channels}.",
        ]
    )


def citation_section() -> str:
    """The TACFN citation in BibTeX."""
    return f"## Citation\n\n```bibtex\n{CITATION}\n```"


# ---------------------------------------------------------------------------------------------------------------------
# Whole cards
# ---------------------------------------------------------------------------------------------------------------------


def build_model_card(
    config: TACFNConfig,
    processor: TACFNProcessor,
    repo_id: str,
    facts: DatasetFacts,
    results: TrainingResults | None = None,
    pictures: list[str] | None = None,
    has_weights: bool = True,
) -> ModelCard:
    """
    The model card of a TACFN model folder.

    Args:
        config: The model's configuration.
        processor: The processor saved with the model.
        repo_id: The Hub repository id (or local folder name) that the usage code loads.
        facts: The data set the model is (to be) trained on.
        results: What training wrote; fills the `model-index` and the results tables. None: no `model-index`.
        pictures: File names of pictures uploaded with the model (e.g. `confusion_matrix.png`), shown in the card.
        has_weights: Whether the folder holds trained weights; False describes a configuration-only folder.

    Returns:
        A [`huggingface_hub.ModelCard`] with YAML metadata and the markdown body.

    Raises:
        ValueError: The results' class names are not the model's.
    """
    if results is not None and results.summary["label_names"] != [
        config.id2label[i] for i in range(config.num_labels)
    ]:
        raise ValueError(
            f"the results are for the classes {results.summary['label_names']}, but the model of {repo_id} predicts "
            f"{label_list(config)}."
        )
    sections = [
        summary_section(config, facts, results, has_weights),
        results_section(results, facts, list(pictures or [])),
        usage_section(repo_id, config, remote_code_requirements()),
        preprocessing_section(processor, facts),
        training_section(config, facts, repo_id, results),
        limitations_section(facts),
        differences_section(config, processor),
        citation_section(),
    ]
    metadata = card_metadata(repo_id, facts, results)
    return ModelCard(f"---\n{metadata.to_yaml()}\n---\n\n" + "\n\n".join(sections) + "\n")


def folder_dataset(folder: Path, config: TACFNConfig, results: TrainingResults | None) -> DatasetFacts:
    """The data set of a model folder: the one its results name, else the one whose standard classes it predicts."""
    if results is not None:
        return dataset_facts(results.summary["dataset"], str(folder))
    labels = [config.id2label[index] for index in range(config.num_labels)]
    facts = dataset_for_labels(labels)
    if facts is None:
        raise ValueError(
            f"{folder}: cannot tell which data set the model was trained on: it has no {EVAL_RESULTS_FILE} and its "
            f"classes ({', '.join(labels)}) are not those of RAVDESS or IEMOCAP."
        )
    return facts


def folder_pictures(folder: Path) -> list[str]:
    """The PNG pictures at the top of a model folder, sorted by name."""
    return sorted(path.name for path in folder.glob("*.png") if path.is_file())


def has_weights(folder: Path) -> bool:
    """Whether a model folder holds safetensors weights (one file or a sharded index)."""
    return any((folder / name).is_file() for name in WEIGHTS_FILES)


def model_card_for_folder(folder: str | Path, repo_id: str) -> ModelCard:
    """
    The model card of a saved model folder, from its `config.json`, its processor, the results training wrote
    beside them and its pictures.

    Args:
        folder: A folder written by `training/train.py`, `training.cross_validate` or the converter.
        repo_id: The Hub repository id the card's usage code loads.

    Raises:
        ValueError: The folder lacks a readable configuration or processor, its results are malformed or are for
            other classes, or its data set cannot be told.
    """
    folder = Path(folder)
    try:
        config = TACFNConfig.from_pretrained(folder)
        processor = TACFNProcessor.from_pretrained(folder)
    except (OSError, ValueError, TypeError) as error:
        raise ValueError(f"{folder}: cannot read the model configuration and processor: {error}") from None
    results = read_results(folder)
    facts = folder_dataset(folder, config, results)
    return build_model_card(config, processor, repo_id, facts, results, folder_pictures(folder), has_weights(folder))
