# Two commands do all the set-up (see README):
#   make course  - install everything into .venv and open the notebooks in JupyterLab
#   make test    - install everything into .venv and run the unit tests and the notebooks (nbval)
#   make book    - build the course's website from the committed notebooks into _build/book/
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install course test lint benchmark clean-outputs book

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

course: install
	$(BIN)/jupyter lab notebooks/

lint: install
	$(BIN)/ruff check utils tests benchmarks

test: lint
	$(BIN)/python -m pytest

# The course as a website, from the committed notebooks (not executed): _build/book/index.html (README, "Website").
book: install
	$(BIN)/python book/build.py

clean-outputs:
	rm -rf outputs/
