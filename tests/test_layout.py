"""The package's layering (utils/__init__.py): mechanisms never import the recipes or
anything above them."""

import ast
from pathlib import Path

from utils.config import REPO_ROOT

# Each module and the utils modules it may import.
ALLOWED = {
    "config": set(),
    "download": {"config"},
    "inputs": set(),
    "hooks": set(),
    "data": {"config", "download"},
    "models": {"config", "download"},
    "pretrained": {"config", "download", "models"},
    "training": {"config"},
    "shapley": {"config", "hooks", "inputs", "training"},
    "occlusion": {"config", "inputs"},
    "cam": {"config", "hooks", "inputs"},
    "faithfulness": {"config"},
    "attribution": {"cam", "config", "faithfulness", "inputs", "occlusion", "shapley"},
    "nbdt": set(),
    "plots": {"nbdt", "shapley", "training"},
}


def utils_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= (
                {node.module} if node.module else {alias.name for alias in node.names}
            )
    return found


def test_no_module_imports_upward() -> None:
    modules = {
        p.stem: p for p in (REPO_ROOT / "utils").glob("*.py") if p.stem != "__init__"
    }
    assert set(modules) == set(ALLOWED) | {"recipes"}, (
        "a new module: add it to ALLOWED with its place in the layers"
    )
    for name, allowed in ALLOWED.items():
        extra = utils_imports(modules[name]) - allowed
        assert not extra, (
            f"utils/{name}.py imports {sorted(extra)}: move the code, or the preset "
            "to recipes"
        )
