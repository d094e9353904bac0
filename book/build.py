"""Build the course's website from the committed notebooks, without executing them.

    python book/build.py                 # -> _build/book/index.html (what `make book` runs)
    python book/build.py --out DIR       # somewhere else

Sphinx reads a staging folder laid out like the repository (``index.md``, ``notebooks/NN_*.ipynb``), so each
page's Colab button points at ``notebooks/<file>`` on GitHub. The landing page's list of notebooks is made
here from whatever ``notebooks/NN_*.ipynb`` exist, so a new or renamed notebook needs no change to the book.
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
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

BOOK_DIR = Path(__file__).resolve().parent
REPO_ROOT = BOOK_DIR.parent
DEFAULT_OUT = REPO_ROOT / "_build" / "book"
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
NOTEBOOKS_MARKER = "<!-- NOTEBOOKS -->"
REPO_URL_MARKER = "@REPO_URL@"
# The notebooks' Colab badge image lives on Colab's server; the site serves its own copy so that a page
# makes no request to another host.
COLAB_BADGE_URL = "https://colab.research.google.com/assets/colab-badge.svg"
LOCAL_BADGE = "/_badges/colab-badge.svg"  # relative to the staged source folder (MyST: leading / = source root)
# [text](target) and ![alt](target) in markdown, target without a scheme (http:, mailto:) or a leading #
MARKDOWN_LINK = re.compile(r"(!?\[[^\]]*)\]\((?![a-z][a-z0-9+.-]*:|#)([^)\s]+)\)", re.IGNORECASE)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}
# Jupyter widgets (tqdm.auto's bars under JupyterLab) would make MyST-NB load the widget manager from a CDN;
# the site shows their text form instead, as nbconvert and GitHub do.
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@dataclass(frozen=True)
class Notebook:
    """One course notebook: its file name, its page (``notebooks/NN_name``) and its title (first ``#`` heading)."""

    file: str
    page: str
    title: str


@dataclass(frozen=True)
class BuildResult:
    """What a build produced: the site folder, the notebooks it rendered, its warnings and its wall time."""

    site: Path
    notebooks: list[Notebook]
    warnings: list[str]
    seconds: float


def course_notebooks(root: Path = REPO_ROOT) -> list[Notebook]:
    """Every ``notebooks/NN_*.ipynb`` in file-name order, with the title of its first markdown heading."""
    found = []
    for path in sorted((root / "notebooks").glob(NOTEBOOK_GLOB)):
        found.append(Notebook(path.name, f"notebooks/{path.stem}", notebook_title(path)))
    if not found:
        raise FileNotFoundError(f"No notebooks matching {NOTEBOOK_GLOB} in {root / 'notebooks'}: nothing to build.")
    return found


def notebook_title(path: Path) -> str:
    """The text of the notebook's first level-1 heading (``# ...``), as the page will show it."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] == "markdown":
            source = "".join(cell["source"])
            if match := re.search(r"^# +(.+?)\s*$", source, re.MULTILINE):
                return match[1]
    raise ValueError(f"{path.name} has no '# Title' heading in a markdown cell: every page needs one.")


def colab_url(repo_slug: str, notebook_file: str) -> str:
    """The Colab link that opens ``notebooks/<notebook_file>`` of the repository's main branch."""
    return f"https://colab.research.google.com/github/{repo_slug}/blob/main/notebooks/{notebook_file}"


def landing_page(template: str, notebooks: list[Notebook], repo_slug: str) -> str:
    """``book/index.md`` with the notebook table (titles come from the pages) and the table of contents."""
    rows = ["| notebook | run it |", "|---|---|"]
    for nb in notebooks:
        badge = f"[![Open in Colab]({LOCAL_BADGE})]({colab_url(repo_slug, nb.file)})"
        rows.append(f"| [](/{nb.page}.ipynb) | {badge} |")
    toctree = ["```{toctree}", ":hidden:", ":maxdepth: 1", "", *[nb.page for nb in notebooks], "```"]
    if NOTEBOOKS_MARKER not in template:
        raise ValueError(f"book/index.md lost its {NOTEBOOKS_MARKER} line: the notebook list goes there.")
    text = template.replace(NOTEBOOKS_MARKER, "\n".join([*rows, "", *toctree]))
    return text.replace(REPO_URL_MARKER, f"https://github.com/{repo_slug}")


def as_terminal_shows(text: str) -> str:
    """Stream text as a terminal or Jupyter shows it: a carriage return overwrites its line (tqdm's bars
    leave their last state, not one line per refresh)."""
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n"))


def without_widgets(outputs: list[dict]) -> list[dict]:
    """The outputs with each widget view replaced by its text form (dropped where it has none)."""
    kept = []
    for output in outputs:
        data = {k: v for k, v in output.get("data", {}).items() if k != WIDGET_VIEW}
        if "data" in output and not data:
            continue
        kept.append({**output, "data": data} if "data" in output else output)
    return kept


def merged_streams(outputs: list[dict]) -> list[dict]:
    """The outputs with consecutive chunks of the same stream (stdout, stderr) joined, as Jupyter shows them."""
    merged: list[dict] = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if output["output_type"] == "stream" and previous and previous["output_type"] == "stream" \
                and previous["name"] == output["name"]:
            previous["text"] = "".join(previous["text"]) + "".join(output["text"])
        else:
            merged.append(dict(output))
    for output in merged:
        if output["output_type"] == "stream":
            output["text"] = as_terminal_shows("".join(output["text"]))
    return merged


def repository_links(markdown: str, root: Path, repo_slug: str, images: set[str]) -> str:
    """Relative links of a notebook's markdown made to work on the site: another notebook stays a page link,
    an image is staged with the page (its repository path is added to ``images``), any other repository file
    (``../utils/cam.py``, ``../README.md``) becomes its GitHub address."""

    def rewrite(match: re.Match) -> str:
        target = match[2]
        path, _, fragment = target.partition("#")
        in_repo = posixpath.normpath(posixpath.join("notebooks", unquote(path)))
        if not path or path.startswith("/") or in_repo.startswith("..") or not (root / in_repo).is_file():
            return match[0]  # an anchor, or outside the repository: Sphinx reports what it cannot resolve
        if in_repo.startswith("notebooks/") and in_repo.endswith(".ipynb"):
            return match[0]
        if match[1].startswith("!") and Path(in_repo).suffix.lower() in IMAGE_SUFFIXES:
            images.add(in_repo)
            return match[0]
        url = f"https://github.com/{repo_slug}/blob/main/{in_repo}" + (f"#{fragment}" if fragment else "")
        return f"{match[1]}]({url})"

    return MARKDOWN_LINK.sub(rewrite, markdown)


def stage_notebook(source: Path, target: Path, repo_slug: str = "", root: Path = REPO_ROOT) -> set[str]:
    """Copy a notebook for the build: its Colab badge image pointing at the site's own copy, links to other
    repository files working, its progress bars as Jupyter shows them, widgets as text.

    Returns:
        the repository paths of the local images its markdown shows (to stage beside it).
    """
    notebook = json.loads(source.read_text(encoding="utf-8"))
    notebook["metadata"].pop("widgets", None)
    images: set[str] = set()
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"]).replace(COLAB_BADGE_URL, LOCAL_BADGE)
            text = repository_links(text, root, repo_slug, images)
            cell["source"] = text.splitlines(keepends=True)
        elif cell["cell_type"] == "code":
            cell["outputs"] = merged_streams(without_widgets(cell.get("outputs", [])))
    target.write_text(json.dumps(notebook, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return images


def build_book(out: Path = DEFAULT_OUT, root: Path = REPO_ROOT) -> BuildResult:
    """Stage the sources next to ``out``, run Sphinx, return the site folder and the warnings.

    Args:
        out: the site folder (emptied first); staging and Sphinx's cache go to ``<out>.work/``.
        root: the repository whose ``notebooks/`` are rendered.

    Raises:
        RuntimeError: Sphinx failed; the message holds its output.
    """
    sys.path.insert(0, str(BOOK_DIR))
    from conf import REPO_SLUG  # noqa: E402 (book/conf.py: one place for the slug lookup)

    start = time.perf_counter()
    out, work = out.resolve(), out.resolve().with_name(out.name + ".work")
    source = work / "source"
    for folder in (out, source):
        shutil.rmtree(folder, ignore_errors=True)
    (source / "notebooks").mkdir(parents=True)
    (source / "_badges").mkdir()
    shutil.copy2(BOOK_DIR / "_static" / "colab-badge.svg", source / "_badges" / "colab-badge.svg")
    notebooks = course_notebooks(root)
    for nb in notebooks:
        for image in stage_notebook(root / "notebooks" / nb.file, source / "notebooks" / nb.file, REPO_SLUG, root):
            (source / image).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / image, source / image)
    template = (BOOK_DIR / "index.md").read_text(encoding="utf-8")
    (source / "index.md").write_text(landing_page(template, notebooks, REPO_SLUG), encoding="utf-8")

    warnings_file = work / "warnings.txt"
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-E", "-c", str(BOOK_DIR)]
    command += ["-d", str(work / "doctrees"), "-w", str(warnings_file), str(source), str(out)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"Sphinx failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    warnings = [line for line in warnings_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    return BuildResult(out, notebooks, warnings, time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"site folder (default {DEFAULT_OUT})")
    args = parser.parse_args()
    result = build_book(args.out)
    pages = sum("_static" not in p.relative_to(result.site).parts for p in result.site.rglob("*.html"))
    size_mb = sum(f.stat().st_size for f in result.site.rglob("*") if f.is_file()) / 1e6
    print(f"{len(result.notebooks)} notebooks, {pages} pages, {size_mb:.1f} MB in {result.site} "
          f"({result.seconds:.1f} s); open {result.site / 'index.html'}")
    for warning in result.warnings:
        print("WARNING:", warning, file=sys.stderr)


if __name__ == "__main__":
    main()
