"""The course's website (book/, `make book`): built from the committed notebooks and
opened in a real browser.

Three layers:

- the build's own functions (staging, landing page) on synthetic input;
- the page rules of issue 21 read from the committed notebooks (one test per notebook
  and rule, so that a failure names both): figures with alt text and at most 8 inches
  wide, fonts of at least 8 pt, printed lines of at most 88 characters with no machine
  path or raw exception text, the network that produced the outputs named in the title
  cell, exercise solutions folded;
- the built site in headless Chromium, every page at 1366×900 and at 390×844: no console
  error, nothing fetched from another host, no broken link; at 1366 px no code block or
  output scrolls sideways (on a phone they may scroll inside their own box; the page may
  not), every figure shows its 8-pt labels at least 9 px high and links to its
  full-size file, with alt text that says what it shows; no page is wider than the
  phone; solutions are folded; the title area names the network; no empty output box;
  a copy button on each code cell and the committed notebook to download.

Every browser rule also runs on a small site built from one bad and one good synthetic
notebook (test_browser_rules_catch_a_bad_page): each must flag the bad page and pass the
good one. The browser is Debian's `chromium`, driven by Playwright's Python client
(launched at its path; Playwright never downloads a browser here); the site is served on
127.0.0.1 and any request to another host is blocked and reported. Without Chromium or
Playwright the browser tests skip and say how to get them.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import http.server
import importlib.util
import io
import json
import re
import shutil
import sys
import threading
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from utils.config import REPO_ROOT, REPO_SLUG

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE_TIMEOUT_MS = 30_000
INLINE_MATH = re.compile(r"(?<![\\$])\$[^$\n]+\$|\$\$.+?\$\$", re.DOTALL)

# The viewports: a laptop and a phone.
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
# Line length of code and printed output (ruff's, pyproject.toml).
MAX_COLUMNS = 88
# A figure is drawn at most 8 inches wide (800 px at matplotlib's 100 dpi), with fonts
# of at least 8 pt; shown on the page, an 8-pt label must stay at least 9 px high.
MAX_FIGURE_INCHES = 8.0
MIN_FONT_PT = 8.0
MIN_LABEL_PX = 9.0
DEFAULT_DPI = 100.0  # matplotlib's, where an image does not record its own
SVG_DPI = 96.0  # an SVG's size is in CSS units: 96 px to the inch
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
# Alt text that says nothing about the figure.
GENERIC_ALT = {"image", "figure", "plot", "output", "png", "chart", "graph", "picture"}
# Paths of somebody's machine, and raw exception text, in printed output.
MACHINE_PATH = re.compile(
    r"(?<![\w.~])(?:/root|/home|/tmp|/work|/Users|/content|/var/folders)(?=/|\b)"
    r"|\.cache[/\\]|\b[A-Z]:\\(?:Users|Windows)\\"
)
RAW_EXCEPTION = re.compile(
    r"Traceback \(most recent call last\)|URLError|<urlopen error|\[Errno -?\d+\]"
)
# "using <network> ...": the line notebooks 04 and 06 print to say which network ran.
USING_NETWORK = re.compile(r"^using ([A-Za-z][\w.-]*\d[\w.-]*)", re.MULTILINE)
OUTPUTS_LINE = re.compile(r"^\*\*Outputs on this page:\*\*(.*)$", re.MULTILINE)
OUTPUTS_LABEL = "Outputs on this page:"
FONT_SIZE = re.compile(
    r"\b(?:fontsize|labelsize|title_fontsize)\s*=\s*(?:(\d+(?:\.\d+)?)\b|"
    r"[\"'](xx-small|x-small)[\"'])"
    r"|[\"'](?:font\.size|size|fontsize)[\"']\s*:\s*(\d+(?:\.\d+)?)\b"
)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _load_build_module():
    """book/build.py as a module (book/ holds Sphinx sources, not a package)."""
    path = REPO_ROOT / "book" / "build.py"
    spec = importlib.util.spec_from_file_location("book_build", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


build = _load_build_module()
NOTEBOOK_FILES = sorted(
    p.name for p in (REPO_ROOT / "notebooks").glob(build.NOTEBOOK_GLOB)
)


def require_book_packages() -> None:
    for package in ("sphinx", "myst_nb", "sphinx_book_theme", "sphinx_copybutton"):
        pytest.importorskip(
            package, reason=f"{package} is missing: pip install -r requirements-dev.txt"
        )
    pytest.importorskip(
        "mathjax",
        reason="django-static-mathjax is missing: pip install -r requirements-dev.txt",
    )


@pytest.fixture(scope="session")
def book(tmp_path_factory: pytest.TempPathFactory):
    """The site, built once per session from the committed notebooks (no execution)."""
    require_book_packages()
    return build.build_book(tmp_path_factory.mktemp("book") / "site")


def site_pages(site: Path) -> list[Path]:
    """Every HTML page of the site (the theme's fragments under _static/ are not)."""
    pages = site.rglob("*.html")
    return sorted(p for p in pages if "_static" not in p.relative_to(site).parts)


def read_notebook(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def notebook_json(nb) -> dict:
    return read_notebook(REPO_ROOT / "notebooks" / nb.file)


def markdown_text(notebook: dict) -> str:
    cells = notebook["cells"]
    return "\n".join(
        "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
    )


def image_outputs(notebook: dict) -> int:
    """How many image outputs (PNG, JPEG, SVG, GIF) the notebook holds."""
    return sum(
        any(k in out.get("data", {}) for k in IMAGE_MIMES)
        for cell in notebook["cells"]
        for out in cell.get("outputs", [])
    )


def plain_title(markdown_title: str) -> str:
    """The heading as a reader sees it: no backticks or emphasis, single spaces."""
    return " ".join(re.sub(r"[`*_]", "", markdown_title).split())


# --- the build's own functions ------------------------------------------------------


def tqdm_bar(n: int, total: int | None, seconds: float, **kwargs) -> str:
    from tqdm import tqdm

    return tqdm.format_meter(n, total, seconds, **kwargs)


def test_staged_notebook_shows_what_jupyter_shows(tmp_path: Path) -> None:
    bars = [
        "\r" + tqdm_bar(0, 2, 0, prefix="fit"),
        "\r" + tqdm_bar(1, 2, 41, prefix="fit", unit="epoch", postfix="loss=0.4"),
        "\r" + tqdm_bar(2, 2, 80, prefix="fit", unit="epoch"),
        "\n",
    ]
    widgets = {"application/vnd.jupyter.widget-state+json": {"state": {"a": {}}}}
    markdown = f"# T\n[![Colab]({build.COLAB_BADGE_URL})](x)"
    notebook = {
        "metadata": {"widgets": widgets},
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": [markdown]},
            {
                "cell_type": "code",
                "metadata": {"tags": ["solution"]},
                "source": [],
                "execution_count": 1,
                "outputs": [
                    *[stream(bar, "stderr") for bar in bars],
                    stream("epoch 2: loss 0.1\n"),
                    stream("\r" + " " * 40 + "\r", "stderr"),  # a bar's blank remains
                    stream(
                        tqdm_bar(5, None, 3, prefix="batches") + "\nkept\n", "stderr"
                    ),
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {
                            build.WIDGET_VIEW: {"model_id": "a"},
                            "text/plain": ["loss 0.1"],
                        },
                    },
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {build.WIDGET_VIEW: {"model_id": "b"}},
                    },
                ],
            },
        ],
    }
    source, staged = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    source.write_text(json.dumps(notebook))
    build.stage_notebook(source, staged)
    result = json.loads(staged.read_text())
    assert "widgets" not in result["metadata"]
    assert build.COLAB_BADGE_URL not in "".join(result["cells"][0]["source"])
    assert build.LOCAL_BADGE in "".join(result["cells"][0]["source"])
    cell = result["cells"][1]
    assert cell["metadata"]["tags"] == ["solution", "nbcell-1"]
    outputs = cell["outputs"]
    assert [o["output_type"] for o in outputs] == ["stream", "stream", "display_data"]
    assert outputs[0]["text"] == "epoch 2: loss 0.1\n"
    assert outputs[1]["name"] == "stderr" and outputs[1]["text"] == "kept\n"
    assert outputs[2]["data"] == {"text/plain": ["loss 0.1"]}
    assert json.loads(source.read_text()) == notebook, "the source must stay as it was"


def stream(text: str, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": [text]}


def test_progress_bar_pattern_matches_tqdm_and_not_prints() -> None:
    bars = [
        tqdm_bar(0, 15, 0, prefix="fit"),
        tqdm_bar(3, 15, 42.5, prefix="fit", unit="epoch", postfix="loss=0.41"),
        tqdm_bar(15, 15, 1176, prefix="fit", unit="epoch"),
        tqdm_bar(7, None, 3.3, prefix="batches"),
        tqdm_bar(700_000, 1_000_000, 33, unit="B", unit_scale=True),
        tqdm_bar(3, 10, 1000, ncols=60),
    ]
    assert all(build.TQDM_BAR.search(bar) for bar in bars), bars
    prints = [
        "after 15 epochs: validation accuracy 0.767 (training took 19.6 min on cpu)",
        "ROAR [10:30] done, 0.361 back",
        "seconds per explained photo, this run 21.0 (200 samples × 2 classes)",
    ]
    assert not any(build.TQDM_BAR.search(line) for line in prints)


def test_links_to_repository_files_work_on_the_site(tmp_path: Path) -> None:
    files = ("notebooks/02_b.ipynb", "notebooks/figs/tree.png", "utils/cam.py")
    for path in (*files, "README.md"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")
    markdown = (
        "[next](02_b.ipynb#data) ![tree](figs/tree.png) [code](../utils/cam.py#L3) "
        "[readme](../README.md) [gone](../utils/gone.py) "
        "[web](https://example.org/a.py) [here](#setup)"
    )
    images: set[str] = set()
    result = build.repository_links(markdown, tmp_path, "owner/repo", images)
    assert result == (
        "[next](02_b.ipynb#data) ![tree](figs/tree.png) "
        "[code](https://github.com/owner/repo/blob/main/utils/cam.py#L3) "
        "[readme](https://github.com/owner/repo/blob/main/README.md) "
        "[gone](../utils/gone.py) [web](https://example.org/a.py) [here](#setup)"
    )
    assert images == {"notebooks/figs/tree.png"}


def test_landing_page_times_and_prerequisites_come_from_their_files(
    tmp_path: Path,
) -> None:
    """The times are read from the benchmark table and the committed outputs, never
    typed in: other files, other numbers."""
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / build.QUICK_TIMES_FILE).write_text(
        "QUICK mode\n\n| notebook | seconds | peak RSS (MB) | result |\n"
        "|---|---|---|---|\n"
        "| 01_a.ipynb | 47 | 900 | ok |\n| 02_b.ipynb | 3000 | 900 | FAILED |\n"
        "| **all** | **3047** | | |\n"
    )
    assert build.quick_times(tmp_path / build.QUICK_TIMES_FILE) == {"01_a.ipynb": 47}
    (tmp_path / "notebooks").mkdir()
    cached = "loaded the trained model from the cache: a.pt (delete it to retrain)\n"
    for name, lines in (
        ("01_a.ipynb", [cached, "all checks passed; notebook ran in 754 s\n"]),
        ("02_b.ipynb", ["all checks passed; notebook ran in 31 s\n"]),
    ):
        cells = [
            {"cell_type": "markdown", "metadata": {}, "source": [f"# {name}"]},
            code_cell([], [stream(line) for line in lines]),
        ]
        write_notebook(tmp_path / "notebooks" / name, cells)
    (tmp_path / "book").mkdir()
    (tmp_path / build.PREREQUISITES_FILE).write_text(
        '"01" = "Know *softmax*."\n"03" = "x"\n'
    )
    notebooks = build.course_notebooks(tmp_path)
    quick = build.quick_times(tmp_path / build.QUICK_TIMES_FILE)
    full = {
        nb.file: build.full_run(tmp_path / "notebooks" / nb.file) for nb in notebooks
    }
    assert full == {
        "01_a.ipynb": build.FullRun(754, True),
        "02_b.ipynb": build.FullRun(31, False),
    }
    before = build.prerequisites(tmp_path / build.PREREQUISITES_FILE)
    text = build.landing_page(
        "<!-- NOTEBOOKS -->", notebooks, "o/r", quick, full, before
    )
    rows = text.split("* - ")[2:]
    assert "QUICK: 47 s" in rows[0] and "full: 13 min †" in rows[0]
    assert "Know *softmax*." in rows[0]
    assert "QUICK: not measured" in rows[1] and "full: 31 s" in rows[1]
    assert "† That run loaded its trained models" in text
    assert 'href="_sources/notebooks/01_a.ipynb" download' in text
    warnings = build.landing_warnings(notebooks, quick, full, before)
    assert any("02_b.ipynb: no QUICK time" in w for w in warnings)
    assert any('02_b.ipynb: no entry "02"' in w for w in warnings)
    assert any('entry "03" names no notebook' in w for w in warnings)


class _Assets(HTMLParser):
    """The URLs a page loads by itself (scripts, styles, images, frames), not the links
    a reader may click."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        media = ("script", "img", "iframe", "source", "video", "audio")
        if tag in media and a.get("src"):
            self.urls.append(a["src"])
        loaded = ("stylesheet", "preload", "icon", "modulepreload")
        if tag == "link" and a.get("href") and a.get("rel") in loaded:
            self.urls.append(a["href"])


def test_book_builds_every_notebook_without_warnings(book) -> None:
    message = "the build warned:\n" + "\n".join(book.warnings)
    assert not book.warnings, message
    pages = {p.relative_to(book.site).as_posix() for p in site_pages(book.site)}
    on_disk = sorted(
        p.name for p in (REPO_ROOT / "notebooks").glob(build.NOTEBOOK_GLOB)
    )
    assert [nb.file for nb in book.notebooks] == on_disk
    missing = [nb.page for nb in book.notebooks if f"{nb.page}.html" not in pages]
    assert not missing and "index.html" in pages, f"pages missing: {missing}"
    landing = (book.site / "index.html").read_text(encoding="utf-8")
    for nb in book.notebooks:
        assert f'href="{nb.page}.html"' in landing, f"landing page lacks {nb.file}"
        colab = build.colab_url(REPO_SLUG, nb.file)
        assert colab in landing, f"the landing page has no Colab link for {nb.file}"


def landing_rows(page: str) -> dict[str, str]:
    """{page: text of its row} of the landing page's notebook table."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.DOTALL)
    found = {}
    for row in rows:
        if page := re.search(r'href="(notebooks/[^"#]+)\.html', row):
            text = html.unescape(re.sub(r"<[^>]+>", " ", row))
            text = text.translate(str.maketrans("‘’“”", "''\"\""))
            found[page[1]] = " ".join(text.split())
    return found


def test_landing_page_says_how_long_and_what_to_know_first(book) -> None:
    landing = (book.site / "index.html").read_text(encoding="utf-8")
    rows = landing_rows(landing)
    quick = build.quick_times(REPO_ROOT / build.QUICK_TIMES_FILE)
    before = tomllib.loads((REPO_ROOT / build.PREREQUISITES_FILE).read_text())
    problems = []
    for nb in book.notebooks:
        row = rows.get(nb.page, "")
        run = build.full_run(REPO_ROOT / "notebooks" / nb.file)
        expected = (
            [f"QUICK: {build.duration(quick[nb.file])}"] if nb.file in quick else []
        )
        expected += [f"full: {build.duration(run.seconds)}"] if run else []
        expected.append(plain_title(" ".join(before.get(nb.number, "?").split()))[:40])
        expected.append("download .ipynb")
        missing = [e for e in expected if e not in plain_title(row)]
        if missing:
            problems.append(f"{nb.file}: its row lacks {missing}: {row!r}")
    assert not problems, "\n".join(problems)
    assert 'href="LICENSE.txt"' in landing and (book.site / "LICENSE.txt").is_file()
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", landing)).split())
    assert "QUICK = True" in text, (
        "the landing page must say how to pick QUICK on Colab"
    )


def test_license_is_mit_and_points_at_the_data_licences() -> None:
    text = (REPO_ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 The explaining-image-classifiers course authors" in text
    assert "data/README.md" in text and "own licence" in text


def test_download_button_gives_the_committed_notebook(book) -> None:
    for nb in book.notebooks:
        page = (book.site / f"{nb.page}.html").read_text(encoding="utf-8")
        href = f"../{build.download_url(nb)}"
        assert re.search(rf'href="{re.escape(href)}"\s+download', page), nb.file
        served = (book.site / build.download_url(nb)).read_bytes()
        assert served == (REPO_ROOT / "notebooks" / nb.file).read_bytes(), nb.file


def test_pages_load_nothing_from_other_hosts(book) -> None:
    remote = {}
    for page in site_pages(book.site):
        parser = _Assets()
        parser.feed(page.read_text(encoding="utf-8"))
        found = [
            u
            for u in parser.urls
            if urlsplit(u).scheme in ("http", "https") or u.startswith("//")
        ]
        if found:
            remote[page.relative_to(book.site).as_posix()] = found
    assert not remote, f"pages load assets from the network: {remote}"
    mathjax = book.site / "_static" / "mathjax" / build_conf_mathjax_file()
    assert mathjax.is_file(), "MathJax was not copied"


def build_conf_mathjax_file() -> str:
    text = (REPO_ROOT / "book" / "conf.py").read_text(encoding="utf-8")
    return re.search(r'^MATHJAX_FILE = "([^"]+)"', text, re.MULTILINE)[1]


# --- the page rules, read from a notebook -------------------------------------------


def cell_label(notebook: dict, index: int | None) -> str:
    """``cell 12 "first line of its source"``: how a report names a cell."""
    if index is None or not 0 <= index < len(notebook["cells"]):
        return "outside any cell"
    lines = "".join(notebook["cells"][index]["source"]).splitlines()
    first = next((line.strip() for line in lines if line.strip()), "")
    return f'cell {index} "{first[:50]}"'


def shown_outputs(cell: dict) -> list[dict]:
    """A code cell's outputs as its page shows them (book/build.py's staging)."""
    outputs = build.merged_streams(build.without_widgets(cell.get("outputs", [])))
    return build.without_noise(outputs)


def shown_text(output: dict) -> str:
    """The text an output shows: a stream, an error's traceback, or a display's plain
    text where it has no richer form (HTML, an image) that the page shows instead."""
    if output["output_type"] == "stream":
        return ANSI.sub("", build.stream_text(output))
    if output["output_type"] == "error":
        return ANSI.sub("", "\n".join(output.get("traceback", [])))
    data = output.get("data", {})
    richer = any(k in data for k in (*IMAGE_MIMES, "text/html", "text/markdown"))
    return "" if richer else "".join(data.get("text/plain", ""))


def all_text(output: dict) -> str:
    """Every text an output carries (plain, HTML), for what must appear in none."""
    data = output.get("data", {})
    texts = [shown_text(output), "".join(data.get("text/html", ""))]
    return "\n".join([*texts, "".join(data.get("text/plain", ""))])


def code_cells(notebook: dict) -> Iterator[tuple[int, dict]]:
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            yield index, cell


def meaningful_alt(alt: str) -> bool:
    """Alt text that says what a figure shows: three words or more, not a file name."""
    words = re.findall(r"[^\W\d_]{2,}", alt)
    file_like = re.search(r"\.(png|jpe?g|svg|gif)\b|_images/", alt, re.IGNORECASE)
    generic = {w.lower() for w in words} <= GENERIC_ALT
    return len(words) >= 3 and not file_like and not generic


def figure_alt_problems(notebook: dict) -> list[str]:
    """Each code cell with an image output needs ``metadata.mystnb.image.alt`` that says
    what the figure shows (MyST-NB makes it the ``<img alt>``)."""
    problems = []
    for index, cell in code_cells(notebook):
        if not any(
            k in o.get("data", {}) for o in cell.get("outputs", []) for k in IMAGE_MIMES
        ):
            continue
        image = cell.get("metadata", {}).get("mystnb", {}).get("image", {})
        alt = str(image.get("alt", ""))
        if not meaningful_alt(alt):
            problems.append(
                f"{cell_label(notebook, index)}: its figure has no alt text that says "
                f'what it shows (metadata mystnb.image.alt = "{alt}")'
            )
    return problems


def image_size(mime: str, content) -> tuple[float, float]:
    """(width in px, dots per inch) of an image output."""
    text = "".join(content) if isinstance(content, list) else content
    if mime == "image/svg+xml":
        width = re.search(r'<svg[^>]*\swidth="([\d.]+)(pt|px)?"', text)
        if not width:
            return 0.0, SVG_DPI
        factor = SVG_DPI / 72 if width[2] == "pt" else 1.0
        return float(width[1]) * factor, SVG_DPI
    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(text))) as image:
        dpi = image.info.get("dpi", (DEFAULT_DPI,))[0] or DEFAULT_DPI
        return float(image.width), float(dpi)


def figure_size_problems(notebook: dict) -> list[str]:
    """Each figure at most 8 inches wide at its own dpi (800 px at 100 dpi), so that it
    shows at full size in the page's column."""
    problems = []
    for index, cell in code_cells(notebook):
        for output in cell.get("outputs", []):
            for mime in IMAGE_MIMES:
                if mime not in output.get("data", {}):
                    continue
                width, dpi = image_size(mime, output["data"][mime])
                if width / dpi > MAX_FIGURE_INCHES * 1.01:
                    problems.append(
                        f"{cell_label(notebook, index)}: figure {width:.0f} px wide = "
                        f"{width / dpi:.1f} in at {dpi:.0f} dpi; draw it at most "
                        f"{MAX_FIGURE_INCHES:.0f} in wide"
                    )
    return problems


def font_size_problems(source: str) -> list[str]:
    """Font sizes below 8 pt set in code (``fontsize=7``, ``"font.size": 6``,
    ``labelsize="x-small"``): such labels are unreadable at the page's scale."""
    problems = []
    for match in FONT_SIZE.finditer(source):
        size = match[1] or match[3]
        if match[2] or float(size) < MIN_FONT_PT:
            problems.append(f"`{match[0]}` is below {MIN_FONT_PT:.0f} pt")
    return problems


def notebook_font_problems(notebook: dict) -> list[str]:
    return [
        f"{cell_label(notebook, index)}: {problem}"
        for index, cell in code_cells(notebook)
        for problem in font_size_problems("".join(cell["source"]))
    ]


def printed_output_problems(notebook: dict) -> list[str]:
    """Printed lines at most 88 characters; no error output, raw exception text or path
    of somebody's machine in any output."""
    problems = []
    for index, cell in code_cells(notebook):
        label = cell_label(notebook, index)
        for output in shown_outputs(cell):
            if output["output_type"] == "error":
                problems.append(f"{label}: an error output ({output.get('ename')})")
            for line in shown_text(output).splitlines():
                if len(line) > MAX_COLUMNS:
                    problems.append(
                        f"{label}: printed line of {len(line)} characters (at most "
                        f"{MAX_COLUMNS}): {line[:70]!r}"
                    )
            for line in all_text(output).splitlines():
                if found := MACHINE_PATH.search(line) or RAW_EXCEPTION.search(line):
                    problems.append(
                        f"{label}: {found[0]!r} in the output: {line[:90]!r}"
                    )
    return problems


def title_cell(notebook: dict) -> str:
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and re.search(r"^# ", source, re.MULTILINE):
            return source
    return ""


def network_key(name: str) -> str:
    """``mobilenet_v2``, ``MobileNetV2`` and ``MobileNet-V2`` alike: ``mobilenetv2``."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def network_named_problems(used: dict[str, str], title_area: str) -> list[str]:
    """``used``: {network printed in a ``using <name>`` line: where}; ``title_area``:
    the title's text. Each used network must be named there, in the ``Outputs on this
    page:`` line."""
    lines = [
        line.split(OUTPUTS_LABEL, 1)[1]
        for line in title_area.splitlines()
        if OUTPUTS_LABEL in line
    ]
    problems = []
    for name, where in used.items():
        if not lines:
            problems.append(
                f"{where} prints 'using {name}' but the title area has no "
                f"'{OUTPUTS_LABEL}' line naming the network that made the outputs"
            )
        elif network_key(name) not in network_key(" ".join(lines)):
            problems.append(
                f"{where} prints 'using {name}' but the title area's '{OUTPUTS_LABEL}' "
                f"line names another network: {' '.join(lines).strip()!r}"
            )
    return problems


def network_problems(notebook: dict) -> list[str]:
    used: dict[str, str] = {}
    for index, cell in code_cells(notebook):
        for output in shown_outputs(cell):
            for name in USING_NETWORK.findall(shown_text(output)):
                used.setdefault(name, cell_label(notebook, index))
    title = "\n".join(
        f"{OUTPUTS_LABEL}{rest}" for rest in OUTPUTS_LINE.findall(title_cell(notebook))
    )
    return network_named_problems(used, title)


def solution_problems(notebook: dict) -> list[str]:
    """Exercise solutions folded: a ``<details>`` block in markdown (not ``open``), or a
    code cell tagged ``solution`` and ``hide-cell`` whose source and outputs Jupyter
    also hides; every code cell under ``## Exercises`` is such a solution."""
    problems, solutions, exercises, section = [], 0, False, ""
    for index, cell in enumerate(notebook["cells"]):
        source = "".join(cell["source"])
        label = cell_label(notebook, index)
        if cell["cell_type"] == "markdown":
            for heading in re.findall(r"^## +(.+?)\s*$", source, re.MULTILINE):
                section = heading.strip().lower()
                exercises |= section.startswith("exercises")
            for tag in re.findall(r"<details\b[^>]*>", source):
                solutions += 1
                if re.search(r"\sopen\b", tag):
                    problems.append(f"{label}: {tag} opens unfolded")
            continue
        if cell["cell_type"] != "code":
            continue
        metadata = cell.get("metadata", {})
        tags = metadata.get("tags", [])
        if "solution" in tags:
            solutions += 1
            hidden = metadata.get("jupyter", {})
            missing = [
                what
                for what, ok in (
                    ("tag hide-cell", "hide-cell" in tags),
                    ("jupyter.source_hidden", hidden.get("source_hidden") is True),
                    ("jupyter.outputs_hidden", hidden.get("outputs_hidden") is True),
                )
                if not ok
            ]
            if missing:
                problems.append(f"{label}: solution cell not folded: lacks {missing}")
        elif section.startswith("exercises") and source.strip():
            problems.append(
                f"{label}: code under '## Exercises' not tagged 'solution' (shown "
                "unfolded)"
            )
    if exercises and not solutions:
        problems.append("an '## Exercises' section without folded solutions")
    return problems


NOTEBOOK_RULES: dict[str, Callable[[dict], list[str]]] = {
    "figure alt text": figure_alt_problems,
    "figure size": figure_size_problems,
    "font size": notebook_font_problems,
    "printed output": printed_output_problems,
    "network named": network_problems,
    "solutions folded": solution_problems,
}


@pytest.mark.parametrize("rule", NOTEBOOK_RULES)
@pytest.mark.parametrize("file", NOTEBOOK_FILES)
def test_committed_notebook_follows_the_page_rules(file: str, rule: str) -> None:
    notebook = read_notebook(REPO_ROOT / "notebooks" / file)
    if problems := NOTEBOOK_RULES[rule](notebook):
        pytest.fail(f"{file}, {rule}:\n" + "\n".join(problems), pytrace=False)


def test_plot_helpers_use_readable_font_sizes() -> None:
    source = (REPO_ROOT / "utils" / "plots.py").read_text(encoding="utf-8")
    assert not font_size_problems(source)


# --- synthetic notebooks: one that breaks every rule, one that keeps them ------------


def png(width: int, height: int, dpi: int = 100) -> str:
    """A base64 PNG of that size that records its dpi, as matplotlib's do."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(buffer, "PNG", dpi=(dpi, dpi))
    return base64.b64encode(buffer.getvalue()).decode()


def code_cell(
    source: list[str], outputs: list[dict], metadata: dict | None = None
) -> dict:
    return {
        "cell_type": "code",
        "execution_count": 1,
        "metadata": metadata or {},
        "source": source,
        "outputs": outputs,
    }


def markdown_cell(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": [text]}


def figure(width: int, height: int, dpi: int = 100) -> dict:
    data = {"image/png": png(width, height, dpi), "text/plain": ["<Figure>"]}
    return {"output_type": "display_data", "metadata": {}, "data": data}


SOLUTION_METADATA = {
    "tags": ["solution", "hide-cell"],
    "jupyter": {"source_hidden": True, "outputs_hidden": True},
}
GOOD_ALT = {"mystnb": {"image": {"alt": "Four photos, each beside its class map"}}}


PYTHON_METADATA = {
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python", "pygments_lexer": "ipython3"},
}


def bad_notebook() -> dict:
    long_code = "x = " + " + ".join(["value"] * 15) + "  # " + "wide " * 6
    return {
        "metadata": PYTHON_METADATA,
        "cells": [
            markdown_cell(
                "# 01 · A bad page\n\nIts title area names no network.\n\n"
                '<div style="width: 700px; background: #eee">a box wider than a '
                "phone</div>"
            ),
            code_cell(
                [long_code],
                [
                    stream("using resnet18, downloaded\n" + "y" * 120 + "\n"),
                    stream("Downloading to /root/.cache/torch/x.pth\nURLError: nope\n"),
                ],
            ),
            code_cell(
                ["plt.title('tiny', fontsize=6)"],
                [figure(1600, 300)],
                {"mystnb": {"image": {"alt": "plot"}}},
            ),
            code_cell(
                ["display(HTML(' '))"],
                [
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {"text/html": ["<div> </div>"], "text/plain": [""]},
                    }
                ],
            ),
            markdown_cell(
                "## Exercises\n\n1. Why?\n\n<details open><summary>Solutions</summary>"
                "\n\nBecause.\n\n</details>"
            ),
            code_cell(
                ["print('the answer')"], [stream("42\n")], {"tags": ["solution"]}
            ),
        ],
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def good_notebook() -> dict:
    return {
        "metadata": PYTHON_METADATA,
        "cells": [
            markdown_cell(
                "# 02 · A good page\n\n**Outputs on this page:** MobileNetV2, the "
                "offline stand-in for ResNet18.\n\nText with a long identifier "
                "`utils.pretrained.load_imagenet_model_with_a_very_long_name_indeed`."
            ),
            code_cell(
                ["print('using mobilenet_v2')"], [stream("using mobilenet_v2\n")]
            ),
            # the course's line length, 88 columns, in code and output: fits at 1366 px
            code_cell([f"{'w' * 84} = 1"], [stream("W" * MAX_COLUMNS + "\n")]),
            code_cell(["plt.plot([1, 2])"], [figure(780, 300)], GOOD_ALT),
            markdown_cell("## Exercises\n\n1. Why?"),
            code_cell(["print('the answer')"], [stream("42\n")], SOLUTION_METADATA),
            markdown_cell(
                "<details><summary>Solutions</summary>\n\nOld style.\n</details>"
            ),
        ],
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write_notebook(path: Path, cells_or_notebook) -> None:
    notebook = (
        cells_or_notebook
        if isinstance(cells_or_notebook, dict)
        else {
            "metadata": {},
            "cells": cells_or_notebook,
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )
    path.write_text(json.dumps(notebook), encoding="utf-8")


def test_notebook_rules_catch_a_bad_notebook() -> None:
    bad, good = bad_notebook(), good_notebook()
    for rule, check in NOTEBOOK_RULES.items():
        assert check(bad), f"{rule}: found nothing wrong in the bad notebook"
        assert not check(good), f"{rule}: {check(good)}"
    found = "\n".join(p for check in NOTEBOOK_RULES.values() for p in check(bad))
    for expected in (
        "cell 2 \"plt.title('tiny', fontsize=6)\": its figure has no alt text",
        "figure 1600 px wide = 16.0 in at 100 dpi",
        "`fontsize=6` is below 8 pt",
        "printed line of 120 characters",
        "'/root' in the output",
        "'URLError' in the output",
        "prints 'using resnet18' but the title area has no 'Outputs on this page:'",
        "<details open> opens unfolded",
        "solution cell not folded: lacks ['tag hide-cell'",
    ):
        assert expected in found, f"{expected!r} not in:\n{found}"
    other = "**Outputs on this page:** ResNet18 with ImageNet weights."
    assert network_named_problems({"mobilenet_v2": "cell 5"}, other)
    assert not font_size_problems('ax.set_title(t, fontsize=8); rc = {"font.size": 9}')
    assert font_size_problems('ax.legend(fontsize="x-small")')
    assert meaningful_alt("SHAP values of four digits for ten classes")
    assert not meaningful_alt("../_images/3f2a.png") and not meaningful_alt("a plot")


# --- in the browser -----------------------------------------------------------------


def chromium_path() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


@contextlib.contextmanager
def served(site: Path) -> Iterator[str]:
    """The site served over HTTP on 127.0.0.1 (a random free port)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium driven by Playwright, or a skip that names what is missing."""
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "Chromium is not installed: the browser test needs it (Debian: apt-get "
            "install chromium; .ci/run installs it in CI)."
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="Playwright is missing: pip install -r requirements-dev.txt",
    )
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


WAIT_FOR_PAGE = """async () => {
  await Promise.all([...document.images].map(
    i => { i.loading = 'eager'; return i.decode().catch(() => null); }));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
}"""

# Everything the rules look at, measured in the page. First as loaded (what is folded,
# the title area), then with every <details> opened, as a student who opens them sees
# it.
PAGE_FACTS = """async () => {
  const article = document.querySelector('article') || document.body;
  const all = sel => [...article.querySelectorAll(sel)];
  const cellOf = e => {
    const cell = e.closest('div.cell');
    const tag = cell && [...cell.classList].find(c => c.startsWith('tag_nbcell-'));
    return tag ? Number(tag.slice('tag_nbcell-'.length)) : null;
  };
  // folded content (in a closed <details>) keeps its boxes in Chromium
  const shown = e => (e.checkVisibility ? e.checkVisibility()
                      : e.getClientRects().length > 0);
  const details = all('details');
  const section = article.querySelector('section');
  const facts = {
    h1: (document.querySelector('h1') || {innerText: ''}).innerText,
    title_area: section ? [...section.children].filter(c => c.tagName !== 'SECTION')
      .map(c => c.innerText).join('\\n') : '',
    details: details.length,
    open_details: details.filter(d => d.open).length,
    solutions: all('div.cell.tag_solution').map(c => ({
      cell: cellOf(c),
      shown: [...c.querySelectorAll('.cell_input, .cell_output')].some(shown),
    })),
    math: all('.math').length,
    mathjax: all('mjx-container').length,
    // a TeX error, or an undefined macro (MathJax prints those in red)
    math_errors: all('[data-mjx-error], [data-mml-node="merror"], '
                     + '[data-mml-node="mtext"][fill="red"]').length,
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    downloads: [...document.querySelectorAll('a[download]')].map(a => a.href),
    code_blocks: all('.cell_input div.highlight').length,
    copy_buttons: all('.cell_input div.highlight > button.copybtn').length,
    using: all('.cell_output').flatMap(o => o.innerText.split('\\n')
      .filter(l => /^using /.test(l)).map(l => ({cell: cellOf(o), line: l}))),
  };
  for (const d of details) { d.open = true; }
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const scrolling = all('*').filter(e => {
    const x = getComputedStyle(e).overflowX;
    return (x === 'auto' || x === 'scroll') && e.scrollWidth > e.clientWidth + 1;
  });
  facts.sideways = scrolling
    .filter(e => !scrolling.some(o => o !== e && e.contains(o)))
    .map(e => ({
      cell: cellOf(e),
      section: (e.closest('section') || {id: ''}).id,
      where: e.closest('.cell_input') ? 'code' : e.closest('.cell_output') ? 'output'
        : e.tagName.toLowerCase(),
      overflow: e.scrollWidth - e.clientWidth,
      width: e.clientWidth,
      longest: Math.max(0, ...e.innerText.split('\\n').map(l => l.length)),
    }));
  facts.images = [...article.querySelectorAll('img')].map(i => ({
    src: i.currentSrc || i.src, natural: i.naturalWidth,
  }));
  facts.figures = all('.cell_output img').map(i => {
    const link = i.closest('a');
    return {
      cell: cellOf(i), src: i.currentSrc || i.src, natural: i.naturalWidth,
      shown: i.getBoundingClientRect().width, alt: i.getAttribute('alt') || '',
      href: link ? link.href : null,
    };
  });
  facts.empty_outputs = all('.cell_output').flatMap(o => [...o.children])
    .filter(o => !o.innerText.trim()
                 && !o.querySelector('img, svg, table, mjx-container, iframe, video')
                 && o.tagName !== 'IMG')
    .map(o => cellOf(o));
  const viewport = document.documentElement.clientWidth;
  facts.viewport = viewport;
  facts.page_width = document.documentElement.scrollWidth;
  const everything = [...document.body.querySelectorAll('*')];
  facts.too_wide = facts.page_width <= viewport ? [] : everything
    .filter(e => {
      const r = e.getBoundingClientRect();
      const style = getComputedStyle(e);
      if (r.right <= viewport + 1 || r.width === 0 || style.position === 'fixed'
          || style.visibility === 'hidden') { return false; }
      const parent = e.parentElement.getBoundingClientRect();
      return parent.right <= viewport + 1;  // the outermost element that sticks out
    })
    .map(e => ({cell: cellOf(e), right: Math.round(e.getBoundingClientRect().right),
                what: e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''),
                text: (e.innerText || '').slice(0, 60)}));
  return facts;
}"""


@dataclass
class Visit:
    """One page as the browser saw it at 1366×900 (``desktop``) and 390×844
    (``phone``): the measured facts and what went wrong while loading."""

    desktop: dict
    phone: dict
    events: list[str] = field(default_factory=list)


def visit_pages(browser, site: Path, names: list[str]) -> dict[str, Visit]:
    """Load each page at both viewports, requests to other hosts blocked, and measure
    it."""
    facts: dict[str, dict[str, dict]] = {name: {} for name in names}
    events: dict[str, list[str]] = {name: [] for name in names}
    with served(site) as url:
        for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            context, page, current = local_page(browser, url, viewport)
            try:
                for name in names:
                    current.clear()
                    page.goto(url + name, wait_until="load", timeout=PAGE_TIMEOUT_MS)
                    page.evaluate(WAIT_FOR_PAGE)
                    facts[name][label] = page.evaluate(PAGE_FACTS)
                    facts[name][label]["base"] = url
                    events[name] += [f"{label}: {e}" for e in current]
            finally:
                context.close()
    return {n: Visit(facts[n]["desktop"], facts[n]["phone"], events[n]) for n in names}


def local_page(browser, url: str, viewport: dict):
    """A new page that records console errors, failed responses and requests to hosts
    other than ``url``'s (which it blocks).

    Returns:
        (its context, the page, the list it records into)
    """
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    events: list[str] = []

    def console(message) -> None:
        if message.type == "error":
            events.append(f"console {message.type}: {message.text}")

    def response(answer) -> None:
        if answer.status >= 400:
            events.append(f"HTTP {answer.status}: {answer.url}")

    def only_local(route) -> None:
        if route.request.url.startswith(url):
            route.continue_()
        else:
            events.append(f"request to another host (blocked): {route.request.url}")
            route.abort()

    page.on("console", console)
    page.on("pageerror", lambda error: events.append(f"script error: {error}"))
    page.on("response", response)
    page.route("**/*", only_local)
    return context, page, events


def search_problems(browser, site: Path, nb) -> list[str]:
    """The site's search (Sphinx's, offline) must find a notebook by the longest word of
    its title."""
    word = max(re.findall(r"[A-Za-z]{4,}", plain_title(nb.title)), key=len)
    selector = "#search-results ul.search li a"
    with served(site) as url:
        context, page, _ = local_page(browser, url, DESKTOP)
        try:
            page.goto(f"{url}search.html?q={word}", timeout=PAGE_TIMEOUT_MS)
            try:
                page.wait_for_selector(selector, timeout=PAGE_TIMEOUT_MS)
            except Exception as err:  # Playwright's TimeoutError
                return [
                    f"search.html: {word!r} showed no result ({type(err).__name__})"
                ]
            script = "as => as.map(a => a.getAttribute('href'))"
            hits = page.eval_on_selector_all(selector, script)
        finally:
            context.close()
    if not any(urlsplit(h).path.endswith(f"{nb.page}.html") for h in hits):
        return [f"search.html: {word!r} did not find {nb.page}.html (found {hits})"]
    return []


@pytest.fixture(scope="session")
def visits(book, browser) -> dict[str, Visit]:
    """Every page of the course's site, measured in Chromium at both viewports."""
    names = [p.relative_to(book.site).as_posix() for p in site_pages(book.site)]
    return visit_pages(browser, book.site, names)


# --- the browser rules: each takes what the page showed, returns what is wrong -------


@dataclass
class Page:
    """A visited page with what the rules need to name a cell and find a file."""

    name: str
    visit: Visit
    site: Path
    notebook: dict | None  # the notebook it renders, if any

    def cell(self, index: int | None, section: str = "") -> str:
        """The cell's label, or for text outside a cell the section it is in."""
        if index is None and section:
            return f"markdown under #{section}"
        return cell_label(self.notebook, index) if self.notebook else "the page"

    def file(self, url: str) -> Path:
        path = urlsplit(url).path
        base = urlsplit(self.visit.desktop["base"]).path
        return self.site / unquote(path.removeprefix(base))


def loading_problems(page: Page) -> list[str]:
    """Console errors, failed or blocked requests, images that did not load, broken
    internal links, math that MathJax did not render."""
    facts = page.visit.desktop
    found = list(page.visit.events)
    found += [
        f"image did not load: {i['src']}" for i in facts["images"] if not i["natural"]
    ]
    for link in facts["links"]:
        if link.startswith(facts["base"]) and broken_link(page, link):
            found.append(f"broken internal link: {link}")
    if facts["math_errors"] or facts["mathjax"] < facts["math"]:
        found.append(
            f"math: {facts['math']} formulas, {facts['mathjax']} rendered, "
            f"{facts['math_errors']} TeX errors"
        )
    return found


def broken_link(page: Page, link: str) -> bool:
    """The link's file, or its #fragment in that file, does not exist."""
    target = page.file(link)
    if target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        return True
    fragment = unquote(urlsplit(link).fragment)
    if fragment and target.suffix == ".html":
        return fragment not in html_ids(target)
    return False


@functools.cache
def html_ids(page: Path) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', page.read_text(encoding="utf-8")))


def notebook_page_problems(page: Page, nb) -> list[str]:
    """What a notebook's page lacks: its title, its figures, rendered math, its Colab
    link."""
    facts, notebook = page.visit.desktop, page.notebook
    found = []
    title = plain_title(nb.title)
    if title not in " ".join(facts["h1"].split()):
        found.append(f"title {title!r} not in the page's heading {facts['h1']!r}")
    loaded = sum(1 for f in facts["figures"] if f["natural"])
    if loaded < image_outputs(notebook):
        found.append(
            f"{loaded} output images loaded, the notebook has {image_outputs(notebook)}"
        )
    if INLINE_MATH.search(markdown_text(notebook)) and facts["mathjax"] == 0:
        found.append("the notebook has $math$ but MathJax rendered none")
    colab = build.colab_url(REPO_SLUG, nb.file)
    if colab not in facts["links"]:
        found.append(f"no link to {colab}")
    return found


def sideways_problems(page: Page) -> list[str]:
    """At 1366 px no code block, output, table or formula scrolls sideways."""
    return [
        f"{page.cell(s['cell'], s['section'])}: {s['where']} scrolls sideways at "
        f"{DESKTOP['width']} px ({s['overflow']} px hidden beyond its {s['width']} px; "
        f"longest line "
        f"{s['longest']} characters)"
        for s in page.visit.desktop["sideways"]
    ]


def label_px(page: Page, figure: dict) -> tuple[float, float]:
    """(shown ÷ natural width, rendered height in px of an 8-pt label) of a figure."""
    ratio = figure["shown"] / figure["natural"] if figure["natural"] else 0.0
    path = page.file(figure["src"])
    dpi = DEFAULT_DPI
    if path.suffix.lower() == ".svg":
        dpi = SVG_DPI
    elif path.is_file():
        from PIL import Image

        with Image.open(path) as image:
            dpi = image.info.get("dpi", (DEFAULT_DPI,))[0] or DEFAULT_DPI
    return ratio, ratio * MIN_FONT_PT / 72 * dpi


def figure_problems(page: Page) -> list[str]:
    """At 1366 px an 8-pt label of every figure renders at least 9 px high; every figure
    links to its own full-size file."""
    found = []
    for figure in page.visit.desktop["figures"]:
        ratio, px = label_px(page, figure)
        if px < MIN_LABEL_PX:
            found.append(
                f"{page.cell(figure['cell'])}: figure {figure['natural']} px wide, "
                f"shown at {figure['shown']:.0f} px (×{ratio:.2f}): an 8-pt label is "
                f"{px:.1f} px high (at least {MIN_LABEL_PX:.0f}); draw it at most "
                f"{MAX_FIGURE_INCHES:.0f} in wide"
            )
    for facts in (page.visit.desktop, page.visit.phone):
        for figure in facts["figures"]:
            link = figure["href"]
            if link is None or page.file(link) != page.file(figure["src"]):
                found.append(
                    f"{page.cell(figure['cell'])}: figure does not link to its "
                    f"full-size file (link {figure['href']})"
                )
    return sorted(set(found), key=found.index)


def alt_problems(page: Page) -> list[str]:
    return [
        f"{page.cell(f['cell'])}: figure alt text does not say what it shows: "
        f"{f['alt']!r}"
        for f in page.visit.desktop["figures"]
        if not meaningful_alt(f["alt"])
    ]


def phone_problems(page: Page) -> list[str]:
    """On a 390-px phone (and at 1366 px) the page is no wider than the screen."""
    found = []
    for label, facts in (("phone", page.visit.phone), ("desktop", page.visit.desktop)):
        if facts["page_width"] > facts["viewport"]:
            culprits = "; ".join(
                f"{page.cell(e['cell'])} {e['what']} ends at {e['right']} px"
                for e in facts["too_wide"][:5]
            )
            found.append(
                f"{label}: the page is {facts['page_width']} px wide on a "
                f"{facts['viewport']}-px screen: {culprits}"
            )
    return found


def fold_problems(page: Page) -> list[str]:
    """Every exercise solution is folded when the page opens."""
    facts, notebook = page.visit.desktop, page.notebook
    found = [
        f"{page.cell(s['cell'])}: solution shown unfolded"
        for s in facts["solutions"]
        if s["shown"]
    ]
    if facts["open_details"]:
        found.append(f"{facts['open_details']} of {facts['details']} <details> open")
    if notebook is not None:
        old = markdown_text(notebook).count("<details")
        tagged = sum(
            "solution" in c.get("metadata", {}).get("tags", [])
            for c in notebook["cells"]
            if c["cell_type"] == "code"
        )
        if facts["details"] < old or len(facts["solutions"]) < tagged:
            found.append(
                f"{facts['details']} <details> and {len(facts['solutions'])} solution "
                f"cells on the page; the notebook has {old} and {tagged}"
            )
    return found


def network_title_problems(page: Page) -> list[str]:
    """A page that prints 'using <network>' names that network in its title area."""
    used: dict[str, str] = {}
    for item in page.visit.desktop["using"]:
        for name in USING_NETWORK.findall(item["line"]):
            used.setdefault(name, page.cell(item["cell"]))
    return network_named_problems(used, page.visit.desktop["title_area"])


def empty_output_problems(page: Page) -> list[str]:
    return [
        f"{page.cell(cell)}: an empty output box"
        for cell in page.visit.desktop["empty_outputs"]
    ]


def button_problems(page: Page, nb) -> list[str]:
    """A copy button on every code cell; the download button gives the notebook."""
    facts, found = page.visit.desktop, []
    if facts["copy_buttons"] < facts["code_blocks"]:
        found.append(
            f"{facts['copy_buttons']} copy buttons for {facts['code_blocks']} code "
            "cells"
        )
    wanted = [d for d in facts["downloads"] if d.endswith(f"/{nb.file}")]
    if not wanted:
        found.append(f"no download link for {nb.file} (found {facts['downloads']})")
    return found


BROWSER_RULES: dict[str, Callable[[Page], list[str]]] = {
    "code and outputs fit at 1366 px": sideways_problems,
    "figures readable and linked to full size": figure_problems,
    "figure alt text": alt_problems,
    "no page wider than the phone": phone_problems,
    "solutions folded": fold_problems,
    "network named in the title area": network_title_problems,
    "no empty output box": empty_output_problems,
}


def course_pages(book, visits) -> list[tuple[Page, object]]:
    by_page = {f"{nb.page}.html": nb for nb in book.notebooks}
    pages = []
    for name, visit in visits.items():
        nb = by_page.get(name)
        notebook = notebook_json(nb) if nb else None
        pages.append((Page(name, visit, book.site, notebook), nb))
    return pages


def test_every_page_loads_in_chromium(book, visits, browser) -> None:
    """Every page: no console errors, nothing fetched off 127.0.0.1, no broken internal
    link, its math rendered; every notebook page: its title, figures, Colab link, copy
    and download buttons; and the search finds a notebook."""
    problems = []
    for page, nb in course_pages(book, visits):
        found = loading_problems(page)
        if nb is not None:
            found += notebook_page_problems(page, nb) + button_problems(page, nb)
        problems += [f"{page.name}: {p}" for p in found]
    problems += search_problems(browser, book.site, book.notebooks[-1])
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("rule", BROWSER_RULES)
def test_every_page_keeps_the_rule_in_chromium(book, visits, rule: str) -> None:
    problems = [
        f"{page.name}: {problem}"
        for page, _ in course_pages(book, visits)
        for problem in BROWSER_RULES[rule](page)
    ]
    if problems:
        pytest.fail(f"{rule}:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def synthetic_book(tmp_path_factory: pytest.TempPathFactory):
    """A site built by book/build.py from a bad and a good synthetic notebook."""
    require_book_packages()
    root = tmp_path_factory.mktemp("repo")
    (root / "notebooks").mkdir()
    write_notebook(root / "notebooks" / "01_bad.ipynb", bad_notebook())
    write_notebook(root / "notebooks" / "02_good.ipynb", good_notebook())
    shutil.copy(REPO_ROOT / "LICENSE", root / "LICENSE")
    return build.build_book(root / "_build" / "site", root=root), root


def test_browser_rules_catch_a_bad_page(synthetic_book, browser) -> None:
    result, root = synthetic_book
    names = ["notebooks/01_bad.html", "notebooks/02_good.html"]
    visits = visit_pages(browser, result.site, names)
    bad, good = (
        Page(
            name, visits[name], result.site, read_notebook(root / f"{name[:-5]}.ipynb")
        )
        for name in names
    )
    assert not loading_problems(good), loading_problems(good)
    for rule, check in BROWSER_RULES.items():
        assert check(bad), f"{rule}: found nothing wrong on the bad page"
        assert not check(good), f"{rule} on the good page: {check(good)}"
    found = "\n".join(p for check in BROWSER_RULES.values() for p in check(bad))
    for expected in (
        'cell 1 "x = value + value',  # the 120-column code line
        "code scrolls sideways at 1366 px",
        "output scrolls sideways at 1366 px",
        "figure 1600 px wide, shown at",
        "figure alt text does not say what it shows: 'plot'",
        "phone: the page is",
        "cell 5 \"print('the answer')\": solution shown unfolded",
        "1 of 1 <details> open",
        "prints 'using resnet18' but the title area has no",
        "cell 3 \"display(HTML(' '))\": an empty output box",
    ):
        assert expected in found, f"{expected!r} not in:\n{found}"
    ratio, px = label_px(good, good.visit.desktop["figures"][0])
    assert ratio == 1.0 and px == pytest.approx(8 / 72 * 100, rel=1e-3)
    # the link and button rules, on a figure without a link and a page without buttons
    unlinked = dict(bad.visit.desktop["figures"][0], href=None)
    bare = Visit(
        dict(good.visit.desktop, figures=[unlinked], copy_buttons=0, downloads=[]),
        good.visit.phone,
    )
    page = Page(good.name, bare, result.site, good.notebook)
    assert any(
        "does not link to its full-size file" in p for p in figure_problems(page)
    )
    nb = build.Notebook("02_good.ipynb", "notebooks/02_good", "02 · A good page")
    assert len(button_problems(page, nb)) == 2
    assert not button_problems(good, nb)
