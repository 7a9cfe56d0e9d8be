"""Model cards for TACFN model folders: the metadata (`model-index` included) as `huggingface_hub.ModelCardData` and
`EvalResult`s, the body rendered from `model_card_template.md` by `ModelCard.from_template`, both filled from the code:
the configuration, the processor, the preset and the results that training wrote (`eval_results.json`,
`cross_validation.json`). A folder without results gets a card without a `model-index`."""

import inspect
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from huggingface_hub import EvalResult, ModelCard, ModelCardData
from transformers.dynamic_module_utils import get_imports, get_relative_import_files
from transformers.image_utils import PILImageResampling

from modeling_tacfn import TACFNConfig, TACFNForAudioVisualClassification
from processing import TACFNProcessor

from .datasets import DatasetFacts, dataset_facts, dataset_for_labels


TEMPLATE_PATH = Path(__file__).with_name("model_card_template.md")
EVAL_RESULTS_FILE = "eval_results.json"
CROSS_VALIDATION_FILE = "cross_validation.json"
# the fields of each results file that the card reads
RESULTS_FIELDS = {
    EVAL_RESULTS_FILE: ("dataset", "protocol", "fold", "label_names", "metrics"),
    CROSS_VALIDATION_FILE: ("dataset", "protocol", "label_names", "folds", "mean", "std"),
}
WEIGHTS_FILES = ("model.safetensors", "model.safetensors.index.json")
CARD_TAGS = ("emotion-recognition", "audio-visual", "multimodal", "tacfn")
# pip names of the modules the remote code imports, where they differ
PIP_NAMES = {"cv2": "opencv-python-headless"}
# Transformers' video processors need torchvision, although the code files do not import it themselves
EXTRA_REMOTE_CODE_PACKAGES = ("torchvision",)


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
        """The report that names the data set, protocol, preset and classes (both agree when both are present)."""
        return self.evaluation if self.evaluation is not None else self.cross_validation

    def reports(self) -> dict[str, dict]:
        """File name -> content, for the files present."""
        reports = {EVAL_RESULTS_FILE: self.evaluation, CROSS_VALIDATION_FILE: self.cross_validation}
        return {name: report for name, report in reports.items() if report is not None}


def check_metrics(metrics: object, source: str) -> None:
    """Raises ValueError unless `metrics` holds at least one of the card's metrics, each a fraction in [0, 1] (a
    percentage would put a wrong figure into the `model-index`)."""
    present = [name for name in METRICS if name in metrics] if isinstance(metrics, dict) else []
    if not present:
        raise ValueError(f"{source}: `metrics` has none of {list(METRICS)}.")
    for name in present:
        value = metrics[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError(f"{source}: metric {name!r} must be a number in [0, 1], got {value!r}.")


def metric_groups(report: dict, path: Path) -> dict[str, object]:
    """Where each set of metrics of a results file sits (for error messages) -> that set."""
    if "folds" not in report:
        return {str(path): report["metrics"]}
    groups = {f"{path} mean": report["mean"], f"{path} std": report["std"]}
    for index, fold in enumerate(report["folds"]):
        if not isinstance(fold, dict) or not {"fold", "metrics"} <= fold.keys():
            raise ValueError(f"{path}: folds[{index}] must be an object with `fold` and `metrics`.")
        groups[f"{path} folds[{index}]"] = fold["metrics"]
    return groups


def read_report(path: Path) -> dict:
    """
    Reads one results file, refusing, with a ValueError that names it, a file that is not what training writes: the
    Jinja template would render a missing field as empty text instead of failing.

    Args:
        path: An `eval_results.json` or `cross_validation.json`.
    """
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(report, dict):
        raise ValueError(f"{path} must hold a JSON object, not {type(report).__name__}.")
    missing = [key for key in RESULTS_FIELDS[path.name] if key not in report]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)}.")
    dataset_facts(report["dataset"], str(path))
    for source, metrics in metric_groups(report, path).items():
        check_metrics(metrics, source)
    return report


def check_results_agree(evaluation: dict, cross_validation: dict, folder: Path) -> None:
    """Raises ValueError when the fold report and the cross-validation summary in `folder` describe different runs."""
    for key in ("dataset", "protocol"):
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
    Reads the results training wrote into a model folder.

    Args:
        folder: A model folder that may hold `eval_results.json` and `cross_validation.json`.

    Returns:
        The results, or None when the folder holds neither file.

    Raises:
        ValueError: A results file is not valid JSON, lacks a field the card reads, or the two files disagree.
    """
    folder = Path(folder)
    evaluation, cross_validation = (
        read_report(folder / name) if (folder / name).is_file() else None
        for name in (EVAL_RESULTS_FILE, CROSS_VALIDATION_FILE)
    )
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


def card_metadata(
    repo_id: str, facts: DatasetFacts, results: TrainingResults | None, base_models: list[str] | None = None
) -> ModelCardData:
    """
    The card's YAML metadata.

    Args:
        repo_id: The repository (or local folder name) the card belongs to; names the `model-index` entry.
        facts: The data set of the model.
        results: Results to fill the `model-index` with; None leaves it out.
        base_models: The pretrained encoders the model starts from (`base_model`); None or empty leaves it out.
    """
    return ModelCardData(
        base_model=base_models or None,
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
# What the template is filled with
# ---------------------------------------------------------------------------------------------------------------------


def label_names(config: TACFNConfig) -> list[str]:
    """The class names in label-id order."""
    return [config.id2label[index] for index in range(config.num_labels)]


def count_parameters(config: TACFNConfig) -> tuple[int, int]:
    """Parameters of the classification model for `config`, and how many of them are the fused model's learned
    stand-ins for a missing modality; counted on the meta device (nothing is allocated)."""
    with torch.device("meta"):
        model = TACFNForAudioVisualClassification(config)
    stand_ins = model.tacfn.stand_ins.parameters() if model.tacfn.stand_ins is not None else ()
    return sum(parameter.numel() for parameter in model.parameters()), sum(value.numel() for value in stand_ins)


def base_models(config: TACFNConfig) -> list[str]:
    """The repositories of the pretrained encoders (`audio_config` / `video_config`) that the model starts from."""
    encoders = (config.audio_config, config.video_config)
    return [encoder.name_or_path for encoder in encoders if encoder is not None and encoder.name_or_path]


def encoder_descriptions(config: TACFNConfig) -> tuple[str, str]:
    """How the card describes the video and the audio encoder (built-in, or a pretrained Transformers encoder)."""
    if config.video_config is None:
        video = (
            f"{video_encoder_name(config)} encodes {config.num_frames} face frames of {config.image_size}x"
            f"{config.image_size} (cardinality {config.video_cardinality})"
        )
    else:
        time, height, width = config.video_feature_shape
        video = (
            f"{_encoder_name(config.video_config)} video Transformer encodes {config.num_frames} face frames of "
            f"{config.image_size}x{config.image_size} into patch tokens on a {time}x{height}x{width} grid, the map "
            "the fusion weights score"
        )
    if config.audio_config is None:
        audio = f"a 1D CNN encodes {config.num_mfcc} MFCCs x {config.num_audio_frames} frames of the speech"
    else:
        audio = (
            f"a {_encoder_name(config.audio_config)} speech encoder encodes the waveform, its hidden states projected "
            f"to {config.fusion_hidden_size} channels"
        )
    return video, audio


def _encoder_name(config) -> str:
    """A pretrained encoder's family and, when recorded, its repository: "wav2vec2 (facebook/wav2vec2-base)"."""
    return f"{config.model_type} ({config.name_or_path})" if config.name_or_path else config.model_type


def video_encoder_name(config: TACFNConfig) -> str:
    """The video encoder's name: "3D ResNeXt-50" for the published stages [3, 4, 6, 3] (3 layers per bottleneck, the
    stem and the classifier)."""
    return f"3D ResNeXt-{3 * sum(config.video_layers) + 2}"


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


def remote_code_requirements() -> list[str]:
    """The pip packages that the code files shipped with a model folder import, found by reading those files: the
    modules of the model and the processor and their relative imports (imports inside `try` blocks are optional and
    left out, as Transformers' own check leaves them out)."""
    entry_files = [inspect.getfile(TACFNForAudioVisualClassification), inspect.getfile(TACFNProcessor)]
    code_files = {file for entry in entry_files for file in [entry, *get_relative_import_files(entry)]}
    modules = {module for file in code_files for module in get_imports(file)} - set(sys.stdlib_module_names)
    return sorted({PIP_NAMES.get(module, module) for module in modules} | set(EXTRA_REMOTE_CODE_PACKAGES))


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
    preset: str | None = None,
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
        preset: The `hub_configs/presets.py` preset the model was built from, for the training command; None (a
            model built from a saved configuration) names the repository instead.

    Returns:
        A [`huggingface_hub.ModelCard`] with YAML metadata and the markdown body.
    """
    video = processor.video_processor
    num_parameters, num_stand_ins = count_parameters(config)
    return ModelCard.from_template(
        card_metadata(repo_id, facts, results, base_models(config)),
        template_path=str(TEMPLATE_PATH),
        repo_id=repo_id,
        config=config,
        video=video,
        audio=processor.feature_extractor,
        facts=facts,
        labels=label_names(config),
        num_parameters=num_parameters,
        num_stand_ins=num_stand_ins,
        encodings=encoder_descriptions(config),
        resample=PILImageResampling(int(video.resample)).name.lower(),
        pixel_scaling=pixel_scaling(video),
        requirements=remote_code_requirements(),
        metric_specs=METRICS,
        evaluation=results.evaluation if results is not None else None,
        cross_validation=results.cross_validation if results is not None else None,
        preset=preset,
        pictures=list(pictures or []),
        has_weights=has_weights,
    )


def check_classes(results: TrainingResults, config: TACFNConfig, folder: Path, repo_id: str) -> None:
    """Raises ValueError, naming the file, when results are for other classes than the model predicts."""
    classes = label_names(config)
    for name, report in results.reports().items():
        if report["label_names"] != classes:
            raise ValueError(
                f"{folder / name}: the results are for the classes {report['label_names']} (`label_names`), but the "
                f"model of {repo_id} predicts {', '.join(classes)}."
            )


def folder_dataset(folder: Path, config: TACFNConfig, results: TrainingResults | None) -> DatasetFacts:
    """The data set of a model folder: the one its results name, else the one whose standard classes it predicts."""
    if results is not None:
        return dataset_facts(results.summary["dataset"], str(folder))
    facts = dataset_for_labels(label_names(config))
    if facts is None:
        raise ValueError(
            f"{folder}: cannot tell which data set the model was trained on: it has no {EVAL_RESULTS_FILE} and its "
            f"classes ({', '.join(label_names(config))}) are not those of RAVDESS or IEMOCAP."
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
    beside them (with the preset it recorded there) and its pictures.

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
    if results is not None:
        check_classes(results, config, folder, repo_id)
    facts = folder_dataset(folder, config, results)
    preset = results.summary.get("preset") if results is not None else None
    return build_model_card(
        config, processor, repo_id, facts, results, folder_pictures(folder), has_weights(folder), preset
    )
