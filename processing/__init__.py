"""TACFN preprocessing: one media layer (`media_io_tacfn` reads, `media_writing` writes), the audio feature extractor,
the video processor, the processor that combines them, and the pipeline. These files travel inside saved model folders
(flat, for `trust_remote_code`), so they import only Transformers and each other. `import modeling_tacfn` registers
them with the Auto classes."""

from .feature_extraction_tacfn import TACFNFeatureExtractor
from .pipeline_tacfn import TASK, TACFNAudioVisualClassificationPipeline, save_pipeline
from .processing_tacfn import TACFNProcessor
from .video_processing_tacfn import TACFNVideoProcessor
from .waveform_feature_extraction_tacfn import TACFNWaveformFeatureExtractor


__all__ = [
    "TASK",
    "TACFNAudioVisualClassificationPipeline",
    "TACFNFeatureExtractor",
    "TACFNProcessor",
    "TACFNVideoProcessor",
    "TACFNWaveformFeatureExtractor",
    "save_pipeline",
]
