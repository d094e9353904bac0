"""Sphinx configuration of the course's website (`make book`; see book/build.py).

The pages come from the committed notebooks, rendered with their stored outputs (MyST-NB
with execution off), in the Sphinx Book Theme. Everything a page needs is served from
the site itself, MathJax included, so the site builds and reads without a network.
Every figure links to its full-size file; code blocks get a copy button; a notebook's
page offers the committed ``.ipynb`` for download (book/build.py puts it in place).
"""

from __future__ import annotations

import ast
import posixpath
import shutil
from importlib.util import find_spec
from pathlib import Path

from docutils import nodes

BOOK_DIR = Path(__file__).resolve().parent
REPO_ROOT = BOOK_DIR.parent


def _repo_slug() -> str:
    """``REPO_SLUG`` from utils/config.py, read without importing it (that imports
    torch)."""
    tree = ast.parse((REPO_ROOT / "utils" / "config.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "REPO_SLUG" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise RuntimeError(
        "utils/config.py defines no REPO_SLUG: the Colab and GitHub links need it."
    )


REPO_SLUG = _repo_slug()
REPO_URL = f"https://github.com/{REPO_SLUG}"

project = "Explaining image classifiers"
author = ""

extensions = ["myst_nb", "sphinx_copybutton"]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# The notebooks are committed with the outputs of a full run: show those, never execute.
nb_execution_mode = "off"
nb_merge_streams = (
    True  # one block per cell for tqdm and print output, not one per flush
)
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3  # [text](#a-heading) links inside a notebook resolve
suppress_warnings = ["mystnb.unknown_mime_type"]

# MathJax 3 from the `django-static-mathjax` wheel (a plain copy of MathJax's files, no
# Django needed), copied into the site at the end of the build: Sphinx's default loads
# it from a CDN.
MATHJAX_FILE = "tex-svg-full.js"  # TeX with all extensions, glyphs drawn as SVG
mathjax_path = f"mathjax/{MATHJAX_FILE}"

# A copy button on code a student runs: notebook cells, the landing page's commands,
# code blocks in the text; not on outputs (they are highlight-myst-ansi blocks).
copybutton_selector = ", ".join(
    ["div.cell_input div.highlight pre"]
    + [
        f"div.highlight-{lexer} div.highlight pre"
        for lexer in ("ipython3", "python", "bash", "shell", "default")
    ]
)

html_theme = "sphinx_book_theme"
html_title = project
html_favicon = "_static/favicon.svg"  # else browsers ask for /favicon.ico and log a 404
html_show_copyright = False
html_show_sphinx = False
html_context = {
    "default_mode": "light"
}  # an empty stored mode: console error otherwise
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_last_updated_fmt = None
# _sources/ holds each page's source for the download button; book/build.py replaces a
# notebook's staged copy there by the committed notebook, byte for byte.
html_copy_source = True
html_theme_options = {
    "repository_url": REPO_URL,
    "repository_branch": "main",
    "path_to_docs": "",  # pages laid out as in the repository: notebooks/NN_name.ipynb
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "navbar_persistent": [],  # the sidebar has the search field; no second one on top
}


def _mathjax_source() -> Path:
    """The MathJax bundle of the ``django-static-mathjax`` package, or an error that
    says how to get it."""
    spec = find_spec("mathjax")
    folder = Path(spec.origin).parent if spec and spec.origin else None
    path = folder / "static" / "mathjax" / "es5" / MATHJAX_FILE if folder else None
    if path is None or not path.is_file():
        raise RuntimeError(
            "MathJax is missing: the book serves its own copy so that math renders "
            "offline. Install the authoring requirements: `pip install -r "
            "requirements-dev.txt` (django-static-mathjax)."
        )
    return path


def _copy_mathjax(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        target = Path(app.outdir) / "_static" / "mathjax"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(_mathjax_source(), target / MATHJAX_FILE)


def _link_figures_to_full_size(builder) -> None:
    """Make every image in a page's text link to its own file, full size (a phone shows
    figures smaller than they were drawn; a tap opens them).

    Wraps the HTML builder's ``post_process_images``, the step where Sphinx knows each
    image's file under ``_images/`` (it links images with a set size the same way,
    ``html_scaled_image_link``). Images that already are a link (the Colab badge) keep
    theirs.
    """
    process = builder.post_process_images

    def post_process_images(doctree: nodes.Node) -> None:
        process(doctree)
        for image in list(doctree.findall(nodes.image)):
            if isinstance(image.parent, nodes.reference):
                continue
            uri = image["uri"]
            target = builder.images.get(uri)
            refuri = posixpath.join(builder.imgpath, target) if target else uri
            reference = nodes.reference("", "", internal=True, refuri=refuri)
            reference["classes"].append("full-size-figure")
            image.replace_self(reference)
            reference.append(image)

    builder.post_process_images = post_process_images


def _builder_inited(app) -> None:
    if app.builder.format == "html":
        _link_figures_to_full_size(app.builder)


def _download_only_notebooks(app, pagename, templatename, context, doctree) -> None:
    """Keep the theme's download menu (.ipynb, print to PDF) on notebook pages only: the
    landing page's source is generated, the search and index pages have none."""
    if context.get("page_source_suffix") != ".ipynb" and "header_buttons" in context:
        context["header_buttons"] = [
            b for b in context["header_buttons"] if b.get("label") != "download-buttons"
        ]


def setup(app) -> None:
    _mathjax_source()  # fail at the start of a build, not after it
    app.connect("builder-inited", _builder_inited)
    # after the theme's own handler (priority 500) has made the buttons
    app.connect("html-page-context", _download_only_notebooks, priority=900)
    app.connect("build-finished", _copy_mathjax)
