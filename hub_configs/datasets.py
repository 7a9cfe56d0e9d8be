"""The facts about each data set a TACFN model can be trained on, in one place for data preparation, training and
model cards: class names, fold counts, names, Hub metadata, licence, evaluation protocols and the limits the data set
puts on a model trained on it."""

from dataclasses import dataclass, field

from modeling_tacfn.configuration_tacfn import RAVDESS_EMOTIONS


# the standard 4-class IEMOCAP setting (happy merged with excited), in label-id order
IEMOCAP_EMOTIONS = ("neutral", "happy", "angry", "sad")


@dataclass(frozen=True)
class DatasetFacts:
    """
    Facts about one data set, written into model cards.

    Args:
        key: The name training writes into `eval_results.json` (`"ravdess"`, `"iemocap"`, `"demo"`), also the
            `model-index` dataset type.
        display_name: How the card names the data set.
        label_names: The class names of the standard setting, in label-id order.
        description: One sentence on what the data set holds.
        licence: The data set's own licence and what it means for trained weights.
        hub_ids: Entries of the card's `datasets` metadata.
        tag: The card tag that names the data set.
        data_dir: The name of the data set's root folder in the card's `--data_dir` example.
        num_folds: Folds of the cross-validation protocols.
        protocols: Protocol name -> how the folds are formed and the model is selected.
        preprocessing_notes: What a user must do to clips from this source before the processor, if anything.
        limitations: Limits of a model trained on this data set, one sentence each.
    """

    key: str
    display_name: str
    label_names: tuple[str, ...]
    description: str
    licence: str
    hub_ids: tuple[str, ...]
    tag: str
    data_dir: str
    num_folds: int
    protocols: dict[str, str] = field(default_factory=dict)
    preprocessing_notes: str = ""
    limitations: tuple[str, ...] = ()


RAVDESS_PROTOCOLS = {
    "published": (
        "actor-independent 6-fold cross-validation with 4 consecutive actors per fold (fold k tests actors "
        "4k+1 to 4k+4), as in MSAF and the published TACFN code. As in that code, the test actors also serve as the "
        "validation split, so any model selection (such as keeping the best epoch) sees the test data and the figures "
        "are optimistic."
    ),
    "clean": (
        "actor-independent 6-fold cross-validation with 4 consecutive actors per fold (fold k tests actors "
        "4k+1 to 4k+4); model selection uses the next fold's 4 actors as validation split, so the test actors stay "
        "unseen until the final test."
    ),
}

DATASETS = {
    "ravdess": DatasetFacts(
        key="ravdess",
        display_name="RAVDESS",
        label_names=tuple(RAVDESS_EMOTIONS),
        description=(
            "the 1,440 audio-video speech clips of the Ryerson Audio-Visual Database of Emotional Speech and Song: "
            "24 professional actors (12 female, 12 male) saying two fixed North American English sentences with 8 "
            "emotions, filmed frontally at 1280x720"
        ),
        licence=(
            "RAVDESS is released under CC BY-NC-SA 4.0: non-commercial use, with attribution and share-alike. Weights "
            "trained on it should be used under the same terms."
        ),
        hub_ids=("ravdess",),
        tag="ravdess",
        data_dir="RAVDESS",
        num_folds=6,
        protocols=RAVDESS_PROTOCOLS,
        preprocessing_notes=(
            "RAVDESS ships OpenFace landmark CSVs (FacialTracking, one per clip); pass a clip's CSV as `landmarks=` "
            "to crop the face as in training."
        ),
        limitations=(
            "Acted emotions: 24 actors portraying emotions on cue, not spontaneous behaviour.",
            "Two fixed English sentences in North American accents; other languages, accents and free speech are "
            "untested.",
            "Frontal, well-lit, studio faces of one speaker per clip against a plain background.",
        ),
    ),
    "iemocap": DatasetFacts(
        key="iemocap",
        display_name="IEMOCAP",
        label_names=tuple(IEMOCAP_EMOTIONS),
        description=(
            "the Interactive Emotional Dyadic Motion Capture database: 5 sessions of two actors (one female, one "
            "male) in scripted and improvised English dialogues; the standard 4 classes (neutral, happy merged with "
            "excited, angry, sad) give 5,531 utterances"
        ),
        licence=(
            "IEMOCAP is distributed by USC SAIL under a licence agreement for research use only; weights trained on "
            "it are for research use, and redistributing them may need the licensor's consent."
        ),
        hub_ids=("iemocap",),
        tag="iemocap",
        data_dir="IEMOCAP_full_release",
        num_folds=5,
        protocols={
            "published": (
                "leave-one-session-out 5-fold cross-validation (speaker-independent); the test session also serves "
                "as the validation split, so any model selection sees the test data and the figures are optimistic."
            ),
            "clean": (
                "leave-one-session-out 5-fold cross-validation (speaker-independent); model selection uses validation "
                "data separate from the test session, which stays unseen until the final test."
            ),
        },
        preprocessing_notes=(
            "IEMOCAP dialogue videos show both actors, one on each half of the frame: give the processor the frames "
            "of the speaking actor's half and the utterance's own wav (`audio=`, `sampling_rate=`); faces are found "
            "by the face detector."
        ),
        limitations=(
            "Acted emotions: actors in scripted and improvised dialogues, not spontaneous recordings.",
            "English speech of 10 actors only.",
            "Small, often non-frontal faces wearing motion-capture markers; the face detector can miss them.",
        ),
    ),
    "demo": DatasetFacts(
        key="demo",
        display_name="TACFN synthetic demo data (RAVDESS format)",
        label_names=tuple(RAVDESS_EMOTIONS),
        description=(
            "generated clips in the RAVDESS file layout (drawn faces and synthetic speech-like audio), built so that "
            "each modality alone confuses pairs of emotions and only the fusion separates all eight"
        ),
        licence="The demo data are generated by this project's code (Apache-2.0).",
        hub_ids=(),
        tag="synthetic-data",
        data_dir="demo_data",
        num_folds=6,
        protocols=RAVDESS_PROTOCOLS,
        limitations=(
            "Trained on synthetic data only: a demonstration of the training recipe, not an emotion recogniser for "
            "real faces or voices.",
        ),
    ),
}


def dataset_facts(key: str, source: str) -> DatasetFacts:
    """
    The facts about the data set named `key`.

    Args:
        key: `"ravdess"`, `"iemocap"` or `"demo"`.
        source: Where the name was read, for the error message.

    Raises:
        ValueError: The name is not a known data set.
    """
    if key not in DATASETS:
        raise ValueError(f"{source}: unknown dataset {key!r}; expected one of {sorted(DATASETS)}.")
    return DATASETS[key]


def dataset_for_labels(label_names: list[str]) -> DatasetFacts | None:
    """The real data set (RAVDESS or IEMOCAP) whose standard classes are exactly `label_names`, in order, else None."""
    for facts in (DATASETS["ravdess"], DATASETS["iemocap"]):
        if tuple(label_names) == facts.label_names:
            return facts
    return None
