"""The course's website (book/, `make book`): built from the committed notebooks and opened in a real browser.

The site is built once per session into a temp folder. The browser test drives Debian's `chromium` through
Playwright's Python client (launched at /usr/bin/chromium; Playwright never downloads a browser here) and
serves the site on 127.0.0.1 only: any request to another host is blocked and reported as a failure, since
the site must read offline. Without Chromium or Playwright the browser test skips and says how to get them.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from utils.config import REPO_ROOT, REPO_SLUG

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
PAGE_TIMEOUT_MS = 30_000
INLINE_MATH = re.compile(r"(?<![\\$])\$[^$\n]+\$|\$\$.+?\$\$", re.DOTALL)


def _load_build_module():
    """book/build.py as a module (book/ is a folder of Sphinx sources, not a package)."""
    spec = importlib.util.spec_from_file_location("book_build", REPO_ROOT / "book" / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


build = _load_build_module()


@pytest.fixture(scope="session")
def book(tmp_path_factory: pytest.TempPathFactory):
    """The site, built once per session from the committed notebooks (no execution)."""
    for package in ("sphinx", "myst_nb", "sphinx_book_theme", "mathjax"):
        pytest.importorskip(package, reason=f"{package} is missing: pip install -r requirements-dev.txt")
    return build.build_book(tmp_path_factory.mktemp("book") / "site")


def site_pages(site: Path) -> list[Path]:
    """Every HTML page of the site (the theme's template fragments under _static/ are not pages)."""
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)


def notebook_json(nb) -> dict:
    return json.loads((REPO_ROOT / "notebooks" / nb.file).read_text(encoding="utf-8"))


def markdown_text(nb) -> str:
    return "\n".join("".join(c["source"]) for c in notebook_json(nb)["cells"] if c["cell_type"] == "markdown")


def image_outputs(nb) -> int:
    """How many image outputs (PNG, JPEG, SVG) the committed notebook holds."""
    kinds = ("image/png", "image/jpeg", "image/svg+xml")
    return sum(any(k in out.get("data", {}) for k in kinds)
               for cell in notebook_json(nb)["cells"] for out in cell.get("outputs", []))


def plain_title(markdown_title: str) -> str:
    """The heading as a reader sees it: no backticks or emphasis marks, single spaces."""
    return " ".join(re.sub(r"[`*_]", "", markdown_title).split())


def test_staged_notebook_shows_what_jupyter_shows(tmp_path: Path) -> None:
    bars = ["\rfit:   0%|  | 0/2", "\rfit:  50%|# | 1/2", "\rfit: 100%|##| 2/2", "\n"]
    notebook = {
        "metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {"state": {"a": {}}}}},
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": [f"# T\n[![Colab]({build.COLAB_BADGE_URL})](x)"]},
            {"cell_type": "code", "metadata": {}, "source": [], "execution_count": 1, "outputs": [
                *[{"output_type": "stream", "name": "stderr", "text": [bar]} for bar in bars],
                {"output_type": "display_data", "metadata": {},
                 "data": {build.WIDGET_VIEW: {"model_id": "a"}, "text/plain": ["loss 0.1"]}},
                {"output_type": "display_data", "metadata": {}, "data": {build.WIDGET_VIEW: {"model_id": "b"}}},
            ]},
        ],
    }
    source, staged = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    source.write_text(json.dumps(notebook))
    build.stage_notebook(source, staged)
    result = json.loads(staged.read_text())
    assert "widgets" not in result["metadata"]
    assert build.COLAB_BADGE_URL not in "".join(result["cells"][0]["source"])
    assert build.LOCAL_BADGE in "".join(result["cells"][0]["source"])
    outputs = result["cells"][1]["outputs"]
    assert [o["output_type"] for o in outputs] == ["stream", "display_data"]
    assert outputs[0]["text"] == "fit: 100%|##| 2/2\n"
    assert outputs[1]["data"] == {"text/plain": ["loss 0.1"]}


def test_links_to_repository_files_work_on_the_site(tmp_path: Path) -> None:
    for path in ("notebooks/02_b.ipynb", "notebooks/figs/tree.png", "utils/cam.py", "README.md"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")
    markdown = ("[next](02_b.ipynb#data) ![tree](figs/tree.png) [code](../utils/cam.py#L3) [readme](../README.md) "
                "[gone](../utils/gone.py) [web](https://example.org/a.py) [here](#setup)")
    images: set[str] = set()
    result = build.repository_links(markdown, tmp_path, "owner/repo", images)
    assert result == ("[next](02_b.ipynb#data) ![tree](figs/tree.png) "
                      "[code](https://github.com/owner/repo/blob/main/utils/cam.py#L3) "
                      "[readme](https://github.com/owner/repo/blob/main/README.md) "
                      "[gone](../utils/gone.py) [web](https://example.org/a.py) [here](#setup)")
    assert images == {"notebooks/figs/tree.png"}


class _Assets(HTMLParser):
    """The URLs a page loads by itself (scripts, styles, images, frames), not the links a reader may click."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "video", "audio") and a.get("src"):
            self.urls.append(a["src"])
        if tag == "link" and a.get("href") and a.get("rel") in ("stylesheet", "preload", "icon", "modulepreload"):
            self.urls.append(a["href"])


def test_book_builds_every_notebook_without_warnings(book) -> None:
    assert not book.warnings, "Sphinx warned while building the book:\n" + "\n".join(book.warnings)
    pages = {p.relative_to(book.site).as_posix() for p in site_pages(book.site)}
    on_disk = sorted(p.name for p in (REPO_ROOT / "notebooks").glob(build.NOTEBOOK_GLOB))
    assert [nb.file for nb in book.notebooks] == on_disk
    missing = [nb.page for nb in book.notebooks if f"{nb.page}.html" not in pages]
    assert not missing and "index.html" in pages, f"pages missing from the site: {missing}; built: {sorted(pages)}"
    landing = (book.site / "index.html").read_text(encoding="utf-8")
    for nb in book.notebooks:
        assert f'href="{nb.page}.html"' in landing, f"the landing page does not list {nb.file}"
        assert build.colab_url(REPO_SLUG, nb.file) in landing, f"the landing page has no Colab link for {nb.file}"


def test_pages_load_nothing_from_other_hosts(book) -> None:
    remote = {}
    for page in site_pages(book.site):
        parser = _Assets()
        parser.feed(page.read_text(encoding="utf-8"))
        found = [u for u in parser.urls if urlsplit(u).scheme in ("http", "https") or u.startswith("//")]
        if found:
            remote[page.relative_to(book.site).as_posix()] = found
    assert not remote, f"pages load assets from the network (the site must read offline): {remote}"
    assert (book.site / "_static" / "mathjax" / build_conf_mathjax_file()).is_file(), "MathJax was not copied"


def build_conf_mathjax_file() -> str:
    text = (REPO_ROOT / "book" / "conf.py").read_text(encoding="utf-8")
    return re.search(r'^MATHJAX_FILE = "([^"]+)"', text, re.MULTILINE)[1]


# --- in the browser ---------------------------------------------------------------------------------------


def chromium_path() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


@pytest.fixture(scope="session")
def site_url(book) -> Iterator[str]:
    """The site served over HTTP on 127.0.0.1 (a random free port), for the session."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(book.site)))
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
        pytest.skip("Chromium is not installed: the browser test needs it (Debian: apt-get install chromium; "
                    ".ci/run installs it in CI).")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright is missing: pip install -r requirements-dev.txt")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


PAGE_FACTS = """() => {
  const article = document.querySelector('article') || document.body;
  const details = [...article.querySelectorAll('details')];
  return {
    h1: (document.querySelector('h1') || {innerText: ''}).innerText,
    images: [...article.querySelectorAll('img')].map(i => ({src: i.currentSrc || i.src, width: i.naturalWidth})),
    figures: [...article.querySelectorAll('.cell_output img')].filter(i => i.naturalWidth > 0).length,
    math: article.querySelectorAll('.math').length,
    mathjax: article.querySelectorAll('mjx-container').length,
    // a TeX error, or an undefined macro (MathJax prints those in red)
    math_errors: article.querySelectorAll('[data-mjx-error], [data-mml-node="merror"], '
                                          + '[data-mml-node="mtext"][fill="red"]').length,
    details: details.length,
    open_details: details.filter(d => d.open).length,
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  };
}"""
WAIT_FOR_PAGE = """async () => {
  await Promise.all([...document.images].map(i => { i.loading = 'eager'; return i.decode().catch(() => null); }));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
}"""


def html_ids(page: Path) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', page.read_text(encoding="utf-8")))


def broken_internal_links(site: Path, base: str, links: list[str]) -> list[str]:
    """The links under ``base`` whose file, or whose #fragment in that file, does not exist."""
    broken = []
    for link in links:
        if not link.startswith(base):
            continue
        parts = urlsplit(link)
        target = site / unquote(parts.path.removeprefix(urlsplit(base).path))
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file() or (
            parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in html_ids(target)
        ):
            broken.append(link)
    return broken


def test_every_page_in_chromium(book, site_url: str, browser) -> None:
    """Every page: no console errors, nothing fetched off 127.0.0.1, no broken internal link; every notebook
    page: its title, its figures loaded, its math rendered by MathJax, its solutions folded, its Colab link;
    and the search finds a notebook."""
    by_page = {f"{nb.page}.html": nb for nb in book.notebooks}
    problems: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    events: list[str] = []
    page.on("console", lambda m: events.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: events.append(f"script error: {e}"))
    page.on("response", lambda r: events.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)

    def only_local(route) -> None:
        if route.request.url.startswith(site_url):
            route.continue_()
        else:
            events.append(f"request to another host (blocked): {route.request.url}")
            route.abort()

    page.route("**/*", only_local)
    try:
        for path in site_pages(book.site):
            name = path.relative_to(book.site).as_posix()
            events.clear()
            page.goto(site_url + name, wait_until="load", timeout=PAGE_TIMEOUT_MS)
            page.evaluate(WAIT_FOR_PAGE)
            facts = page.evaluate(PAGE_FACTS)
            found = list(events)
            found += [f"image did not load: {i['src']}" for i in facts["images"] if i["width"] == 0]
            found += [f"broken internal link: {u}" for u in broken_internal_links(book.site, site_url, facts["links"])]
            if facts["math_errors"] or facts["mathjax"] < facts["math"]:
                found.append(f"math: {facts['math']} formulas, {facts['mathjax']} rendered, "
                             f"{facts['math_errors']} TeX errors")
            if (nb := by_page.get(name)) is not None:
                found += notebook_page_problems(nb, facts)
            problems += [f"{name}: {p}" for p in found]
        problems += search_problems(page, site_url, book.notebooks[-1])
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def search_problems(page, site_url: str, nb) -> list[str]:
    """The site's search (Sphinx's, offline) must find a notebook by the longest word of its title."""
    word = max(re.findall(r"[A-Za-z]{4,}", plain_title(nb.title)), key=len)
    page.goto(f"{site_url}search.html?q={word}", wait_until="load", timeout=PAGE_TIMEOUT_MS)
    try:
        page.wait_for_selector("#search-results ul.search li a", timeout=PAGE_TIMEOUT_MS)
    except Exception as err:  # Playwright's TimeoutError
        return [f"search.html: searching {word!r} showed no result ({type(err).__name__})"]
    hits = page.eval_on_selector_all("#search-results ul.search li a", "as => as.map(a => a.getAttribute('href'))")
    if not any(urlsplit(h).path.endswith(f"{nb.page}.html") for h in hits):
        return [f"search.html: searching {word!r} did not find {nb.page}.html (found {hits})"]
    return []


def notebook_page_problems(nb, facts: dict) -> list[str]:
    """What a notebook's page lacks: its title, its figures, rendered math, folded solutions, its Colab link."""
    found = []
    title = plain_title(nb.title)
    if title not in " ".join(facts["h1"].split()):
        found.append(f"title {title!r} not in the page's heading {facts['h1']!r}")
    expected_images = image_outputs(nb)
    if facts["figures"] < expected_images:
        found.append(f"{facts['figures']} output images loaded, the notebook has {expected_images} image outputs")
    markdown = markdown_text(nb)
    if INLINE_MATH.search(markdown) and facts["mathjax"] == 0:
        found.append("the notebook has $math$ but MathJax rendered none")
    if facts["details"] < markdown.count("<details") or facts["open_details"]:
        found.append(f"{facts['details']} <details> blocks ({facts['open_details']} open), "
                     f"the notebook has {markdown.count('<details')} (all folded)")
    colab = build.colab_url(REPO_SLUG, nb.file)
    if colab not in facts["links"]:
        found.append(f"no link to {colab}")
    return found
