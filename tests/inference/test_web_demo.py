"""The web demo: its prediction function, `app.py` serving the page, and `tacfn demo` driven end to end in a real
headless Chromium (upload a generated clip, read the predicted emotion from the page, save a screenshot, then pick a
demo clip). The browser test is skipped when Chromium or Playwright is missing."""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread


os.environ["HF_HUB_OFFLINE"] = "1"
gr = pytest.importorskip("gradio")

from benchmarks.web_demo_load import free_port, start_server, stop_server  # noqa: E402
from inference.attention_picture import plot_attention_picture  # noqa: E402
from inference.demo_clips import write_demo_clips  # noqa: E402
from inference.web_demo import recognise  # noqa: E402


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_SECONDS = 120


def wait_for_page(url: str, server: subprocess.Popen, log_path: Path) -> str:
    """Poll `url` until it answers 200 and return the page; fail with the server's log if it exits or never does."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the demo server exited with {server.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    pytest.fail(f"the demo server did not answer within {SERVER_START_SECONDS} s:\n{log_path.read_text()}")


def test_recognise_gives_every_emotion_and_the_attention_picture(classifier, clips, tmp_path):
    scores, picture = recognise(classifier, str(clips.mp4))
    expected = classifier(str(clips.mp4), top_k=8)
    assert list(scores) == [item["label"] for item in expected]
    assert list(scores.values()) == pytest.approx([item["score"] for item in expected], rel=1e-5, abs=1e-7)
    output = classifier(str(clips.mp4), top_k=8, return_fusion_weights=True)
    expected_picture = imread(
        plot_attention_picture(
            output["frames"], output["fusion_weights"], tmp_path / "expected.png", output["predictions"], "talking.mp4"
        )
    )
    assert picture.dtype == np.uint8 and picture.shape == expected_picture[..., :3].shape
    assert np.abs(picture / 255 - expected_picture[..., :3]).max() < 1 / 255


def test_recognise_shows_problems_on_the_page(classifier, audio_only_model_dir, clips, broken_files):
    from inference import load_classifier

    with pytest.raises(gr.Error, match="Upload a clip or a voice recording, or pick a demo clip first"):
        recognise(classifier, None)
    with pytest.raises(gr.Error, match="notes.mp4.* is not a readable media file"):
        recognise(classifier, str(broken_files["text"]))
    # the fused model answers a clip without an audio track from its frames
    scores, picture = recognise(classifier, str(clips.silent))
    assert sum(scores.values()) == pytest.approx(1.0, abs=1e-5) and picture is not None
    scores, picture = recognise(load_classifier(str(audio_only_model_dir), device="cpu"), str(clips.mp4))
    assert len(scores) == 8 and picture is None


def test_app_serves_the_demo_page(model_dir, tmp_path):
    port = free_port()
    log_path = tmp_path / "app.log"
    server = start_server([sys.executable, "app.py", str(model_dir)], log_path, env={"GRADIO_SERVER_PORT": str(port)})
    try:
        wait_for_page(f"http://127.0.0.1:{port}/", server, log_path)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=10) as response:
            config = json.loads(response.read())
    finally:
        stop_server(server)
    labels = [component["props"].get("value") for component in config["components"]]
    assert "Recognise emotion" in labels
    examples = [component for component in config["components"] if component["type"] == "dataset"]
    assert len(examples) == 1 and len(examples[0]["props"]["samples"]) == 3  # the demo clips


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_demo_in_a_real_browser(model_dir, classifier, clips, tmp_path):
    playwright_api = pytest.importorskip("playwright.sync_api")
    port = free_port()
    log_path = tmp_path / "demo.log"
    server = start_server(
        [sys.executable, "-m", "inference.cli", "demo", "--model", str(model_dir), "--port", str(port)], log_path
    )
    screenshot = tmp_path / "demo.png"
    try:
        wait_for_page(f"http://127.0.0.1:{port}/", server, log_path)
        with playwright_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch_persistent_context(
                str(tmp_path / "chromium-profile"),  # a fresh --user-data-dir
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_FLAGS,
                viewport={"width": 1280, "height": 1100},
            )
            try:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
                page.locator("#clip input[type=file]").set_input_files(str(clips.mp4))
                page.locator("#clip video").wait_for(timeout=30_000)
                page.locator("#recognise").click()
                page.locator("#attention-picture img").wait_for(timeout=60_000)
                shown_label = page.locator("#emotion h2").inner_text(timeout=10_000).strip()
                bars_text = page.locator("#emotion").inner_text()
                page.screenshot(path=str(screenshot), full_page=True)

                # then a demo clip: pick it, recognise, and wait for the new attention picture
                first_picture = page.locator("#attention-picture img").get_attribute("src")
                page.get_by_role("button", name="smiling bright voice").click()
                page.locator("#recognise").click()
                page.wait_for_function(
                    "src => document.querySelector('#attention-picture img').getAttribute('src') !== src",
                    arg=first_picture,
                    timeout=60_000,
                )
                demo_clip_label = page.locator("#emotion h2").inner_text(timeout=10_000).strip()
            finally:
                browser.close()
    finally:
        stop_server(server)

    expected = classifier(str(clips.mp4), top_k=8)
    assert shown_label == expected[0]["label"]
    for item in expected:  # the bar chart lists every emotion
        assert item["label"] in bars_text
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20_000
    # the demo clips are written the same way every time: this copy is the clip the page offered
    demo_clip = write_demo_clips(tmp_path / "demo_clips")[0]
    assert demo_clip.stem == "smiling_bright_voice"
    assert demo_clip_label == classifier(str(demo_clip), top_k=1)[0]["label"]
