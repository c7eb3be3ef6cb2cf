"""Persisted documents: Automatic Persisted Queries, and the trusted-documents mode.

Both read Apollo's request extension `{"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}`
(over POST, GET and WebSocket `subscribe`):

- **APQ** (the default): a client sends the hash alone; on a miss it gets `PersistedQueryNotFound`
  (code `PERSISTED_QUERY_NOT_FOUND`) and sends the hash with the text, which registers it once the
  hash is checked against the text. Hashed GETs let a browser or CDN cache a dashboard's reads. The
  cache is per process and bounded (APQ_CACHE_SIZE documents, MAX_CACHED_CHARACTERS of text, the
  least recently used dropped first): a client that meets another process re-registers, as the
  protocol expects.
- **Trusted documents** (TRUSTED_DOCUMENTS=manifest.json): only the manifest's documents run,
  asked for by hash or by their exact text; anything else is refused with
  `PERSISTED_QUERY_NOT_IN_LIST`. The manifest is GraphQL Codegen's `persisted-documents.json`
  (`{"<hash>": "<document>"}`) or Apollo's persisted query manifest. Its documents are parsed,
  validated and planned once, when the server starts (schema/prepared.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contato.settings import Settings, SettingsError
from schema.prepared import DocumentRefused, prepare_document

logger = logging.getLogger("contato.persisted")

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
BAD_REQUEST = "PERSISTED_QUERY_BAD_REQUEST"

# All the text the APQ cache keeps, whatever APQ_CACHE_SIZE says.
MAX_CACHED_CHARACTERS = 32 * 1024 * 1024


class PersistedDocumentError(Exception):
    """A request the persisted-document rules refuse; `code` goes to the error's extensions."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def as_error(self) -> dict[str, Any]:
        return {"message": self.message, "extensions": {"code": self.code}}


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def requested_hash(extensions: object) -> str | None:
    """The document hash a request asks for, or None when it carries no `persistedQuery`."""
    if not isinstance(extensions, dict) or extensions.get("persistedQuery") is None:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, dict):
        raise PersistedDocumentError("extensions.persistedQuery must be an object.", BAD_REQUEST)
    if persisted.get("version", 1) != 1:
        raise PersistedDocumentError("Only version 1 of persistedQuery is supported.", BAD_REQUEST)
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not digest:
        raise PersistedDocumentError("extensions.persistedQuery.sha256Hash must be a string.", BAD_REQUEST)
    return digest


class AutomaticPersistedQueries:
    """Texts by their SHA-256, least recently used dropped first."""

    def __init__(self, max_documents: int, max_characters: int = MAX_CACHED_CHARACTERS) -> None:
        self.max_documents = max_documents
        self.max_characters = max_characters
        self.characters = 0
        self._texts: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._texts)

    def resolve(self, query: str | None, digest: str) -> str:
        if query is None:
            text = self._texts.get(digest.lower())
            if text is None:
                raise PersistedDocumentError("PersistedQueryNotFound", NOT_FOUND)
            self._texts.move_to_end(digest.lower())
            return text
        if not hmac.compare_digest(sha256_hex(query), digest.lower()):
            raise PersistedDocumentError(
                "persistedQuery.sha256Hash is not the SHA-256 of the query text.", HASH_MISMATCH
            )
        self._store(digest.lower(), query)
        return query

    def _store(self, digest: str, text: str) -> None:
        if digest in self._texts:
            self._texts.move_to_end(digest)
            return
        if len(text) > self.max_characters:
            return
        self._texts[digest] = text
        self.characters += len(text)
        while len(self._texts) > self.max_documents or self.characters > self.max_characters:
            _, dropped = self._texts.popitem(last=False)
            self.characters -= len(dropped)


@dataclass(frozen=True)
class TrustedDocuments:
    """The manifest: documents by hash, and the hash of each text."""

    by_hash: dict[str, str]
    source: Path

    @property
    def hash_by_text(self) -> dict[str, str]:
        return {text: digest for digest, text in self.by_hash.items()}

    @classmethod
    def load(cls, path: Path) -> TrustedDocuments:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise SettingsError(f"TRUSTED_DOCUMENTS={str(path)!r} cannot be read: {error.strerror}") from None
        except ValueError as error:
            raise SettingsError(f"TRUSTED_DOCUMENTS={str(path)!r} is not JSON: {error}") from None
        if isinstance(raw, dict) and isinstance(raw.get("operations"), list):
            # Apollo's persisted query manifest: {"format": …, "operations": [{"id", "body", …}]}
            pairs = [(item.get("id"), item.get("body")) for item in raw["operations"] if isinstance(item, dict)]
        elif isinstance(raw, dict):
            pairs = list(raw.items())
        else:
            pairs = []
        documents = {digest: text for digest, text in pairs if isinstance(digest, str) and isinstance(text, str)}
        if not documents or len(documents) != len(pairs):
            raise SettingsError(
                f"TRUSTED_DOCUMENTS={str(path)!r} must map document hashes to document texts "
                '({"<hash>": "<document>"}, as GraphQL Codegen\'s persisted-documents.json)'
            )
        return cls({digest.lower(): text for digest, text in documents.items()}, path)

    async def prepare(self, schema: Any, settings: Settings, *, plan: bool = True) -> int:
        """Parse, validate and (with the ORM initialised) plan every document; returns how many
        query plans were made."""
        planned = 0
        for digest, text in self.by_hash.items():
            try:
                prepared = await prepare_document(schema, schema.pinned, text, settings.max_tokens, plan=plan)
            except DocumentRefused as refused:
                raise SettingsError(
                    f"TRUSTED_DOCUMENTS={str(self.source)!r}: document {digest} is not valid: {refused}"
                ) from None
            planned += prepared.planned
        if plan:
            logger.info(
                "trusted documents: %d from %s prepared (%d compiled query plans)",
                len(self.by_hash), self.source, planned,
            )
        return planned


class PersistedDocuments:
    """What the GraphQL view asks: the text to run for a request's `query` and `extensions`."""

    def __init__(self, settings: Settings, trusted: TrustedDocuments | None = None) -> None:
        self.trusted = trusted
        self._listed_texts = trusted.hash_by_text if trusted is not None else {}
        self.apq = AutomaticPersistedQueries(settings.apq_cache_size) if settings.apq_cache_size else None

    @classmethod
    def from_settings(cls, settings: Settings) -> PersistedDocuments:
        trusted = TrustedDocuments.load(settings.trusted_documents) if settings.trusted_documents else None
        return cls(settings, trusted)

    def resolve(self, query: object, extensions: object) -> object:
        """The query text to execute (the request's own `query` when nothing applies: a query that is
        not a string is Strawberry's to refuse), or PersistedDocumentError."""
        digest = requested_hash(extensions)
        text = query if isinstance(query, str) else None
        if self.trusted is not None:
            return self._trusted(text, digest)
        if digest is None:
            return query
        if self.apq is None:
            raise PersistedDocumentError(
                "Persisted queries are off on this server (APQ_CACHE_SIZE=0): send the query text.",
                NOT_FOUND,
            )
        return self.apq.resolve(text, digest)

    def _trusted(self, query: str | None, digest: str | None) -> str:
        if digest is not None:
            listed = self.trusted.by_hash.get(digest.lower()) if self.trusted else None
            if listed is None:
                raise PersistedDocumentError(
                    f"No document {digest} in this server's trusted documents (TRUSTED_DOCUMENTS): "
                    "only registered documents run.",
                    NOT_IN_LIST,
                )
            if query is not None and query != listed:
                raise PersistedDocumentError(
                    "The query text is not the registered document for persistedQuery.sha256Hash.",
                    HASH_MISMATCH,
                )
            return listed
        if query is not None and query in self._listed_texts:
            return query
        raise PersistedDocumentError(
            "This server runs only its registered documents (TRUSTED_DOCUMENTS): send a registered "
            "document's hash in extensions.persistedQuery.sha256Hash.",
            NOT_IN_LIST,
        )


def check_trusted_documents(settings: Settings) -> None:
    """Load and prepare the manifest against a schema of these settings (for `contato serve` to stop
    with one line before starting workers); SettingsError says what is wrong."""
    import asyncio

    from schema import build_schema

    if settings.trusted_documents is None:
        return
    trusted = TrustedDocuments.load(settings.trusted_documents)
    asyncio.run(trusted.prepare(build_schema(settings), settings, plan=False))
