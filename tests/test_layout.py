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


def _module_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names if node.module == "bot")
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found - {"bot"}


# what a handler may use of bot/: the routing API, conversation states, the message type and config
HANDLER_CONTEXT = {"bot.router", "bot.conversation", "bot.messages", "bot.config", "bot.logsafe",
                   "bot.workcal"}


def test_handlers_see_only_language_storage_and_the_handler_context() -> None:
    offending = {}
    for path in sorted((REPO_ROOT / "handlers").glob("*.py")):
        service = {m for m in _module_imports(path) if m.split(".")[0] == "bot"}
        if service - HANDLER_CONTEXT:
            offending[path.name] = service - HANDLER_CONTEXT
    assert offending == {}


def test_storage_knows_nothing_of_messages_or_handlers() -> None:
    offending = {path.name: _imports(path) & {"bot", "handlers"}
                 for path in sorted((REPO_ROOT / "storage").glob("*.py"))}
    assert {name: found for name, found in offending.items() if found} == {}
