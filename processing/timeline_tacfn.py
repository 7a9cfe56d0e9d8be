"""Long recordings as a timeline: the windows a recording is cut into, each predicted on its own. A window's frames and
audio are decoded by seeking to it (`read_clip` with times), never by decoding the recording from its start."""

from .media_io_tacfn import describe_media, open_media


# seconds of a window by default: the length of a RAVDESS clip, what the model was trained on
DEFAULT_WINDOW_SECONDS = 3.5


def recording_duration(path) -> float:
    """Seconds of a video file, as its container states them (only the index is read). Raises `ValueError` naming the
    file when it cannot be opened or states no duration."""
    with open_media(path, "video") as (path, container):
        if not container.streams.video:
            raise ValueError(f"video file {path!r} has no video stream (is it an audio file?).")
        duration = describe_media(path, container, "video", count_frames=False).duration
    if duration <= 0:
        raise ValueError(f"video file {path!r} states no duration; it cannot be cut into windows.")
    return duration


def timeline_windows(duration: float, window: float, stride: float) -> list[tuple[float, float]]:
    """
    The windows `(start, end)` in seconds of a timeline over `duration` seconds: starts at 0, `stride`, `2 * stride`,
    ... for every window that fits; a recording shorter than one window is one window over all of it, and a last
    stretch that no window reaches gets a window ending at the recording's end.

    Args:
        duration (`float`): Seconds of the recording.
        window (`float`): Seconds of each window, positive.
        stride (`float`): Seconds between window starts, positive.

    Returns:
        `list[tuple[float, float]]`, in time order.
    """
    if not window > 0 or not stride > 0:
        raise ValueError(f"a timeline needs a positive window and stride (seconds), got {window} and {stride}.")
    if duration <= window:
        return [(0.0, duration)]
    count = int((duration - window) // stride) + 1
    windows = [(index * stride, index * stride + window) for index in range(count)]
    # a tail longer than 1% of a window that the regular windows miss gets a last window flush with the end
    if duration - windows[-1][1] > 0.01 * window:
        windows.append((duration - window, duration))
    return windows
