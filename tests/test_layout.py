"""The layout keeps its promises: language/ is pure text work, importing nothing of the service."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.config import REPO_ROOT


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_language_imports_nothing_from_the_service() -> None:
    offending = {path.name: _imports(path) & {"bot", "handlers", "storage"}
                 for path in sorted((REPO_ROOT / "language").glob("*.py"))}
    assert {name: found for name, found in offending.items() if found} == {}
