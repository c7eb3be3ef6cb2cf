"""Reading an import file as rows, streamed: never the whole file in memory.

CSV: bytes are read a line at a time (at most MAX_LINE) and decoded as UTF-8, falling back to
Latin-1 for a line that is not valid UTF-8 (spreadsheets exported on Windows write Latin-1); a UTF-8
BOM is dropped. The separator is the one of `;`, `,` and tab the header uses most. XLSX: openpyxl's
read-only mode, which parses the sheet as it is iterated. Rows are numbered as a spreadsheet shows
them: the header is row 1.

Columns map to fields by the caller's mapping (header -> field) or, failing that, by their names in
Portuguese or English (`ALIASES`); `telefone2`, `email 3` and the like add to the list field.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from models.data_import import ImportKind
from resolvers.documents import fold

MAX_LINE = 1 << 20
# What separates the phones (or e-mails) of one cell.
_LIST_SEPARATORS = re.compile(r"[,;/|]")
XLSX_MAGIC = b"PK\x03\x04"

# Fields of each kind; the first of each tuple is required.
FIELDS: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.PERSONS: ("document", "name", "kind", "phones", "emails", "company", "stage", "do_not_call"),
    ImportKind.MEMBERS: (
        "document", "name", "kind", "phones", "emails", "company", "person_stage", "stage", "agent", "do_not_call",
    ),
    ImportKind.DO_NOT_CALL: ("number", "source", "reason", "added_at", "expires_at"),
}
LIST_FIELDS = {"phones", "emails"}

_COMMON = {
    "document": ("cpf", "cnpj", "cpfcnpj", "cnpjcpf", "cpfoucnpj", "documento", "document", "doc", "documentnumber"),
    "name": ("nome", "nomecompleto", "razaosocial", "cliente", "name", "fullname"),
    "kind": ("tipo", "tipopessoa", "tipodepessoa", "natureza", "kind", "personkind", "type"),
    "phones": ("telefone", "telefones", "fone", "celular", "tel", "whatsapp", "phone", "phones", "mobile"),
    "emails": ("email", "emails", "mail", "correioeletronico"),
    "company": ("empresa", "cnpjempresa", "company", "companycnpj", "companyid"),
    "agent": ("agente", "atendente", "operador", "responsavel", "agent", "agentemail", "assignedagent"),
    "do_not_call": ("naoligar", "naomeligue", "donotcall", "optout"),
}
ALIASES: dict[ImportKind, dict[str, tuple[str, ...]]] = {
    ImportKind.PERSONS: {**_COMMON, "stage": ("estagio", "fase", "stage", "personstage")},
    ImportKind.MEMBERS: {
        **_COMMON, "person_stage": ("estagio", "fase", "personstage"), "stage": ("etapa", "stage", "campaignstage"),
    },
    ImportKind.DO_NOT_CALL: {
        "number": ("numero", "telefone", "fone", "celular", "number", "phone", "phonenumber"),
        "source": ("fonte", "origem", "lista", "source"),
        "reason": ("motivo", "observacao", "reason"),
        "added_at": ("data", "datainclusao", "incluidoem", "datacadastro", "addedat", "date"),
        "expires_at": ("validade", "expiraem", "datavalidade", "expiracao", "expiresat", "expiry"),
    },
}


class FileRefused(Exception):
    """The file cannot be imported at all (empty, no header, a required column missing)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(header))


def guess_mapping(headers: list[str], kind: ImportKind) -> dict[str, str]:
    """header -> field for the headers whose names say what they hold."""
    aliases = ALIASES[kind]
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        key = _key(header)
        stem = key.rstrip("0123456789")
        for name, names in aliases.items():
            if key in names or (name in LIST_FIELDS and stem in names):
                if name in LIST_FIELDS or name not in taken:
                    mapping[header] = name
                    taken.add(name)
                break
    return mapping


def check_mapping(headers: list[str], mapping: dict[str, str], kind: ImportKind) -> dict[str, str]:
    known = FIELDS[kind]
    for header, name in mapping.items():
        if header not in headers:
            raise FileRefused("UNKNOWN_COLUMN", f"The mapping names a column the file does not have: {header!r}.")
        if name not in known:
            raise FileRefused("UNKNOWN_FIELD", f"{name!r} is not a field of a {kind.value} import ({', '.join(known)}).")
    fields = list(mapping.values())
    duplicated = sorted({name for name in fields if fields.count(name) > 1 and name not in LIST_FIELDS})
    if duplicated:
        raise FileRefused("UNKNOWN_FIELD", f"Several columns map to {', '.join(duplicated)}.")
    if known[0] not in fields:
        raise FileRefused("MISSING_COLUMN", f"No column holds {known[0]!r} (found: {', '.join(headers)}).")
    return mapping


@dataclass
class Row:
    number: int
    values: dict[str, Any]  # field -> text (a list for phones and e-mails)
    columns: dict[str, str] = field(default_factory=dict)  # field -> header, for error reports


class _Lines:
    """Decoded lines of a binary file, UTF-8 with a Latin-1 fallback per line."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.bytes_read = 0

    def __iter__(self) -> Iterator[str]:
        first = True
        while raw := self.handle.readline(MAX_LINE):
            self.bytes_read += len(raw)
            if first and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            first = False
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                yield raw.decode("latin-1")


def _separator(header_line: str) -> str:
    counts = {separator: header_line.count(separator) for separator in (";", ",", "\t")}
    best = max(counts, key=lambda separator: counts[separator])
    return best if counts[best] else ","


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value).strip()


class Table:
    """An open import file: its headers, then its rows as `Row`s, read as they are iterated."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[bytes] = path.open("rb")
        self._workbook: Any = None
        self._lines: _Lines | None = None
        self._records: Iterator[list[Any]]
        if self._handle.read(4) == XLSX_MAGIC:
            self._handle.close()
            self._open_xlsx()
        else:
            self._handle.seek(0)
            self._open_csv()
        header = next(self._records, None)
        self.headers = [_text(cell) for cell in header] if header is not None else []
        if not any(self.headers):
            self.close()
            raise FileRefused("EMPTY_FILE", "The file is empty: it needs a header row.")

    def _open_csv(self) -> None:
        self._lines = _Lines(self._handle)
        lines = iter(self._lines)
        first = next(lines, "")
        separator = _separator(first)

        def chained() -> Iterator[str]:
            yield first
            yield from lines

        self._records = csv.reader(chained(), delimiter=separator)

    def _open_xlsx(self) -> None:
        from openpyxl import load_workbook  # only when an XLSX file comes

        self._workbook = load_workbook(self.path, read_only=True, data_only=True)
        sheet = self._workbook.active
        self._records = (list(row) for row in sheet.iter_rows(values_only=True))

    @property
    def bytes_read(self) -> int:
        return self._lines.bytes_read if self._lines is not None else 0

    def rows(self, mapping: dict[str, str]) -> Iterator[Row]:
        # (position, field, whether the field is a list) of each mapped column, in file order
        positions = [(index, mapping[header], mapping[header] in LIST_FIELDS)
                     for index, header in enumerate(self.headers) if header in mapping]
        columns = {name: header for header, name in mapping.items()}
        split = _LIST_SEPARATORS.split
        for number, record in enumerate(self._records, start=2):
            values: dict[str, Any] = {}
            width = len(record)
            for index, name, listed in positions:
                cell = record[index] if index < width else ""
                text = cell.strip() if type(cell) is str else _text(cell)  # CSV cells are text already
                if listed:
                    parts = values.setdefault(name, [])
                    if text:
                        parts.extend(part.strip() for part in split(text) if part.strip())
                else:
                    values[name] = text
            if not any(values.values()) and not any(_text(cell) for cell in record):
                continue  # a blank line
            yield Row(number, values, columns)

    def close(self) -> None:
        if self._workbook is not None:
            self._workbook.close()
        self._handle.close()
