"""Caches keyed by a parsed document's identity.

ParserCache hands out the same DocumentNode for the same text, so what is worked out from a document
(its validation, whether it holds a NUL, its compiled plans) can be kept by the node's identity. Not
functools.lru_cache: AST nodes are frozen dataclasses, whose hash walks the whole tree on every call
(about 30 µs for the agent queue page) and whose equality compares it node by node.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from graphql import DocumentNode

V = TypeVar("V")


class DocumentCache(Generic[V]):
    """At most `maxsize` values, by (document identity, key), the least recently used dropped first."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.hits = self.misses = 0
        self._entries: OrderedDict[tuple[int, Hashable], tuple[DocumentNode, V]] = OrderedDict()

    def get(self, document: DocumentNode, key: Hashable, compute: Callable[[], V]) -> V:
        slot = (id(document), key)
        entry = self._entries.get(slot)
        if entry is not None:
            self.hits += 1
            self._entries.move_to_end(slot)
            return entry[1]
        self.misses += 1
        value = compute()
        # The entry keeps the node alive, so no other document can take its id meanwhile.
        self._entries[slot] = (document, value)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)
