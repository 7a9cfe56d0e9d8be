"""What the public web demo accepts (`tacfn demo`, `app.py`): uploads up to `MAX_UPLOAD_MB` (Gradio refuses bigger
ones before they reach the model), recordings up to `MAX_CLIP_SECONDS` (one longer than a clip is answered with an
emotion timeline), and `MAX_QUEUE_SIZE` requests waiting (one runs at a time; more are turned away with Gradio's "Queue
is full"). Kept apart from the demo so that the command line knows them without importing Gradio."""

MAX_UPLOAD_MB = 50.0
MAX_CLIP_SECONDS = 120.0
MAX_QUEUE_SIZE = 16
