"""TACFN configuration and models. Importing this package registers TACFN with the Transformers Auto classes: the
configuration and models (`AutoConfig`, `AutoModel`, `AutoModelForVideoClassification`), the preprocessing classes of
`processing` (`AutoFeatureExtractor`, `AutoVideoProcessor`, `AutoProcessor`) and the pipeline task
`audio-visual-emotion-recognition` (the built-in `video-classification` task is left alone for other models). It also
marks every class for `trust_remote_code` saving: their code files are copied into saved folders, with the `auto_map`
entries that load them."""

from transformers import (
    AutoConfig,
    AutoFeatureExtractor,
    AutoModel,
    AutoModelForVideoClassification,
    AutoProcessor,
    AutoVideoProcessor,
)
from transformers.pipelines import PIPELINE_REGISTRY

from processing import (
    TASK,
    TACFNAudioVisualClassificationPipeline,
    TACFNFeatureExtractor,
    TACFNProcessor,
    TACFNVideoProcessor,
    TACFNWaveformFeatureExtractor,
)

from .configuration_tacfn import TACFNConfig
from .modeling_tacfn import (
    TACFNAudioVisualClassifierOutput,
    TACFNForAudioVisualClassification,
    TACFNModel,
    TACFNModelOutput,
    TACFNPreTrainedModel,
)


AutoConfig.register(TACFNConfig.model_type, TACFNConfig, exist_ok=True)
AutoModel.register(TACFNConfig, TACFNModel, exist_ok=True)
AutoModelForVideoClassification.register(TACFNConfig, TACFNForAudioVisualClassification, exist_ok=True)
AutoFeatureExtractor.register(TACFNConfig, TACFNFeatureExtractor, exist_ok=True)
# found by the class name saved in its config (a name key, since TACFNConfig's entry is the MFCC extractor)
AutoFeatureExtractor.register(TACFNWaveformFeatureExtractor.__name__, TACFNWaveformFeatureExtractor, exist_ok=True)
AutoVideoProcessor.register(TACFNConfig, TACFNVideoProcessor, exist_ok=True)
AutoProcessor.register(TACFNConfig, TACFNProcessor, exist_ok=True)
TACFNConfig.register_for_auto_class()
TACFNModel.register_for_auto_class("AutoModel")
TACFNForAudioVisualClassification.register_for_auto_class("AutoModelForVideoClassification")
TACFNFeatureExtractor.register_for_auto_class("AutoFeatureExtractor")
TACFNWaveformFeatureExtractor.register_for_auto_class("AutoFeatureExtractor")
TACFNVideoProcessor.register_for_auto_class("AutoVideoProcessor")
TACFNProcessor.register_for_auto_class("AutoProcessor")
PIPELINE_REGISTRY.register_pipeline(
    TASK,
    pipeline_class=TACFNAudioVisualClassificationPipeline,
    pt_model=AutoModelForVideoClassification,
    type="multimodal",
)

__all__ = [
    "TACFNConfig",
    "TACFNPreTrainedModel",
    "TACFNModel",
    "TACFNForAudioVisualClassification",
    "TACFNModelOutput",
    "TACFNAudioVisualClassifierOutput",
]
