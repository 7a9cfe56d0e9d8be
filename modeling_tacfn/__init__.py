"""TACFN configuration and models. Importing this package registers them with the Transformers Auto classes."""

from transformers import AutoConfig, AutoModel, AutoModelForVideoClassification

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
TACFNConfig.register_for_auto_class()
TACFNModel.register_for_auto_class("AutoModel")
TACFNForAudioVisualClassification.register_for_auto_class("AutoModelForVideoClassification")

__all__ = [
    "TACFNConfig",
    "TACFNPreTrainedModel",
    "TACFNModel",
    "TACFNForAudioVisualClassification",
    "TACFNModelOutput",
    "TACFNAudioVisualClassifierOutput",
]
