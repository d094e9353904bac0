"""Sphinx configuration of the course's website (`make book`; see book/build.py and the README).

The pages come from the committed notebooks, rendered with their stored outputs (MyST-NB with execution
off), in the Sphinx Book Theme. Everything a page needs is served from the site itself, MathJax included,
so the site builds and reads without a network.
"""

from __future__ import annotations

import ast
import shutil
from importlib.util import find_spec
from pathlib import Path

BOOK_DIR = Path(__file__).resolve().parent
REPO_ROOT = BOOK_DIR.parent


def _repo_slug() -> str:
    """``REPO_SLUG`` from utils/config.py, read without importing it (that would import torch)."""
    tree = ast.parse((REPO_ROOT / "utils" / "config.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "REPO_SLUG" for t in node.targets):
            return ast.literal_eval(node.value)
    raise RuntimeError("utils/config.py defines no REPO_SLUG: the Colab and GitHub links need it.")


REPO_SLUG = _repo_slug()
REPO_URL = f"https://github.com/{REPO_SLUG}"

project = "Explaining image classifiers"
author = ""

extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# The notebooks are committed with the outputs of a full run: show those, never execute.
nb_execution_mode = "off"
nb_merge_streams = True  # one block per cell for tqdm and print output, not one per flush
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3  # [text](#a-heading) links inside a notebook resolve
suppress_warnings = ["mystnb.unknown_mime_type"]

# MathJax 3 from the `django-static-mathjax` wheel (a plain copy of MathJax's files, no Django needed),
# copied into the site at the end of the build: Sphinx's default loads it from a CDN.
MATHJAX_FILE = "tex-svg-full.js"  # one file: TeX with all extensions, glyphs drawn as SVG (no font files)
mathjax_path = f"mathjax/{MATHJAX_FILE}"

html_theme = "sphinx_book_theme"
html_title = project
html_favicon = "_static/favicon.svg"  # else browsers ask for /favicon.ico and log a 404
html_show_copyright = False
html_show_sphinx = False
html_context = {"default_mode": "light"}  # an empty stored mode makes the theme log a console error
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_last_updated_fmt = None
html_copy_source = False  # the notebooks are on GitHub; the launch and download buttons point there
html_theme_options = {
    "repository_url": REPO_URL,
    "repository_branch": "main",
    "path_to_docs": "",  # pages are laid out as in the repository: notebooks/NN_name.ipynb
    "use_repository_button": True,
    "use_download_button": False,
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "navbar_persistent": [],  # the sidebar has the search field; no second one in a header bar
}


def _mathjax_source() -> Path:
    """The MathJax bundle shipped by the ``django-static-mathjax`` package, or an error that says how to get it."""
    spec = find_spec("mathjax")
    path = Path(spec.origin).parent / "static" / "mathjax" / "es5" / MATHJAX_FILE if spec and spec.origin else None
    if path is None or not path.is_file():
        raise RuntimeError(
            "MathJax is missing: the book serves its own copy so that math renders offline. "
            "Install the authoring requirements: `pip install -r requirements-dev.txt` (django-static-mathjax)."
        )
    return path


def _copy_mathjax(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        target = Path(app.outdir) / "_static" / "mathjax"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(_mathjax_source(), target / MATHJAX_FILE)


def setup(app) -> None:
    _mathjax_source()  # fail at the start of a build, not after it
    app.connect("build-finished", _copy_mathjax)
