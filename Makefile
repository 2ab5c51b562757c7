# Two entry points for a fresh clone:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: setup weights demo serve browser test test-fast lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,demo,app,video]"
	touch $@

weights: setup  ## fetch + decode VGG-19 ImageNet weights once (cached in ~/.cache/adain)
	$(PY) -m adain weights

demo: weights  ## stylize the demo photos with the shipped model, fine-tune it on the demo paintings, stylize again
	$(PY) train.py --config configs/demo.yaml
	$(PY) infer.py --content data/demo/content --style examples/styles \
		--content-size 256 --style-size 256 --output outputs/demo/shipped --grid outputs/demo/grid_shipped.jpg
	$(PY) infer.py --checkpoint checkpoints/demo --content data/demo/content --style examples/styles \
		--content-size 256 --style-size 256 --output outputs/demo/finetuned --grid outputs/demo/grid.jpg
	@echo
	@echo "Photos x paintings, shipped model (checkpoints/adain-corpus):  outputs/demo/grid_shipped.jpg"
	@echo "The same after the demo's fine-tuning (checkpoints/demo):       outputs/demo/grid.jpg"
	@echo "Training curves:  $(VENV)/bin/tensorboard --logdir checkpoints/demo/logs"

serve: weights  ## the web app on the shipped model: open http://127.0.0.1:8000 (Ctrl-C stops it)
	$(PY) -m adain serve

browser:  ## Debian's headless Chromium + chromedriver for the browser test, installed with apt-get when missing
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif ! command -v apt-get >/dev/null; then \
		echo "note: no apt-get here: install chromium and chromedriver yourself (the browser test skips without them, fails under CI=true)"; \
	else \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

FAST_TIER_MAX_S ?= 120

test: weights browser  ## the whole suite: the fast tier (timed: over 120 s fails under CI=true), then the slow tier (CI runs exactly this)
	$(PY) -m pytest -q -m "not slow" --max-wall $(FAST_TIER_MAX_S) tests
	$(PY) -m pytest -q -m slow tests

test-fast: weights  ## the unit tier only (no subprocess runs of the commands): under 2 minutes
	$(PY) -m pytest -q -m "not slow" --max-wall $(FAST_TIER_MAX_S) tests

lint: setup
	$(PY) -m ruff check adain tests bench tools train.py infer.py setup.py
	$(PY) -m ruff format --check adain tests bench tools train.py infer.py setup.py

clean:
	rm -rf checkpoints/demo outputs data/demo
