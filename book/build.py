"""Build the course's website from the committed notebooks, without executing them.

    python book/build.py             # -> _build/book/index.html (what `make book` runs)
    python book/build.py --out DIR   # somewhere else

Sphinx reads a staging folder laid out like the repository (``index.md``,
``notebooks/NN_*.ipynb``), so each page's Colab button points at ``notebooks/<file>`` on
GitHub. The landing page's list of notebooks is made here from whatever
``notebooks/NN_*.ipynb`` exist, with each one's running times read from the committed
outputs and benchmarks/results/notebooks-quick.md, and what to know first from
book/prerequisites.toml. The staged copies show what Jupyter shows, minus what says
nothing on a page (progress bars, blank stream outputs); the committed notebooks are
never changed, and they are what a page's download button gives.
"""

from __future__ import annotations

import argparse
import json
import posixpath
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

BOOK_DIR = Path(__file__).resolve().parent
REPO_ROOT = BOOK_DIR.parent
DEFAULT_OUT = REPO_ROOT / "_build" / "book"
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
NOTEBOOKS_MARKER = "<!-- NOTEBOOKS -->"
REPO_URL_MARKER = "@REPO_URL@"
LICENSE_FILE = "LICENSE"
LICENSE_PAGE = "LICENSE.txt"  # the site's copy, served as text
# What a student should know or have run before each notebook, keyed by its number.
PREREQUISITES_FILE = "book/prerequisites.toml"
# QUICK-mode wall times, from scratch, of `python -m benchmarks.notebook_suite`.
QUICK_TIMES_FILE = "benchmarks/results/notebooks-quick.md"
# The last line of every notebook's final check cell: its full-mode wall time.
FULL_TIME_LINE = re.compile(r"all checks passed; notebook ran in (\d+) s")
# A model loaded from the checkpoint cache: that run's time leaves its training out.
FROM_CACHE = "loaded the trained model from the cache"
# The notebooks' Colab badge image lives on Colab's server; the site serves its own copy
# so that a page makes no request to another host.
COLAB_BADGE_URL = "https://colab.research.google.com/assets/colab-badge.svg"
# relative to the staged source folder (MyST: a leading / is the source root)
LOCAL_BADGE = "/_badges/colab-badge.svg"
# [text](target) and ![alt](target) in markdown, target without a scheme or a leading #
MARKDOWN_LINK = re.compile(
    r"(!?\[[^\]]*)\]\((?![a-z][a-z0-9+.-]*:|#)([^)\s]+)\)", re.IGNORECASE
)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}
# Jupyter widgets (tqdm.auto's bars under JupyterLab) would make MyST-NB load the widget
# manager from a CDN; the site shows their text form instead, as nbconvert and GitHub
# do.
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# A tqdm progress bar's time and rate: "[00:42<02:50, 14.17s/epoch" or "[00:03, 2.1it/s"
TQDM_BAR = re.compile(
    r"\[(?:\d+:)?\d+:\d\d(?:<(?:(?:\d+:)?\d+:\d\d|\?))?,\s+"
    r"(?:\?|[\d.]+\s*[kMGTPEZY]?)\S*?(?:/s|s/\w+)"
)
# Each staged code cell is tagged with its index in the notebook; MyST-NB makes the tag
# the class tag_nbcell-<index> of the cell, so a check of the page can name the cell.
CELL_TAG = "nbcell-"


@dataclass(frozen=True)
class Notebook:
    """One course notebook: its file name, its page (``notebooks/NN_name``) and its
    title (first ``#`` heading)."""

    file: str
    page: str
    title: str

    @property
    def number(self) -> str:
        return self.file[:2]


@dataclass(frozen=True)
class FullRun:
    """The committed (full-mode) run of a notebook: its wall time, and whether it loaded
    trained models from the checkpoint cache (so that the time leaves training out)."""

    seconds: int
    from_cache: bool


@dataclass(frozen=True)
class BuildResult:
    """What a build produced: the site folder, the notebooks it rendered, its warnings
    (Sphinx's and the build's own) and its wall time."""

    site: Path
    notebooks: list[Notebook]
    warnings: list[str]
    seconds: float


def course_notebooks(root: Path = REPO_ROOT) -> list[Notebook]:
    """Every ``notebooks/NN_*.ipynb`` in file-name order, with the title of its first
    markdown heading."""
    found = []
    for path in sorted((root / "notebooks").glob(NOTEBOOK_GLOB)):
        found.append(
            Notebook(path.name, f"notebooks/{path.stem}", notebook_title(path))
        )
    if not found:
        raise FileNotFoundError(
            f"No notebooks matching {NOTEBOOK_GLOB} in {root / 'notebooks'}: "
            "nothing to build."
        )
    return found


def notebook_title(path: Path) -> str:
    """The text of the notebook's first level-1 heading (``# ...``), as the page will
    show it."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] == "markdown":
            source = "".join(cell["source"])
            if match := re.search(r"^# +(.+?)\s*$", source, re.MULTILINE):
                return match[1]
    raise ValueError(
        f"{path.name} has no '# Title' heading in a markdown cell: every page needs "
        "one."
    )


def colab_url(repo_slug: str, notebook_file: str) -> str:
    """The Colab link that opens ``notebooks/<notebook_file>`` of the main branch."""
    return (
        f"https://colab.research.google.com/github/{repo_slug}/blob/main/"
        f"notebooks/{notebook_file}"
    )


def download_url(nb: Notebook) -> str:
    """Where the site serves the committed notebook (relative to the site's root)."""
    return f"_sources/{nb.page}.ipynb"


def stream_text(output: dict) -> str:
    return "".join(output.get("text", ""))


def full_run(path: Path) -> FullRun | None:
    """The wall time its final check cell printed (``all checks passed; notebook ran in
    N s``), or None when the committed outputs hold no such line."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    texts = [stream_text(o) for c in cells for o in c.get("outputs", [])]
    times = [int(m) for text in texts for m in FULL_TIME_LINE.findall(text)]
    if not times:
        return None
    return FullRun(times[-1], any(FROM_CACHE in text for text in texts))


def quick_times(path: Path) -> dict[str, int]:
    """{notebook file: seconds} of the QUICK-mode table that ``python -m
    benchmarks.notebook_suite`` writes (rows whose result is ``ok``)."""
    if not path.is_file():
        return {}
    times = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        row = len(cells) >= 4 and cells[0].endswith(".ipynb") and cells[1].isdigit()
        if row and cells[-1] == "ok":
            times[cells[0]] = int(cells[1])
    return times


def prerequisites(path: Path) -> dict[str, str]:
    """{notebook number: what to know or run first} from book/prerequisites.toml."""
    if not path.is_file():
        return {}
    table = tomllib.loads(path.read_text(encoding="utf-8"))
    return {str(key): " ".join(str(value).split()) for key, value in table.items()}


def duration(seconds: int) -> str:
    """A wall time as a student plans with it: seconds under a minute, else minutes."""
    return f"{seconds} s" if seconds < 60 else f"{round(seconds / 60)} min"


def landing_page(
    template: str,
    notebooks: list[Notebook],
    repo_slug: str,
    quick: dict[str, int] | None = None,
    full: dict[str, FullRun | None] | None = None,
    before: dict[str, str] | None = None,
) -> str:
    """``book/index.md`` with the notebook table and the table of contents.

    One row per notebook: its title (from the page), its Colab link and download link,
    its running times (``quick``: {file: seconds} in QUICK mode; ``full``: {file: the
    committed run}) and what to know first (``before``: {number: text}).
    """
    quick, full, before = quick or {}, full or {}, before or {}
    rows = [
        "```{list-table}",
        ":header-rows: 1",
        ":class: course-notebooks",
        ":widths: 45 20 35",
        "",
        "* - notebook",
        "  - time on a CPU",
        "  - before you start",
    ]
    cached = False
    for nb in notebooks:
        badge = f"[![Open in Colab]({LOCAL_BADGE})]({colab_url(repo_slug, nb.file)})"
        download = f'<a href="{download_url(nb)}" download>download .ipynb</a>'
        run = full.get(nb.file)
        cached |= bool(run and run.from_cache)
        full_text = "not measured"
        if run:
            full_text = duration(run.seconds) + (" †" if run.from_cache else "")
        quick_text = duration(quick[nb.file]) if nb.file in quick else "not measured"
        rows += [
            f"* - [](/{nb.page}.ipynb)",
            "",
            f"    {badge} {download}",
            f"  - QUICK: {quick_text}",
            "",
            f"    full: {full_text}",
            f"  - {before.get(nb.number, '')}",
        ]
    rows.append("```")
    notes = [
        "",
        "QUICK mode (smaller subsets, fewer epochs) was timed from scratch, every "
        "model trained, on 2 CPU cores: benchmarks/results/notebooks-quick.md. Full "
        "mode is the committed run's own wall time, printed by its last cell.",
    ]
    if cached:
        notes[-1] += (
            " † That run loaded its trained models from the checkpoint cache: a first "
            "run also trains them and takes longer (the notebook prints how long)."
        )
    toctree = ["```{toctree}", ":hidden:", ":maxdepth: 1", ""]
    toctree += [nb.page for nb in notebooks] + ["```"]
    if NOTEBOOKS_MARKER not in template:
        raise ValueError(
            f"book/index.md lost its {NOTEBOOKS_MARKER} line: the notebook list goes "
            "there."
        )
    table = "\n".join([*rows, *notes, "", *toctree])
    text = template.replace(NOTEBOOKS_MARKER, table)
    return text.replace(REPO_URL_MARKER, f"https://github.com/{repo_slug}")


def landing_warnings(
    notebooks: list[Notebook],
    quick: dict[str, int],
    full: dict[str, FullRun | None],
    before: dict[str, str],
) -> list[str]:
    """What the landing page would lack or say wrongly: a notebook without a time or
    without prerequisites, a prerequisites entry for a notebook that does not exist."""
    found = []
    numbers = {nb.number for nb in notebooks}
    for nb in notebooks:
        if nb.file not in quick:
            found.append(
                f"{nb.file}: no QUICK time in {QUICK_TIMES_FILE} (run `XAI_QUICK=1 "
                "python -m benchmarks.notebook_suite`)"
            )
        if full.get(nb.file) is None:
            found.append(
                f"{nb.file}: no 'all checks passed; notebook ran in N s' line in its "
                "committed outputs (its final check cell prints it)"
            )
        if not before.get(nb.number):
            found.append(f'{nb.file}: no entry "{nb.number}" in {PREREQUISITES_FILE}')
    for number in sorted(set(before) - numbers):
        found.append(f'{PREREQUISITES_FILE}: entry "{number}" names no notebook')
    return found


def as_terminal_shows(text: str) -> str:
    """Stream text as a terminal or Jupyter shows it: a carriage return overwrites its
    line (tqdm's bars leave their last state, not one line per refresh)."""
    lines = text.split("\n")
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in lines)


def without_widgets(outputs: list[dict]) -> list[dict]:
    """The outputs with each widget view replaced by its text form (dropped where it has
    none)."""
    kept = []
    for output in outputs:
        data = {k: v for k, v in output.get("data", {}).items() if k != WIDGET_VIEW}
        if "data" in output and not data:
            continue
        kept.append({**output, "data": data} if "data" in output else output)
    return kept


def merged_streams(outputs: list[dict]) -> list[dict]:
    """The outputs with consecutive chunks of the same stream (stdout, stderr) joined,
    as Jupyter shows them."""
    merged: list[dict] = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            output["output_type"] == "stream"
            and previous
            and previous["output_type"] == "stream"
            and previous["name"] == output["name"]
        ):
            previous["text"] = "".join(previous["text"]) + "".join(output["text"])
        else:
            merged.append(dict(output))
    for output in merged:
        if output["output_type"] == "stream":
            output["text"] = as_terminal_shows("".join(output["text"]))
    return merged


def without_noise(outputs: list[dict]) -> list[dict]:
    """The outputs without what says nothing on a page: tqdm progress bars (their lines
    are dropped from a stream) and streams left blank (an empty stderr box)."""
    kept = []
    for output in outputs:
        if output["output_type"] == "stream":
            lines = stream_text(output).split("\n")
            text = "\n".join(line for line in lines if not TQDM_BAR.search(line))
            if not text.strip():
                continue
            output = {**output, "text": text}
        kept.append(output)
    return kept


def repository_links(
    markdown: str, root: Path, repo_slug: str, images: set[str]
) -> str:
    """Relative links of a notebook's markdown made to work on the site: another
    notebook stays a page link, an image is staged with the page (its repository path is
    added to ``images``), any other repository file (``../utils/cam.py``,
    ``../README.md``) becomes its GitHub address."""

    def rewrite(match: re.Match) -> str:
        target = match[2]
        path, _, fragment = target.partition("#")
        in_repo = posixpath.normpath(posixpath.join("notebooks", unquote(path)))
        if (
            not path
            or path.startswith("/")
            or in_repo.startswith("..")
            or not (root / in_repo).is_file()
        ):
            # an anchor, or outside the repository: Sphinx reports what it can't resolve
            return match[0]
        if in_repo.startswith("notebooks/") and in_repo.endswith(".ipynb"):
            return match[0]
        if match[1].startswith("!") and Path(in_repo).suffix.lower() in IMAGE_SUFFIXES:
            images.add(in_repo)
            return match[0]
        url = f"https://github.com/{repo_slug}/blob/main/{in_repo}"
        return f"{match[1]}]({url}{'#' + fragment if fragment else ''})"

    return MARKDOWN_LINK.sub(rewrite, markdown)


def stage_notebook(
    source: Path, target: Path, repo_slug: str = "", root: Path = REPO_ROOT
) -> set[str]:
    """Copy a notebook for the build: its Colab badge image pointing at the site's own
    copy, links to other repository files working, its outputs as Jupyter shows them
    without progress bars and blank streams, widgets as text, each code cell tagged with
    its index (``nbcell-<i>``).

    Returns:
        the repository paths of the local images its markdown shows (to stage beside
        it).
    """
    notebook = json.loads(source.read_text(encoding="utf-8"))
    notebook["metadata"].pop("widgets", None)
    images: set[str] = set()
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"]).replace(COLAB_BADGE_URL, LOCAL_BADGE)
            text = repository_links(text, root, repo_slug, images)
            cell["source"] = text.splitlines(keepends=True)
        elif cell["cell_type"] == "code":
            outputs = merged_streams(without_widgets(cell.get("outputs", [])))
            cell["outputs"] = without_noise(outputs)
            metadata = cell.setdefault("metadata", {})
            metadata["tags"] = [*metadata.get("tags", []), f"{CELL_TAG}{index}"]
    text = json.dumps(notebook, ensure_ascii=False, indent=1) + "\n"
    target.write_text(text, encoding="utf-8")
    return images


def build_book(out: Path = DEFAULT_OUT, root: Path = REPO_ROOT) -> BuildResult:
    """Stage the sources next to ``out``, run Sphinx, put the committed notebooks and
    the licence beside the pages, return the site folder and the warnings.

    Args:
        out: the site folder (emptied first); staging and Sphinx's cache go to
            ``<out>.work/``.
        root: the repository whose ``notebooks/`` are rendered.

    Raises:
        RuntimeError: Sphinx failed; the message holds its output.
    """
    sys.path.insert(0, str(BOOK_DIR))
    from conf import REPO_SLUG  # noqa: E402 (book/conf.py: one place for the slug)

    start = time.perf_counter()
    out, work = out.resolve(), out.resolve().with_name(out.name + ".work")
    source = work / "source"
    for folder in (out, source):
        shutil.rmtree(folder, ignore_errors=True)
    (source / "notebooks").mkdir(parents=True)
    (source / "_badges").mkdir()
    badge = source / "_badges" / "colab-badge.svg"
    shutil.copy2(BOOK_DIR / "_static" / "colab-badge.svg", badge)
    notebooks = course_notebooks(root)
    for nb in notebooks:
        staged = source / "notebooks" / nb.file
        for image in stage_notebook(
            root / "notebooks" / nb.file, staged, REPO_SLUG, root
        ):
            (source / image).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / image, source / image)
    quick = quick_times(root / QUICK_TIMES_FILE)
    full = {nb.file: full_run(root / "notebooks" / nb.file) for nb in notebooks}
    before = prerequisites(root / PREREQUISITES_FILE)
    template = (BOOK_DIR / "index.md").read_text(encoding="utf-8")
    landing = landing_page(template, notebooks, REPO_SLUG, quick, full, before)
    (source / "index.md").write_text(landing, encoding="utf-8")

    warnings_file = work / "warnings.txt"
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-E"]
    command += ["-c", str(BOOK_DIR), "-d", str(work / "doctrees")]
    command += ["-w", str(warnings_file), str(source), str(out)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"Sphinx failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    warnings = warnings_file.read_text(encoding="utf-8").splitlines()
    warnings = [line for line in warnings if line.strip()]
    warnings += landing_warnings(notebooks, quick, full, before)
    warnings += publish_downloads(out, root, notebooks)
    return BuildResult(out, notebooks, warnings, time.perf_counter() - start)


def publish_downloads(site: Path, root: Path, notebooks: list[Notebook]) -> list[str]:
    """Put what the pages offer for download in place: each committed notebook, byte for
    byte, where the download button points (Sphinx copied the staged one there), and the
    licence as ``LICENSE.txt``; make the notebook links downloads, not new tabs.

    Returns:
        warnings: what could not be offered.
    """
    found = []
    for nb in notebooks:
        target = site / download_url(nb)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / "notebooks" / nb.file, target)
        page = site / f"{nb.page}.html"
        html = page.read_text(encoding="utf-8")
        link = f'href="../{download_url(nb)}" target="_blank"'
        if link not in html:
            found.append(f"{page.name}: the theme's download button is missing")
        page.write_text(html.replace(link, link.replace('target="_blank"', "download")))
    if (root / LICENSE_FILE).is_file():
        shutil.copyfile(root / LICENSE_FILE, site / LICENSE_PAGE)
    else:
        found.append(f"no {LICENSE_FILE} file in {root}: the landing page links to it")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"site folder (default {DEFAULT_OUT})",
    )
    args = parser.parse_args()
    result = build_book(args.out)
    site = result.site
    pages = sum(
        "_static" not in p.relative_to(site).parts for p in site.rglob("*.html")
    )
    size_mb = sum(f.stat().st_size for f in site.rglob("*") if f.is_file()) / 1e6
    print(
        f"{len(result.notebooks)} notebooks, {pages} pages, {size_mb:.1f} MB in {site} "
        f"({result.seconds:.1f} s); open {site / 'index.html'}"
    )
    for warning in result.warnings:
        print("WARNING:", warning, file=sys.stderr)


if __name__ == "__main__":
    main()
