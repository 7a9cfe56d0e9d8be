"""Web demo of TACFN, as a Hugging Face Space entry point or locally:

    python app.py [MODEL]

MODEL is a model folder or Hub repository id (with its processor); without it the `TACFN_MODEL` environment variable,
else `tacfn-ravdess-demo` (the folder `make demo` trains). The server address and port are Gradio's defaults
(127.0.0.1:7860), changed with `GRADIO_SERVER_NAME` / `GRADIO_SERVER_PORT` as Spaces do.
"""

import os
import sys

from inference.web_demo import launch_demo


DEFAULT_MODEL = "tacfn-ravdess-demo"


def main(argv: list[str]) -> int:
    """Serve the demo for the model named by `argv`, `TACFN_MODEL` or the default; returns the exit code."""
    model = argv[0] if argv else os.environ.get("TACFN_MODEL", DEFAULT_MODEL)
    try:
        launch_demo(model, host=None, port=None)
    except ValueError as error:
        print(f"app.py: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
