# flowkit course — setup and test plumbing.
#
#   make lab        create .venv if needed, then start JupyterLab on notebooks/ (the learner's view)
#   make test       create .venv if needed, then run the test suite (+ notebooks with the model answers)
#   make exercises  rebuild every file derived from the exercise sources in exercises/src/
#
# Run `make help` for all targets.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.stamp

# Interpreter used to create .venv: python3.11, else python3 if it is 3.11.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell command -v python3.11 2>/dev/null || \
            { python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null && command -v python3; })
endif

# torch on one thread is much faster on small (2-core) machines; override with
# `make lab OMP_NUM_THREADS=4` or in the environment.
OMP_NUM_THREADS ?= 1
export OMP_NUM_THREADS

PIP := $(BIN)/python -m pip --disable-pip-version-check

# ---- tests ------------------------------------------------------------------
# nbval runs the course notebooks with every "Your turn" stub replaced by its model answer
# (ANSWERED, made from notebooks/ in a second by exercises/tools/build.py --answered), with
# FLOWKIT_STRICT_CHECKS=1 so that a check that does not hold fails the notebook. The notebooks as
# a learner gets them (stubs, checks that say "not done yet") are tested by
# tests/test_exercise_sources.py and run in the browser tests.
ANSWERED    := build/answered
NBVAL_ARGS  ?= --nbval-lax --nbval-cell-timeout=300
# PYTEST_ARGS holds the defaults; add options with e.g. `make test PYTEST_EXTRA="-k flows -x"`.
PYTEST_ARGS  ?= -p no:cacheprovider -n 2 --dist loadfile -rfEs
PYTEST_EXTRA ?=
TEST_PATHS   ?= tests $(ANSWERED) $(NBVAL_ARGS)

# ---- lab --------------------------------------------------------------------
# The learner's JupyterLab: tools/jupyter/learner turns nbgrader's and jupytext's extensions off.
# `make teach` is the teacher's: nbgrader's formgrader and assignment toolbar, jupytext, on exercises/.
LAB_ARGS  ?=
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: help venv env lab teach test lock clean distclean images bench exercises answered

help:  ## show this help
	@echo "flowkit course targets:"
	@grep -E '^[a-z][a-z ]*:.*## ' $(MAKEFILE_LIST) | \
	    sed -E 's/^([a-z][a-z ]*):.*## (.*)/\1\t\2/' | \
	    while IFS=$$'\t' read -r t d; do printf '  make %-12s %s\n' "$$t" "$$d"; done

venv env: $(STAMP)  ## create/update .venv from requirements.lock

$(STAMP): requirements.lock pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
	    echo "error: need python3.11 (or python3 being 3.11) to create $(VENV)" >&2; exit 1; fi
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then \
	    echo "$(VENV) is not a Python 3.11 venv; recreating it"; rm -rf $(VENV); fi
	@if [ ! -x $(BIN)/python ]; then \
	    echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); fi
	$(PIP) install -r requirements.lock
	$(PIP) install --no-deps --no-build-isolation -e .
	@touch $@

lab: $(STAMP)  ## start JupyterLab on notebooks/ (extra options: LAB_ARGS=...)
	@mkdir -p notebooks
	JUPYTER_CONFIG_PATH="$(abspath tools/jupyter/learner)" \
	    exec $(BIN)/jupyter lab notebooks/ --ip=127.0.0.1 $(ROOT_FLAG) $(LAB_ARGS)

teach: $(STAMP)  ## the teacher's JupyterLab on exercises/ (nbgrader formgrader, jupytext) (LAB_ARGS=...)
	cd exercises && PATH="$(abspath $(BIN)):$$PATH" JUPYTER_CONFIG_PATH="$(abspath tools/jupyter/teacher)" \
	    exec $(abspath $(BIN))/jupyter lab . --ip=127.0.0.1 $(ROOT_FLAG) $(LAB_ARGS)

exercises: $(STAMP)  ## rebuild the exercise cells, solutions, nbgrader sources + release/ from exercises/src/
	$(BIN)/python exercises/tools/build.py --release

answered: $(STAMP)
	@rm -rf $(ANSWERED)
	$(BIN)/python exercises/tools/build.py --answered $(ANSWERED) --no-write

test: $(STAMP) answered  ## run tests (and the notebooks, answered, via nbval); add options with PYTEST_EXTRA=...
	FLOWKIT_FAST=1 FLOWKIT_STRICT_CHECKS=1 MPLBACKEND=Agg $(BIN)/python -m pytest $(PYTEST_ARGS) $(PYTEST_EXTRA) $(TEST_PATHS)

lock:  ## regenerate requirements.lock from requirements.in (fresh throwaway venv)
	bash tools/lock.sh $(PYTHON)

clean:  ## remove caches and build artifacts (keeps .venv)
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name .pytest_cache -o -name .ipynb_checkpoints \) -type d -print0 | xargs -0r rm -rf
	rm -rf build dist *.egg-info

distclean: clean  ## also remove .venv
	rm -rf $(VENV)

images: $(STAMP)  ## regenerate the README pictures under images/
	MPLBACKEND=Agg $(BIN)/python images/make_images.py

# ---- benchmarks ---------------------------------------------------------------
# The peers (nflows, normflows, zuko: the `bench` extra in pyproject.toml) go into .venv on
# first use. torch is pinned to the installed build with a constraint, so pip never fetches
# another torch (none of the peers asks for one; this keeps it that way).
BENCH_STAMP := $(VENV)/.bench-stamp
BENCH_ARGS  ?=

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["bench"]))' > $(VENV)/bench-requirements.txt
	$(BIN)/python -c 'import torch; print("torch==" + torch.__version__)' > $(VENV)/bench-constraints.txt
	$(PIP) install -r $(VENV)/bench-requirements.txt -c $(VENV)/bench-constraints.txt
	@touch $@

# Options: make bench BENCH_ARGS="--quick --only moons --threads 1,2 --out benchmarks/results/run.json"
bench: $(STAMP) $(BENCH_STAMP)  ## run the benchmarks and print the tables
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

# ---- exercises (nbgrader) ----------------------------------------------------------
# Autograde a folder laid out as SUBMISSIONS/<student_id>/<assignment>/<assignment>.ipynb:
# writes exercises/grades.csv, exercises/feedback/<student>/<assignment>/*.html, adds the scores
# to exercises/gradebook.db (backed up first) and prints a score table. Each notebook runs in its
# own bubblewrap sandbox; without one it refuses unless GRADE_ARGS=--unsafe-no-sandbox
# (see exercises/README.md).
#   make grade SUBMISSIONS=path/to/folder GRADE_ARGS="--timeout 30 --jobs 2"
SUBMISSIONS ?= tests/exercise_submissions/demo
GRADE_ARGS  ?=
.PHONY: grade

grade: $(STAMP)  ## autograde SUBMISSIONS=<folder> (default: the demo) -> exercises/grades.csv + feedback
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python exercises/tools/grade.py "$(SUBMISSIONS)" $(GRADE_ARGS)
