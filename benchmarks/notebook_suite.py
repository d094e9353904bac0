"""Wall time and peak memory of every notebook, each executed top to bottom in its own
process; with ``--commit``, the executed notebooks replace the committed ones.

Run from the repository root, e.g.
    XAI_QUICK=1 python -m benchmarks.notebook_suite     # time the QUICK suite
    python -m benchmarks.notebook_suite --commit notebooks/07_*.ipynb   # 07's outputs

Writes benchmarks/results/notebooks-<mode>.md for a run of every notebook. Peak RSS is
the largest resident set of any process of the run (the Jupyter kernel, in practice),
read with getrusage(RUSAGE_CHILDREN) in a fresh wrapper process per notebook.

``--commit`` tidies the outputs first (:func:`tidy`): nbconvert stores every refresh of
a progress bar as an output of its own (thousands for a training run), so consecutive
stream outputs are merged and each line keeps only what a terminal would show after its
last carriage return.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from utils import config
from utils.config import REPO_ROOT

WRAPPER = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.returncode)
sys.stderr.write(done.stderr[-2000:] if done.returncode else "")
"""
# Text a later carriage return overwrites: the terminal shows only what follows it.
OVERWRITTEN = re.compile(r"[^\n]*\r(?=[^\n])")


def run(notebook: Path, out_dir: Path) -> tuple[float, float, int]:
    """(seconds, peak RSS in MB, exit code) of executing ``notebook`` with nbconvert."""
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "nbconvert",
        "--to",
        "notebook",
        "--execute",
        "--ExecutePreprocessor.timeout=-1",
        "--output-dir",
        str(out_dir),
        str(notebook),
    ]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, *command],
        capture_output=True,
        text=True,
        cwd=notebook.parent,
    )
    seconds = time.perf_counter() - start
    peak_kib, code = done.stdout.split()
    if int(code):
        print(done.stderr, file=sys.stderr)
    return seconds, int(peak_kib) / 1024, int(code)


def _merge_streams(outputs: list) -> list:
    """``outputs`` with consecutive stream outputs of one name merged into one."""
    merged: list = []
    for output in outputs:
        last = merged[-1] if merged else None
        if (
            output.output_type == "stream"
            and last is not None
            and last.output_type == "stream"
            and last.name == output.name
        ):
            last.text += output.text
        else:
            merged.append(output)
    return merged


def tidy(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``notebook`` with each cell's consecutive stream outputs of one name merged, text
    overwritten by a carriage return removed, and streams left empty dropped (then
    merged again: an empty stderr between two stdout chunks no longer parts them)."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        merged = _merge_streams(cell.outputs)
        for output in merged:
            if output.output_type == "stream":
                output.text = OVERWRITTEN.sub("", output.text.replace("\r\n", "\n"))
        cell.outputs = _merge_streams(
            [o for o in merged if o.output_type != "stream" or o.text.strip("\r\n ")]
        )
    return notebook


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument(
        "--commit",
        action="store_true",
        help="write the executed, tidied notebooks over the committed ones",
    )
    args = parser.parse_args()
    notebooks = args.notebooks or sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
    mode = "QUICK" if config.is_quick() else "full"
    rows, total, failed = [], 0.0, False
    with tempfile.TemporaryDirectory() as out_dir:
        for notebook in notebooks:
            notebook = notebook.resolve()
            seconds, peak_mb, code = run(notebook, Path(out_dir))
            failed |= bool(code)
            total += seconds
            result = "ok" if code == 0 else "FAILED"
            rows.append(
                f"| {notebook.name} | {seconds:.0f} | {peak_mb:.0f} | {result} |"
            )
            print(rows[-1], flush=True)
            if args.commit and not code:
                executed = nbformat.read(Path(out_dir) / notebook.name, as_version=4)
                nbformat.write(tidy(executed), notebook)
    lines = [
        f"{mode} mode, one process per notebook, {config.DEVICE}",
        "",
        "| notebook | seconds | peak RSS (MB) | result |",
        "|---|---|---|---|",
        *rows,
        f"| **all** | **{total:.0f}** | | |",
    ]
    if not args.notebooks:
        results = REPO_ROOT / "benchmarks" / "results" / f"notebooks-{mode.lower()}.md"
        results.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
