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
from .model_folder import load_classifier  # noqa: E402
from processing.pipeline_tacfn import TACFNAudioVisualClassificationPipeline  # noqa: E402


DESCRIPTION = """\
# TACFN: emotion from a talking face

Upload a short clip of one person speaking (mp4, avi, mov, mkv; about 3 seconds), or a recording of the voice alone
(wav, mp3, m4a), or pick a demo clip, then press **Recognise emotion**. The model looks at the face frames and listens
to the voice (or, when the clip has only one of them, answers from that one); the attention picture shows its fusion
weights α: where in the face frames the voice directed the model's look, one row per time slice.
"""
# system fonts only: the page must not need to fetch fonts from the internet
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


def recognise(
    classifier: TACFNAudioVisualClassificationPipeline, video_path: str | None, audio_path: str | None = None
):
    """
    Predict the emotions of an uploaded clip (a video, a voice recording, or a video with a separate recording as its
    audio) and draw its attention picture. A prediction made without one of the modalities says so on the page.

    Args:
        classifier ([`TACFNAudioVisualClassificationPipeline`]): The pipeline.
        video_path (`str`, *optional*): The clip Gradio received.
        audio_path (`str`, *optional*): The voice recording Gradio received.

    Returns:
        `({label: score} for every emotion, the attention picture as a uint8 RGB array, or None for unimodal models and
        clips without video)`. Problems with the clip are shown on the page: `gr.Error` for a clip that cannot be used,
        `gr.Warning` for what the processor warned about (no face found), `gr.Info` when a modality was missing.
    """
    if video_path is None and audio_path is None:
        raise gr.Error("Upload a clip or a voice recording, or pick a demo clip first.")
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


def build_demo(classifier: TACFNAudioVisualClassificationPipeline, example_clips: list) -> gr.Blocks:
    """
    The demo page.

    Args:
        classifier ([`TACFNAudioVisualClassificationPipeline`]): The pipeline that answers.
        example_clips (`list[str | Path]`): Clips offered as examples.

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
        button.click(
            lambda video_path, audio_path: recognise(classifier, video_path, audio_path),
            inputs=[video, audio],
            outputs=[emotions, picture],
        )
    return demo


def launch_demo(model: str, host: str | None = "127.0.0.1", port: int | None = None, device=None) -> None:
    """
    Load a model, write the demo clips (to a new temporary folder) and serve the demo until interrupted.

    Args:
        model (`str`): Model folder or Hub repository id (with its processor).
        host (`str`, *optional*, defaults to `"127.0.0.1"`): Address to listen on; `None` lets Gradio choose (its
            `GRADIO_SERVER_NAME` environment variable, as on Hugging Face Spaces).
        port (`int`, *optional*): Port; `None` lets Gradio choose (7860, or `GRADIO_SERVER_PORT`).
        device (`int`, `str` or `torch.device`, *optional*): Where the model runs.
    """
    classifier = load_classifier(model, device=device)
    clips_dir = Path(tempfile.mkdtemp(prefix="tacfn-demo-clips-"))
    demo = build_demo(classifier, write_demo_clips(clips_dir))
    demo.launch(
        server_name=host,
        server_port=port,
        theme=THEME,
        allowed_paths=[str(clips_dir)],
        footer_links=[],
        ssr_mode=False,
    )
