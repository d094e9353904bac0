import re

from utils.config import REPO_ROOT


def requirement_names(lines: list[str]) -> dict[str, str]:
    """{package name: version spec} from requirement lines, comments and blanks skipped."""
    found = {}
    for line in lines:
        line = line.split("#")[0].strip().lstrip("- ").strip()
        if match := re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(.*)", line):
            found[match[1].lower()] = match[2].replace(" ", "")
    return found


def test_environment_yml_lists_the_same_packages_as_requirements() -> None:
    requirements = requirement_names((REPO_ROOT / "requirements.txt").read_text().splitlines())
    env = (REPO_ROOT / "environment.yml").read_text().split("- pip:")[1].splitlines()
    assert requirement_names(env) == requirements


def test_torch_is_not_pinned_to_an_exact_version() -> None:
    requirements = requirement_names((REPO_ROOT / "requirements.txt").read_text().splitlines())
    assert requirements["torch"].startswith(">=") and "shap" in requirements
