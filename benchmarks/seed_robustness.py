"""Do the notebooks' checks hold for other trained models? Each notebook is executed
top to bottom under several seeds (``XAI_SEED``: every model's initial weights, batch
order and sampling change), in QUICK mode unless ``--full``, and the first failing check
of each run is recorded.

Run from the repository root, e.g.
    python -m benchmarks.seed_robustness          # every notebook, seeds 0 1 2
    python -m benchmarks.seed_robustness notebooks/07_*.ipynb --seeds 3 4

Results are merged into benchmarks/results/seed-robustness-<mode>.json (a later run of
a notebook and seed replaces the earlier one), rendered as seed-robustness-<mode>.md
(one row per notebook, one column per seed) and printed. Trained models are cached per
seed (the checkpoint key holds it), so a second run of the same seed reuses them.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from utils.config import QUICK_ENV, REPO_ROOT, SEED_ENV

RESULTS = REPO_ROOT / "benchmarks" / "results"
CELL_TIMEOUT_S = 3600


@dataclass
class Outcome:
    """What one execution of one notebook under one seed gave."""

    seconds: float
    # the first failing check's message (or error); None if every check passed
    failure: str | None

    def cell(self) -> str:
        if self.failure is None:
            return f"pass ({self.seconds:.0f} s)"
        return f"**FAIL**: {self.failure}"


def first_line_of_error(err: CellExecutionError) -> str:
    """``AssertionError: <message>`` of a failed cell, on one line, for the table."""
    name, value = getattr(err, "ename", "Error"), getattr(err, "evalue", str(err))
    return f"{name}: {' '.join(str(value).split())[:160]}".replace("|", "/")


def execute(notebook: Path, seed: int, quick: bool) -> Outcome:
    """Run ``notebook`` in a fresh kernel with ``XAI_SEED=seed``, discarding outputs."""
    os.environ[SEED_ENV] = str(seed)
    os.environ[QUICK_ENV] = "1" if quick else "0"
    os.environ.setdefault("TQDM_DISABLE", "1")  # nobody watches the bars
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
        failure = None
    except CellExecutionError as err:
        failure = first_line_of_error(err)
    return Outcome(time.perf_counter() - start, failure)


def table(results: dict[str, dict[int, Outcome]], mode: str) -> str:
    """The markdown table of every notebook and seed in ``results``."""
    seeds = sorted({s for runs in results.values() for s in runs})
    header = "| notebook | " + " | ".join(f"seed {s}" for s in seeds) + " |"
    rows = [
        f"| {name} | "
        + " | ".join(runs[s].cell() if s in runs else "not run" for s in seeds)
        + " |"
        for name, runs in results.items()
    ]
    return "\n".join(
        [
            f"{mode} mode: each notebook executed top to bottom with XAI_SEED = "
            f"{', '.join(map(str, seeds))}; a failed run names its first failed check.",
            "",
            header,
            "|---|" + "---|" * len(seeds),
            *rows,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--full", action="store_true", help="full mode, not QUICK")
    args = parser.parse_args()
    notebooks = args.notebooks or sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
    mode = "full" if args.full else "QUICK"
    store = RESULTS / f"seed-robustness-{mode.lower()}.json"
    saved = json.loads(store.read_text()) if store.exists() else {}
    results = {
        name: {int(s): Outcome(**o) for s, o in runs.items()}
        for name, runs in saved.items()
    }
    for notebook in notebooks:
        for seed in args.seeds:
            outcome = execute(notebook.resolve(), seed, quick=not args.full)
            results.setdefault(notebook.name, {})[seed] = outcome
            print(f"{notebook.name} seed {seed}: {outcome.cell()}", flush=True)
            results = dict(sorted(results.items()))
            store.write_text(
                json.dumps(
                    {
                        n: {s: asdict(o) for s, o in r.items()}
                        for n, r in results.items()
                    },
                    indent=1,
                )
            )
    text = table(results, mode)
    (RESULTS / f"seed-robustness-{mode.lower()}.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
