"""Attachment files: checked against the size limit, the type allow-list and what their bytes say they
are, stored once per content hash.

A file is streamed into a temporary file in the upload directory while it is hashed and measured,
and renamed into place only when every file of the request passed, so a crash or a refused file
never leaves a half-written blob under its final name.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import mimetypes
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from resolvers.errors import TicketError, TicketErrorCode

if TYPE_CHECKING:
    from contato.settings import Settings

MAX_FILES_PER_MESSAGE = 10
CHUNK = 64 * 1024
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


_ZIP = (b"PK\x03\x04", b"PK\x05\x06")  # a ZIP archive (OOXML and OpenDocument files are ZIPs), or an empty one
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)  # the compound file of legacy .doc / .xls


def _starts(*prefixes: bytes) -> Callable[[bytes], bool]:
    return lambda head: head.startswith(prefixes)


# What the first bytes of a file of each allowed type are (as `file` and browsers tell them). A type
# an operator adds to UPLOAD_ALLOWED_TYPES that is not here is taken on its declared type.
SIGNATURES: dict[str, Callable[[bytes], bool]] = {
    "application/pdf": _starts(b"%PDF-"),
    "image/png": _starts(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": _starts(b"\xff\xd8\xff"),
    "image/gif": _starts(b"GIF87a", b"GIF89a"),
    "image/webp": lambda head: head.startswith(b"RIFF") and head[8:12] == b"WEBP",
    "application/zip": _starts(*_ZIP),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _starts(*_ZIP),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _starts(*_ZIP),
    "application/vnd.oasis.opendocument.text": _starts(*_ZIP),
    "application/vnd.oasis.opendocument.spreadsheet": _starts(*_ZIP),
    "application/msword": _starts(*_OLE),
    "application/vnd.ms-excel": _starts(*_OLE),
}
# Text must read as text: UTF-8 (a BOM allowed), or a single-byte encoding (Latin-1, Windows-1252:
# what Excel saves a CSV as in Brazil), without NUL or other control bytes (which every binary
# format, an executable labelled text/plain included, holds within its first bytes).
TEXT_TYPES = frozenset({"text/plain", "text/csv"})
HEAD_BYTES = 16
# Bytes no text file holds: C0 controls but tab, line feed, form feed, carriage return and
# (old DOS end of file) SUB, and the five bytes Windows-1252 leaves undefined.
_NOT_TEXT = frozenset(set(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D, 0x1A}) | {0x7F, 0x81, 0x8D, 0x8F, 0x90, 0x9D}


class ContentCheck:
    """Whether a file's bytes are what its content type says, fed chunk by chunk as it streams."""

    def __init__(self, content_type: str) -> None:
        self.signature = SIGNATURES.get(content_type)
        self.head = b""
        self.text = content_type in TEXT_TYPES
        self.decoder = codecs.getincrementaldecoder("utf-8")() if self.text else None
        self.utf8 = True
        self.plain = True  # no byte that text never holds

    def feed(self, chunk: bytes) -> None:
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
        if not self.text or not self.plain:
            return
        self.plain = _NOT_TEXT.isdisjoint(chunk)
        if self.utf8 and self.decoder is not None:
            try:
                self.decoder.decode(chunk)
            except UnicodeDecodeError:
                self.utf8 = False  # still text, if single-byte

    def passed(self) -> bool:
        if self.text:
            if not self.plain:
                return False
            if self.utf8 and self.decoder is not None:
                try:
                    self.decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    self.utf8 = False
            return True  # UTF-8, or single-byte text
        return self.signature is None or self.signature(self.head)


class Upload(Protocol):
    """What Strawberry hands a resolver for an `Upload` (Starlette's UploadFile)."""

    filename: str | None
    content_type: str | None

    async def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True)
class StagedFile:
    temp_path: Path
    file_name: str
    content_type: str
    size: int
    sha256: str


def sanitize_file_name(raw: str | None) -> str:
    """The last path segment, NFC, without control or shell-special characters, at most 255 bytes."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = _UNSAFE.sub("_", name).strip().strip(".").strip()
    if not name:
        return "file"
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    extension = extension[:20]
    suffix = f".{extension}" if extension else ""
    while len((stem + suffix).encode()) > 255:
        stem = stem[:-1]
    return (stem or "file") + suffix


def content_type_of(upload: Upload, file_name: str) -> str:
    declared = (upload.content_type or "").split(";", 1)[0].strip().lower()
    if declared and declared != "application/octet-stream":
        return declared
    guessed, _ = mimetypes.guess_type(file_name)
    return (guessed or "application/octet-stream").lower()


def blob_path(settings: Settings, sha256: str) -> Path:
    return settings.upload_dir / sha256[:2] / sha256


async def stage_uploads(settings: Settings, uploads: list[Upload]) -> list[StagedFile]:
    """Check and stage every file; on any refusal, remove what was staged and raise a TicketError."""
    if len(uploads) > MAX_FILES_PER_MESSAGE:
        raise TicketError(
            TicketErrorCode.TOO_MANY_FILES,
            f"At most {MAX_FILES_PER_MESSAGE} files per message.",
            "files",
        )
    staged: list[StagedFile] = []
    try:
        for upload in uploads:
            staged.append(await _stage_one(settings, upload))
    except BaseException:
        discard(staged)
        raise
    return staged


async def _stage_one(settings: Settings, upload: Upload) -> StagedFile:
    file_name = sanitize_file_name(upload.filename)
    content_type = content_type_of(upload, file_name)
    if content_type not in settings.upload_allowed_types:
        raise TicketError(
            TicketErrorCode.FILE_TYPE_REFUSED,
            f"Files of type {content_type} are not accepted ({file_name}).",
            "files",
        )
    directory = settings.upload_dir / "tmp"
    directory.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=directory, prefix="upload-")
    temp_path = Path(name)
    digest = hashlib.sha256()
    content = ContentCheck(content_type)
    size = 0
    try:
        with os.fdopen(handle, "wb") as output:
            while chunk := await upload.read(CHUNK):
                size += len(chunk)
                if size > settings.upload_max_bytes:
                    raise TicketError(
                        TicketErrorCode.FILE_TOO_LARGE,
                        f"{file_name} is larger than {settings.upload_max_bytes} bytes.",
                        "files",
                    )
                digest.update(chunk)
                content.feed(chunk)
                output.write(chunk)
            if not content.passed():
                raise TicketError(
                    TicketErrorCode.FILE_CONTENT_REFUSED,
                    f"{file_name} is not a {content_type} file: its content says otherwise.",
                    "files",
                )
            output.flush()
            os.fsync(output.fileno())
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise
    return StagedFile(temp_path, file_name, content_type, size, digest.hexdigest())


def store(settings: Settings, staged: list[StagedFile]) -> None:
    """Move staged files under their content hash (an existing blob with that hash is kept)."""
    for item in staged:
        final = blob_path(settings, item.sha256)
        if final.exists():
            item.temp_path.unlink(missing_ok=True)
            continue
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(item.temp_path, final)


def discard(staged: list[StagedFile]) -> None:
    for item in staged:
        with contextlib.suppress(OSError):
            item.temp_path.unlink(missing_ok=True)
