"""Run under `accelerate launch` by `test_encoder_training`: an `EncoderTrainer` run over pretrained encoders kept frozen
for its first step by `EncoderFreezing`, each process saving its encoders' weights at the end, so that the test can
check that the processes' copies agree (their gradients were synchronised after unfreezing) and that they trained.

Usage: `python ddp_encoder_freezing.py SPEECH_FOLDER VIDEO_FOLDER EXAMPLES_FILE OUTPUT_DIR`."""

import sys
from pathlib import Path

import torch
from transformers import TrainingArguments

from modeling_tacfn import TACFNForAudioVisualClassification
from tests.encoder_configs import FUSION_KWARGS
from training.encoder_training import EncoderFreezing, EncoderTrainer


def main(speech: str, video: str, examples_file: str, output_dir: str) -> None:
    torch.manual_seed(0)
    model = TACFNForAudioVisualClassification.from_encoders(audio=speech, video=video, **FUSION_KWARGS)
    examples = torch.load(examples_file)
    args = TrainingArguments(
        output_dir=output_dir, max_steps=3, per_device_train_batch_size=2, learning_rate=1e-2,
        lr_scheduler_type="constant", report_to="none", save_strategy="no", dataloader_num_workers=0,
        disable_tqdm=True, seed=0, remove_unused_columns=False,
        # as train.py does without an accelerator: the processes then run CPU DDP over gloo
        use_cpu=not torch.accelerator.is_available(),
    )  # fmt: skip
    callbacks = [EncoderFreezing(model, steps=1)]
    trainer = EncoderTrainer(model=model, args=args, train_dataset=examples, encoder_learning_rate=1e-2, callbacks=callbacks)
    rank, world_size = args.process_index, args.world_size
    trainer.train()
    encoders = {"audio": model.tacfn.audio_encoder.state_dict(), "video": model.tacfn.video_encoder.state_dict()}
    torch.save({"world_size": world_size, **encoders}, Path(output_dir) / f"rank{rank}.pt")


if __name__ == "__main__":
    main(*sys.argv[1:5])
