"""The training speed levers beyond `TrainingArguments`' own (`--bf16` autocast, `--torch_compile`): weights in
`channels_last_3d` memory format (`--channels_last_3d`; the 3-D convolutions and max-pooling run 1.3 to 1.5 times
faster on a CPU), and the attention fast path of the selection Transformer switched off when a compiled model runs
under autocast, whose evaluation it would otherwise make fail."""

import torch
from torch import nn
from transformers import TrainingArguments


def apply_training_levers(model: nn.Module, channels_last_3d: bool, training_args: TrainingArguments) -> None:
    """Store the model's 5-D weights `channels_last_3d` when asked, and switch torch's fused attention fast path off
    for a compiled model under bf16 or fp16 autocast."""
    if channels_last_3d:
        model.to(memory_format=torch.channels_last_3d)
    if training_args.torch_compile and (training_args.bf16 or training_args.fp16):
        torch.backends.mha.set_fastpath_enabled(False)
