"""Transformers pipeline for TACFN: the emotion of a talking-face clip, from a video file or from frames plus audio.

This file is copied flat into model folders (next to `config.json`, whose `custom_pipelines` names it) with
`fast_inference_tacfn.py`, so it imports nothing else from the TACFN packages: `pipeline("video-classification", model=FOLDER, trust_remote_code=True)` uses it on a
machine that only has the folder (or its Hub repository).
"""

import copy
import json
import os
import shutil
from pathlib import Path

import numpy as np
import torch
from transformers import Pipeline
from transformers.dynamic_module_utils import custom_object_save

from . import fast_inference_tacfn
from .fast_inference_tacfn import prepare_for_inference


PIPELINE_TASK = "video-classification"
# the task `import modeling_tacfn` registers the pipeline under; saved folders name it under `PIPELINE_TASK` instead
TASK = "audio-visual-emotion-recognition"
INPUT_KEYS = ("video", "audio", "sampling_rate", "landmarks", "video_start", "video_end")
FUNCTIONS_TO_APPLY = ("softmax", "sigmoid", "none")


def custom_pipelines_entry(pipeline_class: type) -> dict:
    """
    The `custom_pipelines` value of a model's `config.json` that makes `pipeline(PIPELINE_TASK, model=FOLDER,
    trust_remote_code=True)` use `pipeline_class` from the folder's copy of this file.

    Args:
        pipeline_class (`type`): The pipeline class, defined in this file.
    """
    module_file = pipeline_class.__module__.split(".")[-1]
    return {
        PIPELINE_TASK: {
            "impl": f"{module_file}.{pipeline_class.__name__}",
            "pt": ["AutoModelForVideoClassification"],
            "type": "multimodal",
        }
    }


def save_pipeline(model_dir) -> Path:
    """
    Copy `pipeline_tacfn.py` into a saved model folder and name it in `config.json` (`custom_pipelines`), so that
    `pipeline("video-classification", model=model_dir, trust_remote_code=True)` returns
    [`TACFNAudioVisualClassificationPipeline`] in any process, with or without this package installed.

    Call it after the last `save_pretrained` of the model (which rewrites `config.json`), e.g. after
    `Trainer.save_model()` or the weight converter; the folder must also hold the processor (`processor_config.json`).

    Args:
        model_dir (`str` or `os.PathLike`): A folder written by `TACFNForAudioVisualClassification.save_pretrained`.

    Returns:
        The path of the updated `config.json`.
    """
    folder = Path(model_dir)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ValueError(f"{str(folder)!r} holds no config.json; save the model there first (model.save_pretrained).")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{str(config_path)!r} is not valid JSON: {error}") from error
    if config.get("model_type") != "tacfn":
        raise ValueError(f"{str(config_path)!r} describes a {config.get('model_type')!r} model, not a TACFN model.")
    if not (folder / "processor_config.json").is_file():
        raise ValueError(
            f"{str(folder)!r} holds no processor_config.json; the pipeline needs the processor saved beside the model "
            "(processor.save_pretrained(folder))."
        )
    for code_file in (__file__, fast_inference_tacfn.__file__):
        shutil.copyfile(code_file, folder / Path(code_file).name)
    config["custom_pipelines"] = custom_pipelines_entry(TACFNAudioVisualClassificationPipeline)
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return config_path


def pixel_values_to_frames(
    pixel_values_videos: torch.Tensor,
    image_mean,
    image_std,
    rescale_factor: float = 1 / 255,
    channel_order: str = "rgb",
) -> np.ndarray:
    """
    Undo a video processor's rescaling and normalisation: model inputs back to displayable RGB frames.

    Args:
        pixel_values_videos (`torch.Tensor` of shape `(frames, 3, height, width)` or `(batch, frames, 3, height,
            width)`): Normalised frames, as the processor's `pixel_values_videos`.
        image_mean (`Sequence[float]`, *optional*): Per-channel mean subtracted by the processor; `None` when it did
            not normalise.
        image_std (`Sequence[float]`, *optional*): Per-channel standard deviation divided by; `None` when it did not
            normalise.
        rescale_factor (`float`, *optional*, defaults to 1/255): Factor the processor multiplied uint8 values by.
        channel_order (`str`, *optional*, defaults to `"rgb"`): Channel order of `pixel_values_videos` (`"bgr"` for
            processors that feed converted original weights); the result is RGB either way.

    Returns:
        `np.ndarray` of uint8 with shape `(..., frames, height, width, 3)`, RGB.
    """
    if pixel_values_videos.ndim not in (4, 5) or pixel_values_videos.shape[-3] != 3:
        raise ValueError(
            "pixel_values_videos must have shape (frames, 3, height, width) or (batch, frames, 3, height, width), "
            f"got {tuple(pixel_values_videos.shape)}."
        )
    if channel_order not in ("rgb", "bgr"):
        raise ValueError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}.")
    values = pixel_values_videos.detach().to("cpu", torch.float32)
    if image_mean is not None and image_std is not None:
        mean = torch.tensor(image_mean, dtype=torch.float32).view(3, 1, 1)
        std = torch.tensor(image_std, dtype=torch.float32).view(3, 1, 1)
        values = values * std + mean
    values = (values / rescale_factor).round().clamp(0, 255).to(torch.uint8)
    # (..., frames, 3, height, width) -> (..., frames, height, width, 3)
    frames = values.movedim(-3, -1).numpy()
    return frames[..., ::-1].copy() if channel_order == "bgr" else frames


def processor_frames(pixel_values_videos: torch.Tensor, video_processor) -> np.ndarray:
    """
    The displayable frames behind `pixel_values_videos` made by `video_processor`: [`pixel_values_to_frames`] with
    the processor's own rescaling, normalisation and channel order.

    Args:
        pixel_values_videos (`torch.Tensor` of shape `(frames, 3, height, width)` or `(batch, frames, 3, height,
            width)`): Model inputs from `video_processor`.
        video_processor (`TACFNVideoProcessor`): The video processor that made them.

    Returns:
        `np.ndarray` of uint8 with shape `(..., frames, height, width, 3)`, RGB.
    """
    normalised = video_processor.do_normalize
    return pixel_values_to_frames(
        pixel_values_videos,
        video_processor.image_mean if normalised else None,
        video_processor.image_std if normalised else None,
        video_processor.rescale_factor if video_processor.do_rescale else 1.0,
        video_processor.channel_order,
    )


class TACFNAudioVisualClassificationPipeline(Pipeline):
    r"""
    Emotion recognition from talking-face clips with a TACFN model and its `TACFNProcessor`.

    Inputs, one clip or a list of clips (a list is batched through a DataLoader with `batch_size` / `num_workers`):
    - a video file path: its frames and its own audio track (a fused model also answers a video without an audio
      track, from its frames);
    - an audio file path (wav, mp3, m4a, an mp4 without a video stream): its audio alone (fused and audio models);
    - a frame array (frames, height, width, 3), uint8 RGB: its frames alone (fused and video models; with
      `require_audio=False`, silence for audio instead);
    - a dict `{"video": path or frames, "audio": waveform or audio file, "sampling_rate": Hz, "landmarks": OpenFace
      CSV or (frames, 68, 2) array, "video_start": s, "video_end": s}` with `"video"`, `"audio"` or both
      (`"sampling_rate"` is required with a waveform; `video_start` / `video_end` predict a time window of a file).

    `predict_timeline(video, window, stride)` predicts every window of a long recording (decoding seeks to each).

    Returns, per clip, the `top_k` labels as `[{"label": str, "score": float, "modalities": ["video", "audio"]},
    ...]`, best first, where `"modalities"` names what the prediction used (a fused model answers a clip without
    audio or without video from the other modality and its learned stand-ins); with
    `return_fusion_weights=True` a dict `{"predictions": that list, "fusion_weights": np.ndarray (time, height, width),
    "frames": np.ndarray uint8 (frames, height, width, 3), "crop_source": str}`: the audio-driven fusion weights alpha
    over the video feature map (the model's `attentions` output) and the face frames the model saw, for drawing the
    attention picture (the fusion weights laid over the face frames), and where the face crop came from (`"csv"`,
    `"landmark_array"`, `"landmark_model"`, `"detector"`, `"centre"` or `"whole_frame"`). With
    `return_crop_source=True` alone: `{"predictions": that list, "crop_source": str}`.

    Call arguments (also accepted when building the pipeline):
        top_k (`int`, *optional*, defaults to 5): Labels returned per clip, at most the model's number of labels.
        function_to_apply (`str`, *optional*): `"softmax"`, `"sigmoid"` or `"none"`; by default softmax, sigmoid for
            multi-label models and none for regression, as in the built-in classification pipelines.
        return_fusion_weights (`bool`, *optional*, defaults to `False`): Also return the fusion weights alpha and the
            frames (fused models only).
        require_audio (`bool`, *optional*, defaults to `True`): With `False`, a clip without audio gets silence (and a
            warning) instead of being answered without audio, or, by a model that needs audio, refused.
        return_crop_source (`bool`, *optional*, defaults to `False`): Also say where each clip's face crop came from.

    Construction arguments (`pipeline(..., optimize_for_inference=False)`):
        optimize_for_inference (`bool`, *optional*): Run a copy of the model with its batch norms folded into its
            convolutions and its weights `channels_last_3d` (see `prepare_for_inference`: outputs equal to float
            rounding, about 1.5 times faster on a CPU); `pipeline.model` stays as it was. Defaults to `True` on the
            CPU.
        autocast_dtype (`str` or `torch.dtype`, *optional*): Run the model under `torch.autocast` in this dtype
            (`"bfloat16"`: about 1.8 times faster again on a CPU with bf16 support, logits within about 0.01).
    """

    _load_processor = True
    _load_image_processor = False
    _load_video_processor = False
    _load_feature_extractor = False
    _load_tokenizer = False

    def __init__(self, *args, optimize_for_inference=None, autocast_dtype=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.processor is None or not hasattr(self.processor, "video_processor"):
            raise ValueError(
                f"{self.__class__.__name__} needs the model's TACFNProcessor (processor_config.json in the model "
                "folder, or processor=...)."
            )
        optimize = optimize_for_inference if optimize_for_inference is not None else self.device.type == "cpu"
        self.inference_model = prepare_for_inference(copy.deepcopy(self.model)) if optimize else self.model
        self.autocast_dtype = getattr(torch, autocast_dtype) if isinstance(autocast_dtype, str) else autocast_dtype
        if self.autocast_dtype is not None and not isinstance(self.autocast_dtype, torch.dtype):
            raise ValueError(f"autocast_dtype must be a torch dtype or its name, got {autocast_dtype!r}.")

    def _sanitize_parameters(
        self,
        top_k=None,
        function_to_apply=None,
        return_fusion_weights=None,
        require_audio=None,
        return_crop_source=None,
        **kwargs,
    ):
        if kwargs:
            raise ValueError(f"{self.__class__.__name__} got unknown arguments {sorted(kwargs)}.")
        preprocess_params, forward_params, postprocess_params = {}, {}, {}
        if require_audio is not None:
            preprocess_params["require_audio"] = bool(require_audio)
        if return_crop_source is not None:
            postprocess_params["return_crop_source"] = bool(return_crop_source)
        if top_k is not None:
            if not isinstance(top_k, int) or top_k < 1:
                raise ValueError(f"top_k must be a positive integer, got {top_k!r}.")
            postprocess_params["top_k"] = top_k
        if function_to_apply is not None:
            if function_to_apply not in FUNCTIONS_TO_APPLY:
                raise ValueError(f"function_to_apply must be one of {FUNCTIONS_TO_APPLY}, got {function_to_apply!r}.")
            postprocess_params["function_to_apply"] = function_to_apply
        if return_fusion_weights is not None:
            if return_fusion_weights and self.model.config.modality != "both":
                raise ValueError(
                    f"return_fusion_weights=True needs the fused model; this one is {self.model.config.modality!r} "
                    "only and has no fusion weights."
                )
            forward_params["return_fusion_weights"] = bool(return_fusion_weights)
            postprocess_params["return_fusion_weights"] = bool(return_fusion_weights)
        return preprocess_params, forward_params, postprocess_params

    def preprocess(self, inputs, require_audio: bool = True) -> dict:
        """One clip (see the class doc) -> `pixel_values_videos` (1, frames, 3, H, W) and `input_features` (1, 13,
        212) in the model's dtype, and `video_mask` / `audio_mask` (1,): which of the two the clip has."""
        clip = _as_clip_dict(inputs)
        video, audio = clip.get("video"), clip.get("audio")
        model_inputs = self.processor(
            videos=audio if video is None and isinstance(audio, (str, os.PathLike)) else video,
            audio=None if video is None and isinstance(audio, (str, os.PathLike)) else audio,
            sampling_rate=clip.get("sampling_rate"),
            landmarks=clip.get("landmarks"),
            video_start=clip.get("video_start"),
            video_end=clip.get("video_end"),
            require_audio=require_audio,
            missing_modality="mask",
            return_crop_sources=True,
            return_tensors="pt",
        )
        crop_sources = model_inputs.pop("crop_sources")
        config = self.model.config
        if "pixel_values_videos" not in model_inputs:  # a waveform alone
            shape = (1, config.num_frames, config.num_channels, config.image_size, config.image_size)
            model_inputs["pixel_values_videos"] = torch.zeros(shape)
        needed = [modality for modality in ("video", "audio") if config.modality in (modality, "both")]
        if not any(bool(model_inputs[f"{modality}_mask"].all()) for modality in needed):
            missing = " or ".join(needed)
            raise ValueError(f"{_describe_input(clip)} has no {missing}, which this {config.modality!r} model needs.")
        # the masks stay boolean
        tensors = {
            name: tensor.to(self.dtype) if tensor.is_floating_point() else tensor
            for name, tensor in model_inputs.items()
        }
        return {"crop_sources": crop_sources, **tensors}

    def _forward(self, model_inputs: dict, return_fusion_weights: bool = False) -> dict:
        masks = {name: model_inputs[name] for name in ("video_mask", "audio_mask")}
        tensors = {name: value for name, value in model_inputs.items() if name != "crop_sources"}
        # a modality that no clip of the batch has is not computed at all
        audio_input = self.processor.feature_extractor.model_input_names[0]  # input_features, or input_values
        for name, mask in (("pixel_values_videos", masks["video_mask"]), (audio_input, masks["audio_mask"])):
            if not mask.any():
                tensors = {key: value for key, value in tensors.items() if key != name}
        with torch.autocast(self.device.type, dtype=self.autocast_dtype, enabled=self.autocast_dtype is not None):
            outputs = self.inference_model(**tensors, output_attentions=return_fusion_weights)
        result = {"logits": outputs.logits.float(), "crop_sources": model_inputs["crop_sources"], **masks}
        if return_fusion_weights and outputs.attentions is not None:  # None: no clip of the batch has video
            result["fusion_weights"] = outputs.attentions.float()
            result["pixel_values_videos"] = model_inputs["pixel_values_videos"]
        return result

    def postprocess(
        self,
        model_outputs: dict,
        top_k: int = 5,
        function_to_apply: str | None = None,
        return_fusion_weights: bool = False,
        return_crop_source: bool = False,
    ):
        logits = model_outputs["logits"][0].float()  # (1, num_labels) -> (num_labels,)
        scores = self._scores(logits, function_to_apply)
        top_scores, top_ids = scores.topk(min(top_k, scores.shape[-1]))
        id2label = self.model.config.id2label
        used = self._modalities_used(model_outputs)
        predictions = [
            {"label": id2label[index], "score": score, "modalities": used}
            for score, index in zip(top_scores.tolist(), top_ids.tolist())
        ]
        crop_source = model_outputs["crop_sources"][0]
        if not return_fusion_weights:
            return {"predictions": predictions, "crop_source": crop_source} if return_crop_source else predictions
        if "video" not in used:  # no video, no fusion
            return {"predictions": predictions, "fusion_weights": None, "frames": None, "crop_source": crop_source}
        return {
            "predictions": predictions,
            "fusion_weights": model_outputs["fusion_weights"][0].float().numpy(),  # (time, height, width)
            "frames": processor_frames(model_outputs["pixel_values_videos"][0], self.processor.video_processor),
            "crop_source": crop_source,
        }

    def predict_timeline(self, video, window: float, stride: float, **kwargs) -> list[dict]:
        """
        Predict every window of a long recording: the windows `(start, end)` that the processor's `timeline_windows`
        cuts it into, each decoded by seeking to it, its frames spread over the window and its audio read from the
        window's start (as a clip of that length would be).

        Args:
            video (`str` or `os.PathLike`): The video file.
            window (`float`): Seconds of each window (3.5, a RAVDESS clip's length, is what the model was trained on).
            stride (`float`): Seconds between window starts.
            kwargs: Call arguments of the pipeline (`top_k`, `require_audio`, ...), for every window.

        Returns:
            `list[dict]`, one per window in time order: `{"start": s, "end": s, "predictions": [...], "crop_source":
            str}` (and the fusion weights and frames with `return_fusion_weights=True`).
        """
        windows = self.processor.timeline_windows(video, window, stride)
        inputs = [{"video": video, "video_start": start, "video_end": end} for start, end in windows]
        kwargs["return_crop_source"] = True
        return [
            {"start": start, "end": end, **output}
            for (start, end), output in zip(windows, self(inputs, **kwargs))
        ]

    def _modalities_used(self, model_outputs: dict) -> list[str]:
        """The modalities one clip's prediction used: those the model has and the clip has."""
        modality = self.model.config.modality
        return [
            name
            for name in ("video", "audio")
            if modality in (name, "both") and bool(model_outputs[f"{name}_mask"].all())
        ]

    def _scores(self, logits: torch.Tensor, function_to_apply: str | None = None) -> torch.Tensor:
        """Logits (num_labels,) -> scores, by `function_to_apply` or by the model's `problem_type`."""
        if function_to_apply is None:
            function_to_apply = {"regression": "none", "multi_label_classification": "sigmoid"}.get(
                self.model.config.problem_type, "softmax"
            )
        if function_to_apply == "softmax":
            return logits.softmax(-1)
        if function_to_apply == "sigmoid":
            return logits.sigmoid()
        return logits

    def save_pretrained(self, save_directory, **kwargs):
        """
        Save the model, the processor and this file into `save_directory`, with `custom_pipelines` in `config.json`
        so that `pipeline("video-classification", model=save_directory, trust_remote_code=True)` gives this pipeline.

        Args:
            save_directory (`str` or `os.PathLike`): The folder, created when missing.
            kwargs: Passed to the model's `save_pretrained` (e.g. `max_shard_size`).
        """
        if os.path.isfile(save_directory):
            raise ValueError(f"save_directory {os.fspath(save_directory)!r} is a file, not a folder.")
        os.makedirs(save_directory, exist_ok=True)
        custom_object_save(self, save_directory)
        self.model.config.custom_pipelines = custom_pipelines_entry(type(self))
        self.model.save_pretrained(save_directory, **kwargs)
        self.processor.save_pretrained(save_directory)


def _as_clip_dict(inputs) -> dict:
    """A pipeline input (path, frame array or dict) as a dict with at least `"video"`."""
    if isinstance(inputs, (np.ndarray, torch.Tensor)) and inputs.ndim != 4:
        raise ValueError(
            f"a frame array input is one clip of shape (frames, height, width, 3), got shape {tuple(inputs.shape)}; "
            "pass a list for several clips."
        )
    if isinstance(inputs, (str, os.PathLike, np.ndarray, torch.Tensor)):
        return {"video": inputs}
    if isinstance(inputs, dict):
        unknown = sorted(set(inputs) - set(INPUT_KEYS))
        if unknown:
            raise ValueError(f"a clip dict takes the keys {list(INPUT_KEYS)}; got unknown keys {unknown}.")
        if inputs.get("video") is None and inputs.get("audio") is None:
            raise ValueError(
                "a clip dict needs a 'video' entry (a video file path or uint8 frames), an 'audio' entry, or both."
            )
        return inputs
    raise ValueError(
        "each input must be a video file path, a uint8 frame array (frames, height, width, 3) or a dict with "
        f"{list(INPUT_KEYS)}; got {type(inputs).__name__}."
    )


def _describe_input(clip: dict) -> str:
    """A clip's input for messages: its file, or what it was given as."""
    source = clip.get("video") if clip.get("video") is not None else clip.get("audio")
    return f"input {os.fspath(source)!r}" if isinstance(source, (str, os.PathLike)) else "the input clip"
