"""Every notebook follows the course conventions: numbered name, Colab badge and setup
on this repo."""

import copy
import json
import re
from pathlib import Path

import nbformat
import pytest

from benchmarks import notebook_suite
from utils.config import REPO_ROOT, REPO_SLUG

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))


def source(path: Path) -> list[str]:
    return ["".join(cell["source"]) for cell in json.loads(path.read_text())["cells"]]


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_conventions(path: Path) -> None:
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name)
    cells = source(path)
    assert cells[0].startswith("# "), "first cell: the title"
    badge = f"https://colab.research.google.com/github/{REPO_SLUG}/blob/main/notebooks/{path.name}"
    assert badge in cells[0], "the Colab badge must open this very notebook"
    setup = next(c for c in cells if "google.colab" in c)
    assert f'SLUG = "{REPO_SLUG}"' in setup
    kernel = json.loads(path.read_text())["metadata"].get("kernelspec", {})
    assert kernel.get("name") == "python3", (
        "a python3 kernelspec, so Jupyter and Colab open it without asking"
    )
    text = path.read_text()
    assert not re.search(r'"/(tmp|root|home|work|opt)/', text), (
        "no absolute paths of a machine"
    )
    assert '"output_type": "error"' not in text, (
        "committed with an error in its outputs"
    )


def test_readme_lists_every_utils_function_whose_source_a_notebook_prints() -> None:
    """Editing such a function changes a committed output: the README's "Changing a
    notebook" says which."""
    section = (REPO_ROOT / "README.md").read_text().split("## Changing a notebook")[1]
    rows = {
        line.split("|")[1].strip(): line
        for line in section.splitlines()
        if line.startswith("| ")
    }
    for path in NOTEBOOKS:
        for name in re.findall(
            r"inspect\.getsource\(([\w.]+)\)", "\n".join(source(path))
        ):
            assert f"`{name}`" in rows.get(path.name[:2], ""), (
                f"README, 'Changing a notebook': list `{name}` in the row of "
                f"{path.name[:2]}"
            )


# Notebooks whose committed outputs still come from QUICK mode, with the reason; remove
# an entry as soon as a full-mode run is committed (the test below fails until then, and
# fails if it is stale).
QUICK_OUTPUTS_PENDING: dict[
    str, str
] = {}  # notebook → why its committed outputs are not yet from full mode


def ran_in_full_mode(notebook: dict) -> bool:
    setup_outputs = json.dumps(
        [c.get("outputs", []) for c in notebook["cells"] if c["cell_type"] == "code"][
            :3
        ]
    )
    return "mode:      full" in setup_outputs


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_with_the_outputs_of_a_full_mode_run(path: Path) -> None:
    """The website and GitHub show the committed outputs: they must come from one
    top-to-bottom run in full mode (README, "Changing a notebook"), not from QUICK mode
    or a half-run kernel."""
    notebook = json.loads(path.read_text())
    counts = [
        cell.get("execution_count")
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
    ]
    assert counts == list(range(1, len(counts) + 1)), (
        "re-execute top to bottom: jupyter nbconvert --execute"
    )
    pending = path.name in QUICK_OUTPUTS_PENDING
    assert ran_in_full_mode(notebook) != pending, (
        "full-mode outputs committed: remove it from QUICK_OUTPUTS_PENDING"
        if pending
        else "committed outputs must come from full mode (XAI_QUICK unset)"
    )


def test_tidy_keeps_what_a_terminal_shows_of_progress_bars() -> None:
    cell = nbformat.v4.new_code_cell("train()")
    bar = ["\rtrain:   0%| 0/50", "\rtrain: 100%| 50/50", "\r          ", "\r"]
    cell.outputs = [
        *[nbformat.v4.new_output("stream", name="stderr", text=t) for t in bar],
        nbformat.v4.new_output("stream", name="stdout", text="epoch 1\n"),
        *[nbformat.v4.new_output("stream", name="stderr", text=t) for t in bar[:2]],
        nbformat.v4.new_output("stream", name="stderr", text="\n"),
    ]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    tidied = notebook_suite.tidy(notebook).cells[0].outputs
    assert [(o.name, o.text) for o in tidied] == [
        ("stdout", "epoch 1\n"),
        ("stderr", "train: 100%| 50/50\n"),
    ]


def test_tidy_is_idempotent_when_an_empty_stream_separates_two() -> None:
    cell = nbformat.v4.new_code_cell("load()")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="loaded a\n"),
        nbformat.v4.new_output("stream", name="stderr", text="\r"),
        nbformat.v4.new_output("stream", name="stdout", text="loaded b\n"),
    ]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    once = notebook_suite.tidy(notebook)
    assert [(o.name, o.text) for o in once.cells[0].outputs] == [
        ("stdout", "loaded a\nloaded b\n")
    ]
    twice = notebook_suite.tidy(copy.deepcopy(once))
    assert twice.cells[0].outputs == once.cells[0].outputs


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_are_tidy(path: Path) -> None:
    """Committed through `python -m benchmarks.notebook_suite --commit`: no progress
    bar refreshes stored one by one (nbconvert stores thousands for a training)."""
    notebook = nbformat.read(path, as_version=4)
    tidied = notebook_suite.tidy(copy.deepcopy(notebook))
    for index, (cell, tidy_cell) in enumerate(zip(notebook.cells, tidied.cells)):
        assert cell.get("outputs") == tidy_cell.get("outputs"), (
            f"cell {index}: untidy outputs; commit with notebook_suite --commit"
        )
