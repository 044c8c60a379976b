# Every target works from a clean clone: the ones that need the environment build it first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONWARNINGS := ignore::DeprecationWarning

.PHONY: setup data test run quick timings lab lint clean

setup: $(STAMP) ## a .venv with the project (editable) and a python3 Jupyter kernel pointing at it

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (series .venv)"
	touch $@

data: setup ## fetch and verify the dataset once; later runs use the cache
	$(PY) -m helpers.data

test: setup data ## unit tests + every notebook in quick mode via papermill
	$(PY) -m pytest

run: setup data ## every notebook in full mode into build/full: executed .ipynb + an HTML site
	$(PY) -m helpers.series
	$(PY) -m helpers.navigation --site build/full/html

quick: setup data ## every notebook in quick mode into build/quick, for live sessions
	$(PY) -m helpers.series --quick
	$(PY) -m helpers.navigation --site build/quick/html

timings: setup ## copy the latest measured run times into the notebook tables and the guide
	$(PY) -m helpers.navigation --timings

lab: setup data ## open the series in JupyterLab
	$(VENV)/bin/jupyter lab notebooks/00_index.ipynb

lint: setup ## ruff on helpers, tests and notebooks; notebooks must carry no outputs
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check helpers tests notebooks
	$(PY) -m pytest -q tests/test_hygiene.py

clean: ## remove build outputs (keeps the environment and the data cache)
	rm -rf build
