"""The ledger (台账): one row per petition, to CSV or XLSX.

Rows stream from one SQL cursor as tuples (no per-row dicts), so memory stays flat however many
petitions there are; `since`/`until` limit the export to petitions received in [since, until).

Texts come from residents and workers, so a cell may begin like a formula (`=HYPERLINK(…)`, `+cmd|…`,
`-2+3`, `@SUM(…)`). In CSV such a text cell gets a leading `'` (OWASP CSV injection); in XLSX it stays
an inline string, which is never evaluated, and carries the quotePrefix style so that editing the cell
in Excel does not turn it into a formula either. Numbers stay numbers.
"""

from __future__ import annotations

import contextlib
import csv
import re
import sys
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from xml.sax.saxutils import escape

from sqlite_utils import Database

from language.texts import t
from storage import states

# the ledger's columns in order; each heading is `ledger.<key>` in catalogue/texts.ledger.toml
COLUMNS = ["id", "created_at", "community", "grid", "building", "category", "text", "state", "state_label",
           "urgent", "worker", "dispatched_at", "accepted_at", "resolved_at", "resolution", "rating",
           "reopen_count", "urge_count"]

# one expression per column of COLUMNS, in order; state_label is filled in Python from the state table
_SELECT = {"community": "b.community", "grid": "coalesce(g.name, p.grid)",
           "building": "coalesce(b.name, p.building)", "state_label": "NULL",
           "urgent": "p.urgent", "worker": "coalesce(s.name, p.worker)"}
_SQL = ("SELECT " + ", ".join(_SELECT.get(key, f"p.{key}") for key in COLUMNS)
        + " FROM petitions p LEFT JOIN buildings b ON b.id = p.building"
        " LEFT JOIN grids g ON g.id = p.grid LEFT JOIN staff s ON s.userid = p.worker")
_STATE, _LABEL, _URGENT = COLUMNS.index("state"), COLUMNS.index("state_label"), COLUMNS.index("urgent")


def rows(db: Database, since: datetime | None = None, until: datetime | None = None) -> Iterator[list[object]]:
    """Ledger rows in id order; times compare as instants, whatever zone they were stored in."""
    where, params = [], []
    if since is not None:
        where.append("unixepoch(p.created_at) >= ?")
        params.append(int(since.timestamp()))
    if until is not None:
        where.append("unixepoch(p.created_at) < ?")
        params.append(int(until.timestamp()))
    sql = _SQL + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY p.id"
    labels = {code: states.label(code) for code in states.STATES}
    urgent = t("ledger.urgent_yes")
    for r in db.conn.execute(sql, params):
        row = list(r)
        row[_LABEL] = labels.get(row[_STATE], row[_STATE])
        row[_URGENT] = urgent if row[_URGENT] else ""
        yield row


# what makes a spreadsheet read a cell as a formula (or smuggle one in after a tab / carriage return);
# the full-width forms are included because some spreadsheet programs fold them
_FORMULA_START = frozenset("=+-@\t\r\n＝＋－＠")


def formula_like(text: str) -> bool:
    """True when a spreadsheet could take `text` for a formula: it begins with = + - @, a tab or a
    carriage return, also after leading spaces (an empty text is no formula)."""
    return text.lstrip(" \u3000")[:1] in _FORMULA_START


def csv_safe(value: object) -> object:
    """A CSV cell: a formula-like text gets a leading `'`; numbers and other texts are unchanged."""
    if isinstance(value, str) and formula_like(value):
        return "'" + value
    return value


def export(db: Database, fmt: str, out: str, since: datetime | None = None,
           until: datetime | None = None) -> None:
    header = [t(f"ledger.{key}") for key in COLUMNS]
    if fmt == "csv":
        with contextlib.ExitStack() as stack:
            stream = sys.stdout if out == "-" else stack.enter_context(
                open(out, "w", encoding="utf-8-sig", newline=""))
            writer = csv.writer(stream)
            writer.writerow(header)
            writer.writerows([csv_safe(v) for v in row] for row in rows(db, since, until))
        return
    write_xlsx(out, t("ledger.sheet"), header, rows(db, since, until), urgent_column=_URGENT)


# --- a streaming XLSX writer ------------------------------------------------------------------------
# openpyxl (even write-only, without lxml) needed ~42 s for 100,000 ledger rows; this writes the same
# sheet (inline strings, numbers as numbers) straight into the zip in ~2 s with flat memory.

_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'styles" Target="styles.xml"/></Relationships>'),
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><color rgb="FFC00000"/><name val="Calibri"/></font></fonts>'
        '<fills count="3"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill>'
        '<fill><patternFill patternType="solid"><fgColor rgb="FFFFE0E0"/></patternFill></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/>'
        '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>'
        '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"'
        ' quotePrefix="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '</styleSheet>'),
}


def _column(n: int) -> str:
    name = ""
    while n:
        n, rem = divmod(n - 1, 26)
        name = chr(65 + rem) + name
    return name


def _cell(ref: str, value: object, urgent: bool = False) -> str:
    """One cell; an urgent petition's row is red on pink (styles 2 and 3) so that it stands out."""
    if value is None or value == "":
        return f'<c r="{ref}" s="2"/>' if urgent else ""
    base = ' s="2"' if urgent else ""
    if isinstance(value, bool):
        return f'<c r="{ref}"{base} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"{base}><v>{value}</v></c>'
    raw = str(value)
    text = escape(_BAD_XML.sub("", raw))
    if formula_like(raw):   # quotePrefix: stays text when edited in Excel
        base = ' s="3"' if urgent else ' s="1"'
    return f'<c r="{ref}"{base} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def write_xlsx(out: str, title: str, header: list[str], body: Iterable[list[object]],
               urgent_column: int | None = None) -> None:
    """One worksheet named `title`: the header row, then `body`, streamed into the file; a row whose
    `urgent_column` is filled is highlighted."""
    letters = [_column(i) for i in range(1, len(header) + 1)]
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, xml in _PARTS.items():
            zf.writestr(name, xml)
        zf.writestr("xl/workbook.xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name="{escape(title, {chr(34): "&quot;"})}" sheetId="1" r:id="rId1"/></sheets>'
            '</workbook>'))
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as raw:
            raw.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                      b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                      b'<sheetData>')
            chunk = ['<row r="1">' + "".join(_cell(f"{c}1", v) for c, v in zip(letters, header, strict=False))
                     + "</row>"]
            for n, row in enumerate(body, start=2):
                hot = urgent_column is not None and bool(row[urgent_column])
                chunk.append(f'<row r="{n}">' + "".join(_cell(f"{c}{n}", v, hot) for c, v in zip(letters, row,
                                                                                                       strict=False))
                             + "</row>")
                if len(chunk) >= 2000:
                    raw.write("".join(chunk).encode())
                    chunk.clear()
            raw.write(("".join(chunk) + "</sheetData></worksheet>").encode())
