"""The TACFN web demo (Gradio): upload a talking-face clip or pick a demo clip, see the predicted emotions as a bar
chart and the attention picture (the fusion weights over the face frames). Served by `tacfn demo --model DIR` and by
`app.py` (a Hugging Face Space)."""

import os
import tempfile
import warnings
from pathlib import Path


# Gradio reports usage to its servers unless told not to; this demo makes no outside connections
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.image import imread  # noqa: E402

from .attention_picture import plot_attention_picture  # noqa: E402
from .demo_clips import write_demo_clips  # noqa: E402
from .demo_limits import MAX_CLIP_SECONDS, MAX_QUEUE_SIZE, MAX_UPLOAD_MB  # noqa: E402
from .model_folder import load_classifier  # noqa: E402
from processing.media_io_tacfn import describe_media, open_media  # noqa: E402
from .timeline_output import plot_timeline  # noqa: E402
from processing.pipeline_tacfn import TACFNAudioVisualClassificationPipeline  # noqa: E402
from processing.processing_tacfn import LONG_CLIP_FACTOR  # noqa: E402
from processing.timeline_tacfn import DEFAULT_WINDOW_SECONDS  # noqa: E402


DESCRIPTION = """\
# TACFN: emotion from a talking face

Upload a short clip of one person speaking (mp4, avi, mov, mkv; about 3 seconds), or a recording of the voice alone
(wav, mp3, m4a), or pick a demo clip, then press **Recognise emotion**. The model looks at the face frames and listens
to the voice (or, when the clip has only one of them, answers from that one); the attention picture shows its fusion
weights α: where in the face frames the voice directed the model's look, one row per time slice. A longer video is
predicted window by window (3.5 s each) and shown as an emotion timeline.
"""
# system fonts only: the page must not need to fetch fonts from the internet
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


def recognise(
    classifier: TACFNAudioVisualClassificationPipeline,
    video_path: str | None,
    audio_path: str | None = None,
    max_seconds: float = MAX_CLIP_SECONDS,
):
    """
    Predict the emotions of an uploaded clip (a video, a voice recording, or a video with a separate recording as its
    audio) and draw its attention picture. A prediction made without one of the modalities says so on the page.

    Args:
        classifier ([`TACFNAudioVisualClassificationPipeline`]): The pipeline.
        video_path (`str`, *optional*): The clip Gradio received.
        audio_path (`str`, *optional*): The voice recording Gradio received.
        max_seconds (`float`, *optional*, defaults to `MAX_CLIP_SECONDS`): Longer uploads are refused.

    Returns:
        `({label: score} for every emotion, the attention picture as a uint8 RGB array, or None for unimodal models and
        clips without video)`. Problems with the clip are shown on the page: `gr.Error` for a clip that cannot be used,
        `gr.Warning` for what the processor warned about (no face found), `gr.Info` when a modality was missing.
    """
    if video_path is None and audio_path is None:
        raise gr.Error("Upload a clip or a voice recording, or pick a demo clip first.")
    for path in (video_path, audio_path):
        if path is not None:
            _check_duration(path, max_seconds)
    has_fusion = classifier.model.config.modality == "both"
    clip = {"video": video_path, "audio": audio_path}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            output = classifier(clip, top_k=classifier.model.config.num_labels, return_fusion_weights=has_fusion)
        except ValueError as error:
            raise gr.Error(f"This clip cannot be used: {error}") from error
    for message in dict.fromkeys(str(warning.message) for warning in caught):
        gr.Warning(message)
    predictions = output["predictions"] if has_fusion else output
    scores = {item["label"]: item["score"] for item in predictions}
    used = predictions[0]["modalities"]
    if len(used) == 1 and has_fusion:
        gr.Info(f"Answered from the {used[0]} alone: the clip has no {'video' if used[0] == 'audio' else 'audio'}.")
    if not has_fusion or output["fusion_weights"] is None:
        return scores, None
    with tempfile.TemporaryDirectory() as scratch:
        path = plot_attention_picture(
            output["frames"],
            output["fusion_weights"],
            Path(scratch) / "attention.png",
            predictions=predictions,
            title=Path(video_path).name,
        )
        # (height, width, 4) floats in [0, 1] -> (height, width, 3) uint8; Gradio keeps (and expires) its own copy
        picture = (imread(path)[..., :3] * 255).round().astype(np.uint8)
    return scores, picture


def _check_duration(video_path: str, max_seconds: float) -> float:
    """Refuse (with `gr.Error`) a clip that is not a readable media file or states a duration over `max_seconds`;
    returns the duration it states (0 when it states none: the pipeline then checks the clip). Only its container's
    header is read."""
    try:
        with open_media(video_path, "media") as (path, container):
            duration = describe_media(path, container, "media", count_frames=False).duration
    except ValueError as error:
        raise gr.Error(f"This clip cannot be used: {error}") from error
    if duration > max_seconds:
        raise gr.Error(
            f"This recording is {duration:.1f} s long; the demo takes recordings of up to {max_seconds:g} s. "
            "Cut it, or run `tacfn predict --window 3.5` on your machine."
        )
    return duration


def recognise_recording(
    classifier: TACFNAudioVisualClassificationPipeline,
    video_path: str | None,
    audio_path: str | None = None,
    max_seconds: float = MAX_CLIP_SECONDS,
):
    """
    `recognise` for a short clip or a voice recording; a long video given alone (over `LONG_CLIP_FACTOR` times the
    audio the model hears, up to `max_seconds`) is predicted as a timeline of `DEFAULT_WINDOW_SECONDS` windows instead,
    its scores averaged over the windows.

    Returns:
        `(scores, attention picture or None, timeline picture or None)`.
    """
    long_clip = LONG_CLIP_FACTOR * classifier.processor.feature_extractor.audio_read_seconds
    if video_path is None or audio_path is not None or _check_duration(video_path, max_seconds) <= long_clip:
        return (*recognise(classifier, video_path, audio_path, max_seconds), None)
    labels = [classifier.model.config.id2label[index] for index in range(classifier.model.config.num_labels)]
    try:
        timeline = classifier.predict_timeline(
            video_path, DEFAULT_WINDOW_SECONDS, DEFAULT_WINDOW_SECONDS, top_k=len(labels), require_audio=False
        )
    except ValueError as error:
        raise gr.Error(f"This recording cannot be used: {error}") from error
    scores = {
        label: float(np.mean([next(item["score"] for item in window["predictions"] if item["label"] == label)
                              for window in timeline]))
        for label in labels
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        path = plot_timeline(timeline, labels, Path(scratch) / "timeline.png", title=Path(video_path).name)
        picture = (imread(path)[..., :3] * 255).round().astype(np.uint8)
    return scores, None, picture


def build_demo(
    classifier: TACFNAudioVisualClassificationPipeline, example_clips: list, max_seconds: float = MAX_CLIP_SECONDS
) -> gr.Blocks:
    """
    The demo page.

    Args:
        classifier ([`TACFNAudioVisualClassificationPipeline`]): The pipeline that answers.
        example_clips (`list[str | Path]`): Clips offered as examples.
        max_seconds (`float`, *optional*, defaults to `MAX_CLIP_SECONDS`): Longer uploads are refused.

    Returns:
        `gr.Blocks`, not yet launched.
    """
    num_labels = classifier.model.config.num_labels
    # files Gradio keeps for the page (uploads, pictures) are deleted after a day
    with gr.Blocks(title="TACFN emotion recognition", delete_cache=(3600, 86400)) as demo:
        gr.Markdown(DESCRIPTION)
        with gr.Row():
            with gr.Column():
                video = gr.Video(label="Talking-face clip", sources=["upload"], include_audio=True, elem_id="clip")
                audio = gr.Audio(label="Or a voice recording", sources=["upload"], type="filepath", elem_id="voice")
                button = gr.Button("Recognise emotion", variant="primary", elem_id="recognise")
                gr.Examples(
                    examples=[[str(clip)] for clip in example_clips],
                    inputs=video,
                    label="Demo clips",
                    example_labels=[Path(clip).stem.replace("_", " ") for clip in example_clips],
                )
            with gr.Column():
                emotions = gr.Label(label="Emotion", num_top_classes=num_labels, elem_id="emotion")
        picture = gr.Image(
            label="Attention picture: the fusion weights α, where the voice directed the model's look",
            type="numpy",
            elem_id="attention-picture",
        )
        timeline = gr.Image(
            label="Emotion timeline of a long recording (one point per 3.5 s window)", type="numpy", elem_id="timeline"
        )
        button.click(
            lambda video_path, audio_path: recognise_recording(classifier, video_path, audio_path, max_seconds),
            inputs=[video, audio],
            outputs=[emotions, picture, timeline],
            api_name="recognise",
        )
    return demo


def launch_demo(
    model: str,
    host: str | None = "127.0.0.1",
    port: int | None = None,
    device=None,
    max_upload_mb: float = MAX_UPLOAD_MB,
    max_seconds: float = MAX_CLIP_SECONDS,
    max_queue_size: int = MAX_QUEUE_SIZE,
) -> None:
    """
    Load a model, write the demo clips (to a new temporary folder) and serve the demo until interrupted, with the
    limits a public Space needs.

    Args:
        model (`str`): Model folder or Hub repository id (with its processor).
        host (`str`, *optional*, defaults to `"127.0.0.1"`): Address to listen on; `None` lets Gradio choose (its
            `GRADIO_SERVER_NAME` environment variable, as on Hugging Face Spaces).
        port (`int`, *optional*): Port; `None` lets Gradio choose (7860, or `GRADIO_SERVER_PORT`).
        device (`int`, `str` or `torch.device`, *optional*): Where the model runs.
        max_upload_mb (`float`, *optional*, defaults to `MAX_UPLOAD_MB`): Largest upload, in megabytes.
        max_seconds (`float`, *optional*, defaults to `MAX_CLIP_SECONDS`): Longest clip, in seconds.
        max_queue_size (`int`, *optional*, defaults to `MAX_QUEUE_SIZE`): Requests that may wait; one runs at a time.
    """
    classifier = load_classifier(model, device=device)
    clips_dir = Path(tempfile.mkdtemp(prefix="tacfn-demo-clips-"))
    demo = build_demo(classifier, write_demo_clips(clips_dir), max_seconds)
    demo.queue(max_size=max_queue_size, default_concurrency_limit=1)
    demo.launch(
        max_file_size=f"{max_upload_mb:g}mb",
        server_name=host,
        server_port=port,
        theme=THEME,
        allowed_paths=[str(clips_dir)],
        footer_links=[],
        ssr_mode=False,
    )
