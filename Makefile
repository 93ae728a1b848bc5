# The course in two commands: `make course` (run every notebook, regenerate figures/)
# and `make test` (docstring examples, unit tests + every notebook under nbval). `make lab` opens JupyterLab.
# `make browser-check` runs the lessons with widgets in headless Chromium and moves every control
# (needs `pip install -e '.[browser]'` and a Chromium: `apt-get install chromium`; NOTEBOOKS="01 03" picks some).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Idle OpenMP threads sleep instead of spinning: torch stays fast on a busy 2-core laptop.
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: install course results test lab bench browser-check clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

course: install
	$(BIN)/colorlib figures --in-place

# Lesson 07's twelve runs (four losses, three seeds; about half an hour on 2 cores the
# first time, seconds once runs/ holds them) and their scores, committed in results/.
results: install
	$(BIN)/python scripts/loss_experiment.py --seeds 0 1 2

test: install
	$(BIN)/python -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env --nbval-cell-timeout=900 --doctest-modules colorlib tests notebooks

lab: install
	$(BIN)/jupyter lab notebooks

browser-check: install
	$(BIN)/python scripts/browser_check.py $(if $(NOTEBOOKS),--notebooks $(NOTEBOOKS))

bench: install
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache
