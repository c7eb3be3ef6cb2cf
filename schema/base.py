"""Shared schema pieces: the typed Info alias and a Node-free ID helper."""

from __future__ import annotations

import strawberry

from resolvers.context import Context

Info = strawberry.Info[Context, None]
