"""Video orientation: the display matrix a phone stores beside its frames (`rotate=90` in ffprobe's words) and the
frames turned upright as a player shows them. Every decoded frame passes through `displayed_rgb` before anything else
looks at it, so face boxes, landmarks (and the landmark CSVs written from them) refer to the displayed frame."""

from typing import Optional

import numpy as np


def quarter_turns(frame) -> int:
    """Counter-clockwise quarter turns (0-3) that a decoded PyAV frame's display matrix asks for; rotations that are
    not multiples of 90 degrees are rounded to the nearest quarter turn (players do the same)."""
    return round((frame.rotation or 0) / 90) % 4


def displayed_rgb(frame, size: Optional[tuple[int, int]] = None) -> np.ndarray:
    """
    One decoded PyAV frame as a uint8 RGB array (height, width, 3) the way a player shows it: turned as its display
    matrix says, optionally scaled.

    Args:
        frame (`av.VideoFrame`): The decoded frame.
        size (`tuple[int, int]`, *optional*): `(height, width)` of the displayed result; the stored frame is scaled
            (bicubic, as ffmpeg's scaler) to the matching stored size before it is turned.
    """
    turns = quarter_turns(frame)
    if size is None:
        image = frame.to_ndarray(format="rgb24")
    else:
        height, width = size if turns % 2 == 0 else size[::-1]
        image = frame.reformat(width=width, height=height, format="rgb24", interpolation="BICUBIC").to_ndarray()
    # np.rot90 turns counter-clockwise for positive k, as the display matrix's angle counts
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def displayed_size(stored_height: int, stored_width: int, turns: int) -> tuple[int, int]:
    """`(height, width)` of a stored frame once turned by `turns` quarter turns."""
    return (stored_width, stored_height) if turns % 2 else (stored_height, stored_width)
