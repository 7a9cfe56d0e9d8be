"""Inputs the fuzzer found bugs with, rebuilt from the seeds by the change that mattered, each kept as a regression
case: the processor must refuse them with a `ValueError` that names the file and the problem.

Found by `python -m tests.fuzzing.run` (random mutations): a codec tag damaged into one FFmpeg does not know leaves the
stream without a decoder (`codec_context` is `None`), and the readers failed with `AttributeError` on it.
"""

import re

import pytest

from tests.fuzzing.harness import Target, write_seeds
from tests.robustness.conftest import quoted


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return write_seeds(tmp_path_factory.mktemp("regression_seeds"))


def damage_tag(data: bytes, tag: bytes, occurrence: int) -> bytes:
    """`data` with the `occurrence`-th (0-based; -1 for the last) appearance of a four-byte `tag` made unknown."""
    places = [match.start() for match in re.finditer(re.escape(tag), data)]
    at = places[occurrence]
    return data[:at] + b"zzzz" + data[at + 4 :]


# the sample description boxes of the mp4's H.264 and AAC tracks (the fuzzer hit both), and the format tag of the avi's
# MPEG-4 part 2 video (the second "FMP4"; FFmpeg does not need the first, the stream handler)
UNKNOWN_CODECS = {
    "mp4_video_codec": ("mp4", b"stsd", 0),
    "mp4_audio_codec": ("mp4", b"stsd", -1),
    "avi_video_codec": ("avi", b"FMP4", -1),
}


@pytest.mark.parametrize("name", sorted(UNKNOWN_CODECS))
def test_a_stream_with_an_unknown_codec_is_refused_by_name(name, seeds, tmp_path):
    kind, tag, occurrence = UNKNOWN_CODECS[name]
    path = tmp_path / f"{name}.{kind}"
    path.write_bytes(damage_tag(seeds[kind].read_bytes(), tag, occurrence))
    with pytest.raises(ValueError, match="codec is unknown") as caught:
        Target(kind, seeds).processor(videos=str(path))
    assert quoted(path) in str(caught.value)
