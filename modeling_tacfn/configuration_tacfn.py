"""TACFN model configuration."""

from transformers import AutoConfig, PretrainedConfig
from transformers.configuration_utils import SubConfigSpec

from .encoder_configs_tacfn import as_encoder_config, check_audio_encoder_config, video_token_grid


RAVDESS_EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
# the encoders a model is built with (`TACFNConfig.modality`): the fused model, or one encoder alone
MODEL_MODALITIES = ("both", "video", "audio")
FUSION_SOFTMAX_SCOPES = ("spacetime", "space")


def conv_output_length(length: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """Length of a convolution or pooling output along one axis (floor rounding, as torch does)."""
    return (length + 2 * padding - kernel_size) // stride + 1


class TACFNConfig(PretrainedConfig):
    r"""
    Configuration of a TACFN model (Transformer-based Adaptive Cross-modal Fusion Network, Liu et al. 2023) for
    audio-visual emotion recognition. The defaults give the published RAVDESS model: a 3D ResNeXt-50 over 30 face frames
    of 224x224, a 1D CNN over 13 MFCC x 212 frames, one adaptive cross-modal block from audio to video and a linear
    classifier over 8 emotions (the published network's 26,301,417 parameters, plus 3,776 learned stand-ins that let the
    fused model answer a clip whose audio or video is missing).

    Args:
        num_frames (`int`, *optional*, defaults to 30):
            Number of video frames per clip.
        image_size (`int`, *optional*, defaults to 224):
            Height and width of every (square) video frame.
        num_channels (`int`, *optional*, defaults to 3):
            Colour channels of a video frame.
        num_mfcc (`int`, *optional*, defaults to 13):
            MFCC coefficients per audio frame (input channels of the audio encoder).
        num_audio_frames (`int`, *optional*, defaults to 212):
            MFCC frames per clip (2.45 s at 44.1 kHz with a hop of 512 samples).
        modality (`str`, *optional*, defaults to `"both"`):
            `"both"` builds the fused model; `"video"` or `"audio"` builds one encoder and its classifier alone, the
            unimodal models of the paper's first training stage.
        video_stem_channels (`int`, *optional*, defaults to 64):
            Output channels of the 7x7x7 stem convolution (spatial stride 2, temporal stride 1).
        video_stem_activation (`bool`, *optional*, defaults to `True`):
            Apply a ReLU after the stem batch norm. The published multimodal code leaves it out; converted original
            weights set it to `False` to give the original outputs.
        video_layers (`list[int]`, *optional*, defaults to `[3, 4, 6, 3]`):
            Number of bottleneck blocks in each of the video encoder's stages.
        video_hidden_sizes (`list[int]`, *optional*, defaults to `[256, 512, 1024, 2048]`):
            Output channels of each stage. A block's grouped 3x3x3 convolution is `hidden_size / video_expansion` wide.
        video_cardinality (`int`, *optional*, defaults to 32):
            Groups of every grouped 3x3x3 convolution.
        video_expansion (`int`, *optional*, defaults to 2):
            Ratio between a block's output channels and its bottleneck width.
        audio_hidden_sizes (`list[int]`, *optional*, defaults to `[32, 32, 64]`):
            Output channels of the audio encoder's three 1D convolutions. The last one is also the width of the fusion
            Transformer and of the splicing scores.
        audio_kernel_sizes (`list[int]`, *optional*, defaults to `[7, 7, 5]`):
            Kernel sizes of the three 1D convolutions.
        audio_padding (`int`, *optional*, defaults to 2):
            Zero padding on both sides of every 1D convolution.
        audio_pool_size (`int`, *optional*, defaults to 8):
            Kernel and stride of the max pooling after the second convolution.
        audio_dropouts (`list[float]`, *optional*, defaults to `[0.2, 0.4]`):
            Dropout after the second and after the third convolution block.
        fusion_num_heads (`int`, *optional*, defaults to 8):
            Attention heads of the intra-modal selection Transformer; must divide `audio_hidden_sizes[-1]`.
        fusion_num_layers (`int`, *optional*, defaults to 5):
            Pre-norm layers of the selection Transformer.
        fusion_intermediate_size (`int`, *optional*):
            Width of the selection Transformer's feed-forward layers; defaults to 4 x `audio_hidden_sizes[-1]`.
        fusion_embed_dropout (`float`, *optional*, defaults to 0.3):
            Dropout on the scaled audio sequence plus positions, before the first layer.
        fusion_dropout (`float`, *optional*, defaults to 0.1):
            Dropout on the attention weights, the feed-forward activations and both residual branches of every layer.
        fusion_softmax (`str`, *optional*, defaults to `"spacetime"`):
            Positions the splicing weights are normalised over: `"spacetime"`, all positions of the video feature map
            (the paper's formulation), or `"space"`, the height x width positions of each time slice separately (the
            published code; converted original weights set it).
        modality_dropout (`float`, *optional*, defaults to 0.0):
            Probability that training removes one modality of a clip (audio or video, equally likely), so that the
            fused model learns to answer from the other one through its learned stand-ins (`video_mask` /
            `audio_mask` in the model's forward). The training recipe (`training/train.py`) applies it, drawn per
            clip from the run's seed, the epoch and the clip, like the augmentation; the model itself never drops
            anything. 0 (no modality dropout) in the published settings; fused model only.
        classifier_dropout (`float`, *optional*, defaults to 0.0):
            Dropout on the clip representation before the classifier.
        hidden_size (`int`, *optional*):
            Width of the clip representation the classifier sees: video channels + audio channels x audio steps for
            `"both"` (3712 for the published setting). Always derived from the other arguments (a read-only property);
            when given it must match.
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of the normal initialisation of linear layers.
        audio_config (`dict` or `PretrainedConfig`, *optional*):
            Configuration of a Transformers raw-waveform speech encoder (wav2vec2, HuBERT, WavLM, Data2VecAudio, ...)
            that replaces the built-in MFCC encoder; serialised inside `config.json` as composite Transformers models
            do (a `dict` needs its `model_type`). Its hidden states, projected to `audio_projection_size`, feed the
            selection Transformer; the classifier reads their mean over the clip's frames. The model then takes
            `input_values` (a 16 kHz waveform) instead of `input_features`, and the `audio_hidden_sizes`,
            `audio_kernel_sizes`, `audio_padding`, `audio_pool_size`, `audio_dropouts`, `num_mfcc` and
            `num_audio_frames` settings are unused. See [`TACFNForAudioVisualClassification.from_encoders`].
        video_config (`dict` or `PretrainedConfig`, *optional*):
            Configuration of a Transformers video Transformer with tubelet patches (VideoMAE, ViViT) that replaces the
            built-in 3D ResNeXt; its patch tokens, at their (time, height, width) positions, are the map the fusion
            weights score and reinforce. `num_frames`, `image_size` and `num_channels` are then taken from it, and the
            other `video_*` settings are unused.
        audio_projection_size (`int`, *optional*, defaults to 256):
            Width of the fusion (selection Transformer and splicing scores) when `audio_config` is given: the audio
            encoder's hidden states are projected to it. Unused with the built-in audio encoder, whose output channels
            set the width.
        kwargs:
            Passed to [`PretrainedConfig`], e.g. `id2label` / `label2id` (defaults: the 8 RAVDESS emotions) and
            `problem_type`.

    Example:

    ```python
    >>> from modeling_tacfn import TACFNConfig, TACFNForAudioVisualClassification
    >>> config = TACFNConfig()
    >>> model = TACFNForAudioVisualClassification(config)
    >>> config.hidden_size
    3712
    ```
    """

    model_type = "tacfn"
    # optional: `None` keeps the built-in encoder; a dict without `model_type` is read as the default family's
    sub_configs_defaults = {
        "audio_config": SubConfigSpec(config_class=AutoConfig, model_type="wav2vec2", optional=True),
        "video_config": SubConfigSpec(config_class=AutoConfig, model_type="videomae", optional=True),
    }

    def __init__(
        self,
        num_frames: int = 30,
        image_size: int = 224,
        num_channels: int = 3,
        num_mfcc: int = 13,
        num_audio_frames: int = 212,
        modality: str = "both",
        video_stem_channels: int = 64,
        video_stem_activation: bool = True,
        video_layers: list[int] | None = None,
        video_hidden_sizes: list[int] | None = None,
        video_cardinality: int = 32,
        video_expansion: int = 2,
        audio_hidden_sizes: list[int] | None = None,
        audio_kernel_sizes: list[int] | None = None,
        audio_padding: int = 2,
        audio_pool_size: int = 8,
        audio_dropouts: list[float] | None = None,
        fusion_num_heads: int = 8,
        fusion_num_layers: int = 5,
        fusion_intermediate_size: int | None = None,
        fusion_embed_dropout: float = 0.3,
        fusion_dropout: float = 0.1,
        fusion_softmax: str = "spacetime",
        modality_dropout: float = 0.0,
        classifier_dropout: float = 0.0,
        hidden_size: int | None = None,
        initializer_range: float = 0.02,
        audio_config: dict | PretrainedConfig | None = None,
        video_config: dict | PretrainedConfig | None = None,
        audio_projection_size: int = 256,
        **kwargs,
    ):
        if "id2label" not in kwargs and "num_labels" not in kwargs:
            kwargs["id2label"] = dict(enumerate(RAVDESS_EMOTIONS))
        # set before `PretrainedConfig.__init__`, which reads the sub-configurations
        self.audio_config = as_encoder_config(audio_config, "audio_config")
        self.video_config = as_encoder_config(video_config, "video_config")
        super().__init__(**kwargs)
        if self.video_config is not None:
            video_token_grid(self.video_config)  # a ValueError unless it is a tubelet video Transformer
            num_frames, image_size = self.video_config.num_frames, self.video_config.image_size
            num_channels = self.video_config.num_channels
        self.num_frames = num_frames
        self.image_size = image_size
        self.num_channels = num_channels
        self.num_mfcc = num_mfcc
        self.num_audio_frames = num_audio_frames
        self.modality = modality
        self.video_stem_channels = video_stem_channels
        self.video_stem_activation = video_stem_activation
        self.video_layers = list(video_layers or [3, 4, 6, 3])
        self.video_hidden_sizes = list(video_hidden_sizes or [256, 512, 1024, 2048])
        self.video_cardinality = video_cardinality
        self.video_expansion = video_expansion
        self.audio_hidden_sizes = list(audio_hidden_sizes or [32, 32, 64])
        self.audio_kernel_sizes = list(audio_kernel_sizes or [7, 7, 5])
        self.audio_padding = audio_padding
        self.audio_pool_size = audio_pool_size
        self.audio_dropouts = list(audio_dropouts or [0.2, 0.4])
        self.fusion_num_heads = fusion_num_heads
        self.fusion_num_layers = fusion_num_layers
        self.fusion_intermediate_size = fusion_intermediate_size or 4 * self.audio_hidden_sizes[-1]
        self.fusion_embed_dropout = fusion_embed_dropout
        self.fusion_dropout = fusion_dropout
        self.fusion_softmax = fusion_softmax
        self.modality_dropout = modality_dropout
        self.classifier_dropout = classifier_dropout
        self.initializer_range = initializer_range
        self.audio_projection_size = audio_projection_size
        self._validate_architecture()
        if hidden_size is not None and hidden_size != self.hidden_size:
            raise ValueError(
                f"hidden_size={hidden_size} does not match the architecture, whose clip representation is "
                f"{self.hidden_size} wide; leave hidden_size unset to derive it."
            )

    @property
    def hidden_size(self) -> int:
        """Width of the clip representation the classifier sees (3712 for the published setting)."""
        return {
            "both": self.video_embeds_size + self.audio_embeds_size,
            "video": self.video_embeds_size,
            "audio": self.audio_embeds_size,
        }[self.modality]

    @property
    def video_embeds_size(self) -> int:
        """Width of the pooled video representation: the last stage's channels, or the video encoder's hidden size."""
        return self.video_config.hidden_size if self.video_config is not None else self.video_hidden_sizes[-1]

    @property
    def audio_embeds_size(self) -> int:
        """Width of the audio representation: the built-in encoder's flattened sequence (channels x steps), or the
        fusion width for a pretrained audio encoder (its projected hidden states averaged over the clip)."""
        if self.audio_config is not None:
            return self.fusion_hidden_size
        return self.audio_hidden_sizes[-1] * self.audio_sequence_length

    @property
    def audio_input_name(self) -> str:
        """The model's audio input: `"input_features"` (MFCC) for the built-in encoder, `"input_values"` (a waveform)
        for a pretrained one."""
        return "input_features" if self.audio_config is None else "input_values"

    @property
    def fusion_hidden_size(self) -> int:
        """Width of the selection Transformer and of the splicing scores: the built-in audio encoder's output channels,
        or `audio_projection_size` for a pretrained audio encoder."""
        return self.audio_projection_size if self.audio_config is not None else self.audio_hidden_sizes[-1]

    @property
    def video_feature_shape(self) -> tuple[int, int, int]:
        """(time, height, width) of the video encoder's last feature map; (2, 7, 7) for the published setting, the
        tubelet grid of a pretrained video encoder."""
        if self.video_config is not None:
            return video_token_grid(self.video_config)
        time, side = self.num_frames, conv_output_length(self.image_size, 7, stride=2, padding=3)
        time, side = conv_output_length(time, 3, 2, 1), conv_output_length(side, 3, 2, 1)
        for _ in self.video_layers[1:]:
            time, side = conv_output_length(time, 3, 2, 1), conv_output_length(side, 3, 2, 1)
        return time, side, side

    @property
    def audio_sequence_length(self) -> int:
        """Time steps of the audio encoder's output; 26 for the published setting."""
        first, second, third = self.audio_kernel_sizes
        length = conv_output_length(self.num_audio_frames, first, padding=self.audio_padding)
        length = conv_output_length(length, second, padding=self.audio_padding)
        length = length // self.audio_pool_size
        return conv_output_length(length, third, padding=self.audio_padding)

    def _validate_architecture(self) -> None:
        if self.modality not in MODEL_MODALITIES:
            raise ValueError(f"modality must be one of {MODEL_MODALITIES}, got {self.modality!r}.")
        if self.fusion_softmax not in FUSION_SOFTMAX_SCOPES:
            raise ValueError(f"fusion_softmax must be one of {FUSION_SOFTMAX_SCOPES}, got {self.fusion_softmax!r}.")
        if not 0.0 <= self.modality_dropout <= 1.0 or (self.modality_dropout and self.modality != "both"):
            raise ValueError(
                f"modality_dropout must be a probability in [0, 1], and 0 unless modality='both'; got "
                f"{self.modality_dropout!r} for modality={self.modality!r}."
            )
        for modality, encoder_config in (("audio", self.audio_config), ("video", self.video_config)):
            if encoder_config is not None and self.modality not in ("both", modality):
                raise ValueError(f"{modality}_config is given but a {self.modality!r} model has no {modality} encoder.")
        if self.video_config is None:
            self._validate_video_encoder()
        if self.audio_config is None:
            self._validate_audio_encoder()
        else:
            check_audio_encoder_config(self.audio_config)
        if self.fusion_hidden_size % self.fusion_num_heads != 0:
            raise ValueError(
                f"fusion_num_heads={self.fusion_num_heads} does not divide the fusion width "
                f"audio_hidden_sizes[-1]={self.fusion_hidden_size}."
            )
        if self.fusion_hidden_size < 4 or self.fusion_hidden_size % 2:
            raise ValueError(
                f"the fusion width audio_hidden_sizes[-1]={self.fusion_hidden_size} must be even and at least 4: its "
                "sinusoidal positions are half sines, half cosines."
            )

    def _validate_video_encoder(self) -> None:
        if len(self.video_layers) != len(self.video_hidden_sizes) or not self.video_layers:
            raise ValueError(
                f"video_layers ({self.video_layers}) and video_hidden_sizes ({self.video_hidden_sizes}) must be "
                "non-empty and of the same length (one entry per stage)."
            )
        for hidden_size in self.video_hidden_sizes:
            width, remainder = divmod(hidden_size, self.video_expansion)
            if remainder or width % self.video_cardinality:
                raise ValueError(
                    f"video hidden size {hidden_size} / video_expansion={self.video_expansion} must be a whole "
                    f"multiple of video_cardinality={self.video_cardinality}."
                )
        if min(self.num_frames, self.image_size) < 1:
            raise ValueError(f"num_frames and image_size must be positive, got {self.num_frames}, {self.image_size}.")

    def _validate_audio_encoder(self) -> None:
        if len(self.audio_hidden_sizes) != 3 or len(self.audio_kernel_sizes) != 3 or len(self.audio_dropouts) != 2:
            raise ValueError(
                "the audio encoder has three convolutions and two dropouts: audio_hidden_sizes and audio_kernel_sizes "
                "need 3 entries, audio_dropouts 2."
            )
        if self.audio_sequence_length < 1:
            raise ValueError(
                f"num_audio_frames={self.num_audio_frames} is too short: the audio encoder (kernels "
                f"{self.audio_kernel_sizes}, padding {self.audio_padding}, pooling {self.audio_pool_size}) reduces it "
                "to nothing."
            )


__all__ = ["TACFNConfig"]
