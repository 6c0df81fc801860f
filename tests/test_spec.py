"""The declarative tables in code agree with SPEC.md, so the docs and the code cannot drift apart."""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields

import pytest

from bot.config import REPO_ROOT, Settings
from language.commands import COMMANDS
from language.intents import CATEGORIES, INTENTS
from language.texts import t
from storage import states
from storage.states import STATES

SPEC = REPO_ROOT.parent / "shared" / "SPEC.md"
pytestmark = pytest.mark.skipif(not SPEC.is_file(), reason="shared/SPEC.md is not beside the checkout")


def spec() -> str:
    return SPEC.read_text(encoding="utf-8")


def test_states_match_section_4() -> None:
    named = dict(re.findall(r"`([a-z_]+) ([\u4e00-\u9fff]+)`", spec()))
    assert set(named) == set(STATES)
    for code, label in named.items():
        assert states.label(code) == label, code


def test_intents_match_section_3() -> None:
    section = spec().split("## 3.")[1].split("## 4.")[0]
    rows = re.findall(r"^\| ([a-z]+) [\u4e00-\u9fff]+ \|", section, flags=re.MULTILINE)
    assert set(rows) == set(INTENTS)


def test_categories_match_section_3() -> None:
    codes = set(re.findall(r"\| ([a-z]+) \| ([\u4e00-\u9fff]+)", spec()))
    assert {c for c, _ in codes} == set(CATEGORIES)
    for code, name in codes:
        assert t(f"category.{code}") == name


def test_worker_commands_of_section_5_are_understood() -> None:
    section = spec().split("## 5.")[1].split("## 6.")[0]
    words = re.findall(r"^\| ([\u4e00-\u9fff]+)(?: [N楼]|\s*\|)", section, flags=re.MULTILINE)
    assert words and all(w in COMMANDS for w in words), words


def test_config_sections_of_section_11_exist_and_are_documented() -> None:
    example = tomllib.loads((REPO_ROOT / "config.example.toml").read_text(encoding="utf-8"))
    names = {f.name for f in fields(Settings)}
    for section, keys in re.findall(r"`\[([a-z_]+)\]((?: [a-z_]+)*)`", spec()):
        assert section in names and section in example, section
        for key in keys.split():
            assert key in example[section], f"[{section}] {key}"
