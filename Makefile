# `make demo` and `make test` set everything up on a fresh machine: the virtual environment in .venv and the project
# installed into it (editable), then run the main job on the embedded demo data or the test suite.
PYTHON ?= python3
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: demo test install chromium

install: $(INSTALLED)

$(INSTALLED): setup.py
	test -x $(VENV_PYTHON) || $(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --upgrade pip
	$(VENV_PYTHON) -m pip install --quiet -e ".[test]"
	touch $@

# the main job: synthetic RAVDESS-format demo data, fused / audio-only / video-only training of the tiny preset, the
# fused model saved to ./tacfn-ravdess-demo with demo_report.json
demo: $(INSTALLED)
	$(VENV_PYTHON) -m training.run_demo --data-dir demo_data --output-dir tacfn-ravdess-demo

# Debian's chromium for the web demo's browser test, installed when apt-get can run as root; without it that test is
# skipped
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "chromium not installed (no apt-get as root): the browser test will be skipped"; \
		fi; }

test: $(INSTALLED) chromium
	HF_HUB_OFFLINE=1 $(VENV_PYTHON) -m pytest tests -q
