"""Wall time and peak memory of every notebook, each executed top to bottom in its own
process.

Run from the repository root:  XAI_QUICK=1 python -m benchmarks.notebook_suite
Writes benchmarks/results/notebooks-<mode>.md. Peak RSS is the largest resident set of
any process of the run (the Jupyter kernel, in practice), read with
getrusage(RUSAGE_CHILDREN) in a fresh wrapper process per notebook.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from utils import config
from utils.config import REPO_ROOT

WRAPPER = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.returncode)
sys.stderr.write(done.stderr[-2000:] if done.returncode else "")
"""


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
        "--ExecutePreprocessor.timeout=3000",
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
    return seconds, int(peak_kib) / 1024, int(code)


def main() -> None:
    mode = "QUICK" if config.is_quick() else "full"
    rows, total = [], 0.0
    with tempfile.TemporaryDirectory() as out_dir:
        for notebook in sorted((REPO_ROOT / "notebooks").glob("*.ipynb")):
            seconds, peak_mb, code = run(notebook, Path(out_dir))
            total += seconds
            rows.append(
                f"| {notebook.name} | {seconds:.0f} | {peak_mb:.0f} | "
                f"{'ok' if code == 0 else 'FAILED'} |"
            )
            print(rows[-1], flush=True)
    lines = [
        f"{mode} mode, one process per notebook, {config.DEVICE}",
        "",
        "| notebook | seconds | peak RSS (MB) | result |",
        "|---|---|---|---|",
        *rows,
        f"| **all** | **{total:.0f}** | | |",
    ]
    (REPO_ROOT / "benchmarks" / "results" / f"notebooks-{mode.lower()}.md").write_text(
        "\n".join(lines) + "\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
