# Thin wrappers: every target is `python -m series_tools TARGET` (the README gives the plain-Python
# commands). Targets that need the environment build it first, from requirements.lock.
PYTHON ?= python3
PY := .venv/bin/python
STAMP := .venv/.installed

.PHONY: setup data test run quick site serve timings lab lint lock clean

setup: $(STAMP) ## .venv from requirements.lock, the project (editable), a python3 Jupyter kernel

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m series_tools setup

data: setup ## fetch and verify the dataset once; later runs use the cache
	$(PY) -m series_tools data

test: setup ## unit tests, every notebook in quick mode, the site and packaging checks
	$(PY) -m series_tools test

run: setup ## every notebook in full mode into build/full, the tables refreshed, build/full/site
	$(PY) -m series_tools run

quick: setup ## the same in quick mode: build/quick, build/quick/site
	$(PY) -m series_tools quick

site: setup ## rebuild build/full/site from the executed notebooks in build/full
	$(PY) -m series_tools site

serve: setup ## serve build/full/site at http://127.0.0.1:8000/ (its search needs a server)
	$(PY) -m series_tools serve

timings: setup ## copy the latest run times and results into series.json and every table
	$(PY) -m series_tools timings

lab: setup ## open the series in JupyterLab
	$(PY) -m series_tools lab

lint: setup ## ruff on the code and the notebooks; notebooks must carry no outputs
	$(PY) -m series_tools lint

lock: setup ## write requirements.lock from .venv (after changing pyproject.toml)
	$(PY) -m series_tools lock

clean: ## remove build outputs (keeps the environment and the data cache)
	rm -rf build
