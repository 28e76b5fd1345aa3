"""Every runtime dependency in pyproject.toml is imported by a module of ``stream``."""

from __future__ import annotations

import ast
import re
import tomllib
from importlib.metadata import packages_distributions

from tests.conftest import ROOT


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_distributions() -> set[str]:
    """Distributions whose top-level packages the modules of ``stream`` import."""
    top = set()
    for path in (ROOT / "stream").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                top |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                top.add(node.module.split(".")[0])
    owners = packages_distributions()
    return {normalised(dist) for name in top for dist in owners.get(name, ())}


def test_no_runtime_dependency_goes_unimported():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {normalised(re.match(r"[A-Za-z0-9_.-]+", d)[0]) for d in declared}
    assert "numpy" in names and len(names) >= 5
    assert names - imported_distributions() == set()
