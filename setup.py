from setuptools import find_packages, setup


setup(
    name="tacfn",
    version="0.1.0",
    description="TACFN (Transformer-based Adaptive Cross-modal Fusion Network) for audio-visual emotion recognition, "
    "for Hugging Face Transformers",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(
        include=["modeling_tacfn*", "processing*", "training*", "hub_configs*", "inference*", "benchmarks*"]
    ),
    include_package_data=True,
    # the Jinja template that `hub_configs.cards` renders model cards from
    package_data={"hub_configs": ["model_card_template.md"]},
    install_requires=[
        # torchvision must match torch exactly; 2.14.1 / 0.29.1 are the pair that imports here (DESIGN.md §4)
        "torch==2.14.1",
        "torchvision==0.29.1",
        "transformers>=5.23",
        "datasets>=5.2",
        "accelerate>=1.15",
        "evaluate>=0.4.6",
        "huggingface_hub>=2.4",
        "jinja2",  # `ModelCard.from_template` renders the model card template with it
        "safetensors",
        "numpy",
        "av",
        "soundfile",
        "soxr",
        "dlib-bin",
        "opencv-python-headless",
        "threadpoolctl",
        "matplotlib",
        "tqdm",
        "psutil",
    ],
    extras_require={
        "demo": ["gradio>=6.31"],
        # dlib's 68-point shape predictor; its training data (iBUG 300-W) forbids commercial use (README, Licences)
        "faces": ["face-recognition-models>=0.3.0"],
        "test": [
            "pytest",
            "librosa",
            "scikit-learn",
            "decord>=0.6.0",
            "gradio>=6.31",
            "gradio_client",
            "playwright",
            "hypothesis",
            "face-recognition-models>=0.3.0",
            "scikit-image",  # its public-domain astronaut portrait is the real face of the landmark tests
        ],
    },
    entry_points={"console_scripts": ["tacfn = inference.cli:main"]},
)
