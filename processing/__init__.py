"""TACFN preprocessing. Importing this package registers the classes with the Transformers Auto classes and marks them
for `trust_remote_code` saving (their code files are copied into saved folders, with the `auto_map` entries that load
them)."""

from transformers import AutoFeatureExtractor, AutoProcessor, AutoVideoProcessor

from modeling_tacfn.configuration_tacfn import TACFNConfig

from .feature_extraction_tacfn import TACFNFeatureExtractor
from .processing_tacfn import TACFNProcessor
from .video_processing_tacfn import TACFNVideoProcessor


AutoFeatureExtractor.register(TACFNConfig, TACFNFeatureExtractor, exist_ok=True)
AutoVideoProcessor.register(TACFNConfig, TACFNVideoProcessor, exist_ok=True)
AutoProcessor.register(TACFNConfig, TACFNProcessor, exist_ok=True)
TACFNFeatureExtractor.register_for_auto_class("AutoFeatureExtractor")
TACFNVideoProcessor.register_for_auto_class("AutoVideoProcessor")
TACFNProcessor.register_for_auto_class("AutoProcessor")

__all__ = ["TACFNFeatureExtractor", "TACFNVideoProcessor", "TACFNProcessor"]
