# Two commands do all the set-up (see README):
#   make course  - install everything into .venv and open the notebooks in JupyterLab
#   make test    - install everything into .venv, at the locked releases, and run the unit
#                  tests and the notebooks (nbval)
#   make test-latest - the same suite in .venv-latest with the newest releases; prints how
#                  they drift from the lock (allowed to fail: it reports, CI does not run it)
#   make lock    - after make test-latest passed: its releases become the lock
#   make book    - build the course's website from the committed notebooks into _build/book/
#   make test-colab - the same suite in .venv-colab: Python 3.13 with Google Colab's versions (constraints-colab.txt)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install course test lint benchmark clean-outputs install-colab test-colab book \
	test-latest lock

LOCK := requirements-lock.txt

$(BIN)/.installed: requirements.txt requirements-dev.txt $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c $(LOCK) -r requirements.txt -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

course: install
	$(BIN)/jupyter lab notebooks/

LINTED := utils tests benchmarks tools book notebooks conftest.py

lint: install
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

test: lint
	$(BIN)/python -m pytest

# The course as a website, from the committed notebooks (not executed): _build/book/index.html (README, "Website").
book: install
	$(BIN)/python book/build.py

# Colab's environment: Python 3.13 (pyenv's, else python3.13 on PATH; or COLAB_PYTHON=...), the
# notebooks' requirements and the test tools under Colab's pinned versions. No ruff: the code is
# linted once, in `make test`. PYTEST_ARGS picks a part, e.g. PYTEST_ARGS="tests notebooks/04_resnet18_cam.ipynb".
COLAB_VENV ?= .venv-colab
COLAB_BIN := $(COLAB_VENV)/bin
COLAB_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python) python3.13)
COLAB_TEST_TOOLS := pytest nbval ipykernel ipywidgets quantus
PYTEST_ARGS ?=

$(COLAB_BIN)/.installed: requirements.txt constraints-colab.txt
	@$(COLAB_PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null || { \
	  echo "make test-colab needs Python 3.13 (Colab's): '$(COLAB_PYTHON)' is missing or another version." >&2; \
	  echo "Install it (pyenv install 3.13) or name it: make test-colab COLAB_PYTHON=/path/to/python3.13" >&2; \
	  exit 1; }
	$(COLAB_PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_BIN)/python -m pip install -q --upgrade pip
	$(COLAB_BIN)/python -m pip install -q -c constraints-colab.txt -r requirements.txt $(COLAB_TEST_TOOLS)
	touch $@

install-colab: $(COLAB_BIN)/.installed

test-colab: install-colab
	$(COLAB_BIN)/python -m pytest $(PYTEST_ARGS)

# The newest releases (no lock): how they drift from the lock, then the suite. A failure
# here is news about a new release, not a broken course; `make lock` adopts them once green.
LATEST_VENV ?= .venv-latest
LATEST_BIN := $(LATEST_VENV)/bin

test-latest:
	$(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_BIN)/python -m pip install -q --upgrade pip
	$(LATEST_BIN)/python -m pip install -q --upgrade --upgrade-strategy eager \
	  -r requirements.txt -r requirements-dev.txt
	$(LATEST_BIN)/python -m tools.lockfile drift $(LOCK)
	$(LATEST_BIN)/python -m pytest $(PYTEST_ARGS)
	touch $(LATEST_VENV)/.passed

lock: $(LATEST_VENV)/.passed
	$(LATEST_BIN)/python -m tools.lockfile write $(LOCK)

clean-outputs:
	rm -rf outputs/
