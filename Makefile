# Set-up and everyday commands. `make demo` and `make test` each work on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test bench lint clean clean-cache

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	# The CPU build of torch first, so that no dependency pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --disable-pip-version-check "torch==2.13.0"
	# dev: the test tools; dask: the distributed scheduler, so the Dask test runs too.
	$(BIN)/python -m pip install --disable-pip-version-check -e ".[dev,dask]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/physioaffect demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python -m pip install --disable-pip-version-check -e ".[dev,bench]"
	$(BIN)/python benchmarks/bench_de.py

lint: $(STAMP)
	$(BIN)/ruff check physioaffect tests benchmarks

clean-cache:
	find physioaffect -name '*.nbi' -delete -o -name '*.nbc' -delete

clean: clean-cache
	rm -rf $(VENV) build *.egg-info .pytest_cache
