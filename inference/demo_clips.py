"""Small talking-face clips for the web demo, made so that the demo needs no download: takes of the synthetic demo
data (`training.data.demo`), the data the demo model is trained on, drawn larger so that the face detector finds the
face. Each clip shows another emotion, so that the demo model gives a different answer (and attention picture) for
each."""

from pathlib import Path

from training.data.demo import make_actor, write_demo_clip
from training.data.ravdess import RavdessName
from training.data.talking_faces import ClipFormat


# 256x256 frames and twice the demo tree's face size: about 100 pixels wide, which dlib's detector finds
DEMO_CLIP_FORMAT = ClipFormat(frame_height=256, frame_width=256, zoom=2.0)
# an actor of another seed than the demo tree's (0): faces and voices of their own, not copies of training clips
DEMO_ACTOR, DEMO_SEED = 2, 1
# clip name -> RAVDESS emotion: happy (smile, high rising voice), angry (scowl, low flat voice), surprised (raised
# brows and open mouth, the highest voice)
DEMO_EMOTIONS = {"smiling_bright_voice": 2, "frowning_low_voice": 4, "surprised_high_voice": 7}


def write_demo_clips(folder) -> list[Path]:
    """
    Write the demo clips that are not in `folder` yet and return the paths of all of them.

    Args:
        folder (`str` or `os.PathLike`): Where the clips go; created when missing.

    Returns:
        `list[Path]`, one mp4 per entry of `DEMO_EMOTIONS`, in that order.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    actor = make_actor(DEMO_ACTOR, DEMO_SEED)
    paths = []
    for clip_name, emotion in DEMO_EMOTIONS.items():
        path = folder / f"{clip_name}.mp4"
        if not path.is_file():
            take = RavdessName(0, 0, emotion, 0, 0, 1, DEMO_ACTOR)
            write_demo_clip(path, take, actor, DEMO_SEED, DEMO_CLIP_FORMAT, with_landmarks=False)
        paths.append(path)
    return paths
