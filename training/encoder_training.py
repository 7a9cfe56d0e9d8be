"""Training TACFN over pretrained Transformers encoders with the 🤗 Trainer: a separate (usually lower) learning rate for
the pretrained encoders, and keeping them frozen for the first steps of a run, or for all of it."""

from torch import nn
from transformers import Trainer, TrainerCallback

from modeling_tacfn.pretrained_encoders_tacfn import pretrained_encoders


def split_encoder_parameter_groups(optimizer, model: nn.Module, encoder_learning_rate: float) -> None:
    """Moves the pretrained encoders' parameters of every parameter group of `optimizer` into a copy of that group
    whose learning rate is `encoder_learning_rate` (the weight decay and other settings stay those of the group).
    Called before the learning-rate scheduler is made, which then schedules every group from its own rate."""
    encoder_parameters = {id(parameter) for encoder in pretrained_encoders(model) for parameter in encoder.parameters()}
    for group in list(optimizer.param_groups):
        encoder_group = [parameter for parameter in group["params"] if id(parameter) in encoder_parameters]
        if encoder_group:
            group["params"] = [parameter for parameter in group["params"] if id(parameter) not in encoder_parameters]
            optimizer.param_groups.append({**group, "params": encoder_group, "lr": encoder_learning_rate})


class EncoderTrainer(Trainer):
    """A [`Trainer`] whose optimizer gives the pretrained encoders `encoder_learning_rate` (`None`: the run's
    `learning_rate`, as for every other parameter)."""

    def __init__(self, *args, encoder_learning_rate: float | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.encoder_learning_rate = encoder_learning_rate

    def create_optimizer(self, model=None):
        optimizer = super().create_optimizer(model)
        if self.encoder_learning_rate is not None:
            split_encoder_parameter_groups(self.optimizer, self.model, self.encoder_learning_rate)
        return optimizer


class EncoderFreezing(TrainerCallback):
    """Keeps the pretrained encoders of `model` frozen (no gradients, no updates) for the first `steps` optimizer steps
    of a run (`-1`: the whole run), then trains them. Their parameters are in the optimizer from the start, so they
    join it with their own learning rate when unfrozen; a resumed run past `steps` trains them from its first step."""

    def __init__(self, model: nn.Module, steps: int):
        if steps < -1:
            raise ValueError(f"freeze_encoders_steps must be -1 (the whole run), 0 or a number of steps, got {steps}.")
        self.encoders, self.steps = pretrained_encoders(model), steps

    def frozen_at(self, step: int) -> bool:
        return self.steps == -1 or step < self.steps

    def on_train_begin(self, args, state, control, **kwargs):
        self._set_trainable(not self.frozen_at(state.global_step))

    def on_step_begin(self, args, state, control, **kwargs):
        if self.steps > 0 and state.global_step == self.steps:
            self._set_trainable(True)

    def _set_trainable(self, trainable: bool) -> None:
        for encoder in self.encoders:
            encoder.requires_grad_(trainable)


__all__ = ["EncoderFreezing", "EncoderTrainer", "split_encoder_parameter_groups"]
