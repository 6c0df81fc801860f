"""Every word a person reads or writes lives in catalogue/: product code holds no Chinese string literal
(docstrings and comments may quote Chinese to explain; they are not shown to anyone)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bot.config import REPO_ROOT

CJK = re.compile(r"[\u4e00-\u9fff]")
PRODUCT = ("bot", "handlers", "language", "storage")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def chinese_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstrings(tree)
    name = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path.name
    return [f"{name}:{node.lineno} {node.value[:30]!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
            and CJK.search(node.value)]


def test_product_code_holds_no_chinese_literal() -> None:
    found = [hit for folder in PRODUCT for path in sorted((REPO_ROOT / folder).rglob("*.py"))
             for hit in chinese_literals(path)]
    assert found == [], "move these to catalogue/ (texts*.toml for what the bot says, words.toml for " \
                        "what it reads):\n" + "\n".join(found)


def test_the_check_finds_a_literal(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('"""说明：文档可以有中文。"""\nWORD = "满意"  # 注释也可以\n', encoding="utf-8")
    assert [hit.split(" ", 1)[1] for hit in chinese_literals(sample)] == ["'满意'"]
