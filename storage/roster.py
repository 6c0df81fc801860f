"""Reading the organisation as offices keep it: the TOML file, or CSV/XLSX rosters saved by Excel.

A CSV is read as UTF-8 (with or without the BOM Excel writes for "CSV UTF-8") and else as GB18030, the
superset of the GBK that Excel on Chinese Windows writes for plain "CSV". Every problem is collected,
in words an office reads, with the row of the sheet it is on ("第 7 行：网格 g9 不存在"); one OrgError
lists them all and nothing is imported.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from language.texts import t
from language.words import words

KINDS = ("communities", "staff", "grids", "buildings")
ROLES = ("worker", "head", "staff", "admin")
KEYS = {"communities": "id", "staff": "userid", "grids": "id", "buildings": "id"}
ROW = "_row"        # where a row came from: (sheet or "", line number), kept beside its fields
_SPLIT = re.compile(r"[;；,，、\s]+")
_GROUP = re.compile(r"(robot|appchat):\S+|fanout|sim")
_NUMBERS = {"lat": float, "lng": float, "households": int}


Problem = tuple[tuple[str, int], str]   # (where it is, for the order of the list; what is wrong there)


class OrgError(ValueError):
    """An organisation file that cannot be loaded; the message lists every problem found."""


@dataclass
class Org:
    communities: list[dict] = field(default_factory=list)
    staff: list[dict] = field(default_factory=list)
    grids: list[dict] = field(default_factory=list)
    buildings: list[dict] = field(default_factory=list)
    residents: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # found while reading: (order, text)


def _list(value: object) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v for v in _SPLIT.split(str(value)) if v]


def problem(kind: str, row: dict, n: int, text: str) -> Problem:
    """A problem named by its row: the sheet's line, else the entry's id, else its place in the file."""
    at = row.get(ROW)
    if at:
        sheet, line = at
        return (sheet, line), (t("org.at_sheet_row", sheet=sheet, row=line) if sheet
                               else t("org.at_row", row=line)) + text
    key = row.get(KEYS.get(kind, "openid"))
    label = t(f"plain.kinds.{kind}") if kind in (*KINDS, "residents") else kind
    return (kind, n), (t("org.at_entry", kind=label, id=key) if key else t("org.at_nth", n=n, kind=label)) + text


def _clean(kind: str, row: dict, n: int, problems: list[Problem]) -> dict:
    row = {str(k).strip(): v for k, v in row.items() if k is not None}
    row = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()}
    row = {k: v for k, v in row.items() if v not in (None, "")}
    if kind == "grids":
        row["workers"] = _list(row.get("workers"))
    if kind == "buildings":
        row["aliases"] = _list(row.get("aliases"))
        for key, number in _NUMBERS.items():
            if key not in row:
                continue
            try:
                row[key] = number(row[key])
            except (TypeError, ValueError):
                problems.append(problem(kind, row, n, t("org.bad_number", field=t(f"org.fields.{key}"),
                                                         value=row.pop(key))))
    return row


def parse_toml(path: Path) -> Org:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise OrgError(t("org.bad_toml", path=path, error=exc)) from None
    org = Org()
    for kind in (*KINDS, "residents"):
        for n, row in enumerate(data.get(kind, []), start=1):
            getattr(org, kind).append(_clean(kind, dict(row), n, org.problems))
    return org


def _rows_by_kind(rows: list[tuple[str, int, dict]]) -> Org:
    """Rows of a sheet, each (sheet, line, fields) with its kind in the `kind` column (or the sheet's name)."""
    org = Org()
    aliases = {"community": "communities", "grid": "grids", "building": "buildings",
               **words("roster", "kinds")}   # the kinds as an office writes them (网格, 楼栋 ...)
    for sheet, line, row in rows:
        if all(v in (None, "") or (isinstance(v, str) and not v.strip()) for v in row.values()):
            continue   # Excel keeps empty rows (",,,,") at the end of a sheet
        raw = str(row.pop("kind", "") or "").strip()
        kind = aliases.get(raw, raw)
        row[ROW] = (sheet, line)
        if kind not in KINDS:
            org.problems.append(problem(kind, row, line, t("org.bad_kind", kind=raw)))
            continue
        getattr(org, kind).append(_clean(kind, row, line, org.problems))
    return org


def decode(data: bytes, path: Path) -> str:
    """A CSV's text: UTF-8 (a BOM or not), else GB18030 (GBK and GB2312 are its subsets)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise OrgError(t("org.bad_encoding", path=path))


def parse_csv(path: Path) -> Org:
    reader = csv.DictReader(io.StringIO(decode(path.read_bytes(), path), newline=""))
    rows = []
    for row in reader:
        rows.append(("", reader.line_num, dict(row)))
    return _rows_by_kind(rows)


def parse_xlsx(path: Path) -> Org:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - a boundary: log and answer, never crash
        raise OrgError(t("org.bad_xlsx", path=path, error=exc)) from None
    rows: list[tuple[str, int, dict]] = []
    for sheet in book.worksheets:
        values = [(n, list(r)) for n, r in enumerate(sheet.iter_rows(values_only=True), start=1)]
        values = [(n, r) for n, r in values if any(c not in (None, "") for c in r)]
        if not values:
            continue
        header = [str(c).strip() if c is not None else "" for c in values[0][1]]
        for n, r in values[1:]:
            row = dict(zip(header, r, strict=False))
            if "kind" not in header:
                row["kind"] = sheet.title.strip()
            rows.append((sheet.title.strip(), n, row))
    book.close()
    return _rows_by_kind(rows)


def parse_file(path: str | Path) -> Org:
    p = Path(path)
    if not p.is_file():
        raise OrgError(t("org.not_found", path=p))
    suffix = p.suffix.lower()
    if suffix == ".toml":
        return parse_toml(p)
    if suffix == ".csv":
        return parse_csv(p)
    if suffix in (".xlsx", ".xlsm"):
        return parse_xlsx(p)
    raise OrgError(t("org.bad_format", path=p, suffix=suffix or "?"))


def _entries(org: Org, problems: list[Problem]) -> None:
    """Every entry has its key and a name, once."""
    for kind, key in KEYS.items():
        seen: set[str] = set()
        for n, row in enumerate(getattr(org, kind), start=1):
            if not row.get(key):
                problems.append(problem(kind, row, n, t("org.no_userid" if key == "userid" else "org.no_id")))
                continue
            if row[key] in seen:
                problems.append(problem(kind, row, n, t("org.duplicate", id=row[key])))
            seen.add(row[key])
            if not row.get("name"):
                problems.append(problem(kind, row, n, t("org.no_name")))


def _grid_links(org: Org, merged: dict[str, dict], problems: list[Problem]) -> None:
    """Roles are known; grids name known communities and staff."""
    for n, s in enumerate(org.staff, start=1):
        if s.get("role", "worker") not in ROLES:
            problems.append(problem("staff", s, n, t("org.bad_role", role=s.get("role"))))
    for n, g in enumerate(org.grids, start=1):
        found = []
        if g.get("community") not in merged["communities"]:
            found.append(t("org.unknown_community", id=g.get("community") or "—"))
        if g.get("head") and g["head"] not in merged["staff"]:
            found.append(t("org.unknown_head", id=g["head"]))
        found += [t("org.unknown_worker", id=w) for w in g["workers"] if w not in merged["staff"]]
        problems.extend(problem("grids", g, n, text) for text in found)


def _building_links(org: Org, merged: dict[str, dict], problems: list[Problem]) -> None:
    """Buildings name known grids, communities and group forms; residents known buildings."""
    for n, b in enumerate(org.buildings, start=1):
        found = []
        if not b.get("grid"):
            found.append(t("org.no_grid"))
        elif b["grid"] not in merged["grids"]:
            found.append(t("org.unknown_grid", id=b["grid"]))
        if b.get("community") and b["community"] not in merged["communities"]:
            found.append(t("org.unknown_community", id=b["community"]))
        if b.get("group") and not _GROUP.fullmatch(str(b["group"])):
            found.append(t("org.bad_group", group=b["group"]))
        problems.extend(problem("buildings", b, n, text) for text in found)
    for n, r in enumerate(org.residents, start=1):
        if not r.get("openid"):
            problems.append(problem("residents", r, n, t("org.no_openid")))
        elif r.get("building") and r["building"] not in merged["buildings"]:
            problems.append(problem("residents", r, n, t("org.unknown_building", id=r["building"])))


def validate(org: Org, base: Org | None = None) -> None:
    """Raise OrgError listing every problem in `org` (checked together with `base`, the store), in the
    order of the sheet's rows."""
    problems = list(org.problems)
    _entries(org, problems)
    merged = {kind: {r.get(KEYS[kind]): r for r in getattr(base or Org(), kind)} for kind in KINDS}
    for kind in KINDS:
        merged[kind].update({r.get(KEYS[kind]): r for r in getattr(org, kind)})
    _grid_links(org, merged, problems)
    _building_links(org, merged, problems)
    if problems:
        problems.sort(key=lambda p: p[0])
        lines = "\n".join(t("org.problem_line", problem=text) for _, text in problems)
        raise OrgError(t("org.problems", count=len(problems), problems=lines))
