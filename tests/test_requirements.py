"""The install files agree with each other and with what the code imports."""

import ast
import json
import re
import sys
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from utils.config import REPO_ROOT

# import name -> distribution name, where they differ
DISTRIBUTIONS = {"PIL": "pillow", "sklearn": "scikit-learn"}
TOOLS = {
    "pytest",
    "nbval",
    "ipykernel",
    "ipywidgets",
    "jupyter",
    "jupyterlab",
    "notebook",
    "ruff",
    "jupytext",
}
TESTED_PYTHONS = ("3.11", "3.13")  # make test's .venv and make test-colab's .venv-colab
KERNEL_PROVIDED = {
    "IPython"
}  # every Jupyter kernel runs on it (ipykernel depends on it), Colab's too


def requirements(name: str) -> dict[str, Requirement]:
    """{canonical name: requirement} of one requirements file; ``-r`` lines are not
    followed."""
    found = {}
    for line in (REPO_ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            requirement = Requirement(line)
            found[canonicalize_name(requirement.name)] = requirement
    return found


def includes(name: str) -> list[str]:
    return re.findall(
        r"^-r\s+(\S+)", (REPO_ROOT / name).read_text(), flags=re.MULTILINE
    )


def imported_distributions() -> set[str]:
    """Third-party distributions imported by utils/ and by the notebooks' code cells."""
    sources = [p.read_text() for p in (REPO_ROOT / "utils").glob("*.py")]
    for notebook in (REPO_ROOT / "notebooks").glob("*.ipynb"):
        cells = json.loads(notebook.read_text())["cells"]
        sources += ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    modules = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    third_party = (
        modules
        - set(sys.stdlib_module_names)
        - {"utils", "__future__"}
        - KERNEL_PROVIDED
    )
    return {canonicalize_name(DISTRIBUTIONS.get(m, m)) for m in third_party}


def test_requirements_txt_holds_what_the_code_imports_and_no_tools() -> None:
    runtime = requirements("requirements.txt")
    assert imported_distributions() <= set(runtime), (
        "an import is missing from requirements.txt"
    )
    assert not TOOLS & set(runtime), (
        "test/authoring tools belong in requirements-dev.txt (Colab installs this file)"
    )
    assert includes("requirements.txt") == []


def test_requirements_dev_adds_the_tools_to_the_notebooks_requirements() -> None:
    assert includes("requirements-dev.txt") == ["requirements.txt"]
    dev = requirements("requirements-dev.txt")
    assert {"pytest", "nbval", "ipykernel", "jupyter", "ruff", "jupytext"} <= set(dev)
    assert not set(dev) & set(requirements("requirements.txt")), "listed twice"


def test_environment_yml_installs_requirements_dev_on_a_tested_python() -> None:
    text = (REPO_ROOT / "environment.yml").read_text()
    pip_section = [
        line.strip(" -")
        for line in text.split("- pip:")[1].splitlines()
        if line.strip()
    ]
    assert pip_section == ["r requirements-dev.txt"]
    python = re.search(r"^\s*-\s*python\s*=\s*([\d.]+)\s*$", text, flags=re.MULTILINE)
    assert python and python[1] in TESTED_PYTHONS


def test_torch_is_not_pinned_to_an_exact_version() -> None:
    torch = requirements("requirements.txt")["torch"]
    assert all(
        spec.operator == ">=" for spec in torch.specifier
    ) and "shap" in requirements("requirements.txt")


def test_colab_constraints_pin_exact_versions_that_the_requirements_accept() -> None:
    constraints = requirements("constraints-colab.txt")
    runtime = requirements("requirements.txt")
    for name, pin in constraints.items():
        (spec,) = pin.specifier
        assert spec.operator == "==", f"{name}: constraints pin exact versions"
        if name in runtime:  # else Colab's setup cell would replace Colab's own copy
            assert runtime[name].specifier.contains(Version(spec.version)), (
                f"{name} {spec.version} refused"
            )
    makefile = (REPO_ROOT / "Makefile").read_text()
    tools = re.search(r"^COLAB_TEST_TOOLS\s*:=\s*(.+)$", makefile, flags=re.MULTILINE)[
        1
    ].split()
    assert set(tools) <= set(requirements("requirements-dev.txt")), (
        "make test-colab installs a tool dev lacks"
    )
    assert "torch" in constraints and "3.13" in makefile


def test_stated_python_versions_are_the_tested_ones() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == f">={TESTED_PYTHONS[0]},<3.14"
    readme = (REPO_ROOT / "README.md").read_text()
    assert all(f"Python {v}" in readme for v in TESTED_PYTHONS)
    assert f"Python {TESTED_PYTHONS[0]}" in (REPO_ROOT / "requirements.txt").read_text()
    assert f"Python {TESTED_PYTHONS[1]}" in (REPO_ROOT / "requirements.txt").read_text()
