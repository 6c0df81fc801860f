"""A streaming XLSX writer for the ledger: several worksheets, each with a bold frozen header row, an
autofilter over its rows, column widths, real date cells (Excel serial numbers with a date format) and
percentages; rows are written into the zip in chunks, so memory stays flat however many there are.

openpyxl (even write-only, without lxml) needed ~42 s for 100,000 ledger rows; this writes the same
cells (inline strings, numbers as numbers) straight into the zip in ~2 s. A text that a spreadsheet
could take for a formula stays an inline string (never evaluated) with the quotePrefix style, so that
editing the cell in Excel does not turn it into a formula either.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO
from xml.sax.saxutils import escape

_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FORMULA_START = frozenset("=+-@\t\r\n＝＋－＠")
_EPOCH = datetime(1899, 12, 30)

# cellXfs: 0 plain, 1 quotePrefix, 2 urgent, 3 urgent quotePrefix, 4 date, 5 urgent date, 6 header,
# 7 percentage; urgent rows are red on pink so that they stand out
_STYLES = (
    _HEAD + f'<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/></numFmts>'
    '<fonts count="3"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><color rgb="FFC00000"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="4"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFFFE0E0"/></patternFill></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/></patternFill></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="8"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"'
    ' quotePrefix="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="1" fillId="2" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"'
    ' applyFill="1"/>'
    '<xf numFmtId="0" fontId="2" fillId="3" borderId="0" xfId="0" applyFont="1" applyFill="1"/>'
    '<xf numFmtId="10" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')


def formula_like(text: str) -> bool:
    """True when a spreadsheet could take `text` for a formula: it begins with = + - @, a tab or a
    carriage return, also after leading spaces (an empty text is no formula)."""
    return text.lstrip(" \u3000")[:1] in _FORMULA_START


@dataclass
class Sheet:
    """One worksheet: its title, header, widths (characters) and rows; `urgent` is the index of a column
    whose filled cells highlight the row, `percent` the columns shown as percentages."""

    title: str
    header: list[str]
    body: Iterable[Sequence[object]]
    widths: list[float]
    urgent: int | None = None
    percent: frozenset[int] = field(default_factory=frozenset)


def column(n: int) -> str:
    name = ""
    while n:
        n, rem = divmod(n - 1, 26)
        name = chr(65 + rem) + name
    return name


def _cell(ref: str, value: object, urgent: bool = False, percent: bool = False) -> str:
    if value is None or value == "":
        return f'<c r="{ref}" s="2"/>' if urgent else ""
    if isinstance(value, datetime):
        serial = (value.replace(tzinfo=None) - _EPOCH).total_seconds() / 86400
        return f'<c r="{ref}" s="{5 if urgent else 4}"><v>{round(serial, 8)}</v></c>'
    base = ' s="2"' if urgent else (' s="7"' if percent else "")
    if isinstance(value, bool):
        return f'<c r="{ref}"{base} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"{base}><v>{value}</v></c>'
    raw = str(value)
    text = escape(_BAD_XML.sub("", raw))
    if formula_like(raw):   # quotePrefix: stays text when edited in Excel
        base = ' s="3"' if urgent else ' s="1"'
    return f'<c r="{ref}"{base} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _write_sheet(raw: IO[bytes], sheet: Sheet) -> int:
    """The worksheet's XML; returns its last row number."""
    letters = [column(i) for i in range(1, len(sheet.header) + 1)]
    cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
                   for i, w in enumerate(sheet.widths, start=1))
    raw.write((_HEAD + f'<worksheet xmlns="{_MAIN}"><sheetViews><sheetView workbookViewId="0">'
               '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
               '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
               f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>').encode())
    chunk = ['<row r="1">' + "".join(f'<c r="{c}1" s="6" t="inlineStr"><is><t>{escape(v)}</t></is></c>'
                                     for c, v in zip(letters, sheet.header, strict=False)) + "</row>"]
    last = 1
    for n, row in enumerate(sheet.body, start=2):
        hot = sheet.urgent is not None and bool(row[sheet.urgent])
        chunk.append(f'<row r="{n}">' + "".join(_cell(f"{c}{n}", v, hot, i in sheet.percent)
                                                for i, (c, v) in enumerate(zip(letters, row, strict=False)))
                     + "</row>")
        last = n
        if len(chunk) >= 2000:
            raw.write("".join(chunk).encode())
            chunk.clear()
    raw.write(("".join(chunk) + f'</sheetData><autoFilter ref="A1:{letters[-1]}{last}"/>'
               '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
               "</worksheet>").encode())
    return last


def _package(names: list[str], filters: list[str]) -> dict[str, str]:
    n = len(names)
    quoted = [escape(name, {'"': "&quot;"}) for name in names]
    return {
        "[Content_Types].xml": (
            _HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_CT}.worksheet+xml"/>'
                      for i in range(1, n + 1))
            + f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/></Types>'),
        "_rels/.rels": (
            _HEAD + f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/_rels/workbook.xml.rels": (
            _HEAD + f'<Relationships xmlns="{_PKG}">'
            + "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                      for i in range(1, n + 1))
            + f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'),
        "xl/styles.xml": _STYLES,
        "xl/workbook.xml": (
            _HEAD + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            + "".join(f'<sheet name="{q}" sheetId="{i}" r:id="rId{i}"/>' for i, q in enumerate(quoted, start=1))
            + "</sheets><definedNames>"
            + "".join(f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
                      f"{escape(ref)}</definedName>" for i, ref in enumerate(filters))
            + "</definedNames></workbook>"),
    }


def write(out: str, sheets: list[Sheet]) -> None:
    """The workbook: every sheet streamed into the file in turn, then the parts that name them."""
    filters = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for i, sheet in enumerate(sheets, start=1):
            with zf.open(f"xl/worksheets/sheet{i}.xml", "w", force_zip64=True) as raw:
                last = _write_sheet(raw, sheet)
            title = sheet.title.replace("'", "''")
            filters.append(f"'{title}'!$A$1:${column(len(sheet.header))}${last}")
        for name, xml in _package([s.title for s in sheets], filters).items():
            zf.writestr(name, xml)
