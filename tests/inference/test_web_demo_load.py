"""The web demo under a small load through `gradio_client` (the bounded in-suite run of
`python -m benchmarks.web_demo_load`): two clients upload real clips and broken files at once to a real `tacfn demo`
server; every good upload gets the pipeline's answer, every broken one a clear message, over-long clips and oversized
uploads are refused by the limits, and the server stays up."""

import numpy as np
import pytest


gr = pytest.importorskip("gradio")

from benchmarks.web_demo_load import run_load  # noqa: E402
from inference.web_demo import recognise  # noqa: E402
from tests import media  # noqa: E402


def test_two_clients_get_the_pipelines_answers_and_clear_messages(model_dir, tmp_path):
    clients, uploads = 2, 2
    figures = run_load(model_dir, tmp_path, clients=clients, uploads=uploads, burst=False)
    assert figures["failures"] == []
    assert figures["requests"] == clients * uploads
    # the second upload of client 0 (a text file) and the first of client 1 (a clip over the length limit) are broken
    assert figures["broken_requests_refused_clearly"] == 2
    assert "exceeds the maximum file size" in figures["oversized_upload_message"]
    assert figures["server_alive"]


def test_a_clip_longer_than_the_limit_is_refused_with_its_length(classifier, tmp_path):
    frames = np.zeros((24, 32, 32, 3), dtype=np.uint8)
    long_clip = media.write_video(tmp_path / "long.mp4", frames, fps=2.0)  # 12 s
    with pytest.raises(gr.Error, match=r"This recording is 12.0 s long; the demo takes recordings of up to 10 s"):
        recognise(classifier, long_clip, max_seconds=10)
