"""A spreadsheet (XLSX) written as it streams: one sheet, inline strings, a page of rows at a time.

An XLSX file is a ZIP of XML parts. Python's zipfile writes a member to a stream it cannot seek
(each member's sizes follow its data), so the sheet's rows are compressed and sent as they are
read, and memory holds one page whatever the size of the export, as for CSV. Text goes in inline
strings (no shared-string table to build first); numbers and booleans as such; dates and times as
ISO text, which every spreadsheet sorts. A spreadsheet never runs an inline string as a formula, so
the CSV's leading-quote guard is not needed here.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from xml.sax.saxutils import escape

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel refuses (and offers to "repair") a file with a longer cell.
CELL_LIMIT = 32767
# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/>'
        "</Relationships>"
    ),
}
_SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_SHEET_END = "</sheetData></worksheet>"


def _workbook(sheet_name: str) -> str:
    name = escape(_NOT_XML.sub("", sheet_name)[:31] or "Sheet1", {'"': "&quot;"})
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "<c/>"
    if isinstance(value, bool):
        return f'<c t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, Enum):
        return f"<c><v>{value}</v></c>"
    if isinstance(value, (datetime, date)):
        text = value.isoformat()
    elif isinstance(value, Enum):
        text = str(value.value)
    else:
        text = str(value)
    text = escape(_NOT_XML.sub("", text)[:CELL_LIMIT])
    return f'<c t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def rows_xml(rows: Sequence[Sequence[Any]]) -> bytes:
    return "".join("<row>" + "".join(_cell(value) for value in row) + "</row>" for row in rows).encode()


class _Sink:
    """A write-only stream for zipfile (it has no seek or tell, so zipfile streams each member)."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


async def stream(sheet_name: str, pages: AsyncIterator[Sequence[Sequence[Any]]]) -> AsyncIterator[bytes]:
    """The XLSX bytes of `pages` (the header row is the first page's first row), as they are read."""
    sink = _Sink()
    archive = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED)  # type: ignore[arg-type]
    for name, text in _PARTS.items():
        archive.writestr(name, text)
    archive.writestr("xl/workbook.xml", _workbook(sheet_name))
    with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
        sheet.write(_SHEET_START.encode())
        async for rows in pages:
            sheet.write(rows_xml(rows))
            yield sink.take()
        sheet.write(_SHEET_END.encode())
    archive.close()
    yield sink.take()
