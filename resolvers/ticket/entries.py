"""The ticket form's catalogs (subject, product, occurrence): an id where the catalog has active entries,
free text only where it has none."""

from __future__ import annotations

from typing import Any

from tortoise.models import Model

from models.ticket_catalog import Occurrence, Product, TicketSubject
from resolvers.errors import TicketError, TicketErrorCode

# column -> (catalog, the id's input name, the text's label)
FORM_ENTRIES: dict[str, tuple[type[Model], str, str]] = {
    "subject": (TicketSubject, "subjectId", "subject"),
    "product": (Product, "productId", "product"),
    "occurrence": (Occurrence, "occurrenceId", "occurrence"),
}


async def form_entries(ids: dict[str, int | None], texts: dict[str, str | None]) -> dict[str, Any]:
    """The ticket's `<column>_entry_id` and, from an entry, its name as the column's text.

    With an id: an active entry (UNKNOWN_CATALOG_ENTRY), whose name becomes the text. Without: free
    text is refused where the catalog has an active entry (CATALOG_ENTRY_REQUIRED), and so is a
    missing subject; an optional product or occurrence may stay empty."""
    values: dict[str, Any] = {}
    for column, (model, id_field, _) in FORM_ENTRIES.items():
        entry_id = ids.get(column)
        if entry_id is not None:
            row = await model.get_or_none(id=entry_id, active=True)
            if row is None:
                raise TicketError(
                    TicketErrorCode.UNKNOWN_CATALOG_ENTRY, f"No such active {column}.", id_field
                )
            values[column] = row.name  # type: ignore[attr-defined]
            values[f"{column}_entry_id"] = row.pk
            continue
        text = (texts.get(column) or "").strip()
        if (text or column == "subject") and await model.filter(active=True).exists():
            raise TicketError(
                TicketErrorCode.CATALOG_ENTRY_REQUIRED, f"Choose the {column} from its catalog.", id_field
            )
        values[f"{column}_entry_id"] = None
    return values


async def edited_entries(ids: dict[str, int], texts: dict[str, str], cleared: set[str]) -> dict[str, Any]:
    """For ticketUpdate, the columns of each form field the edit names, by ticketOpen's rules: an id is an
    active entry (UNKNOWN_CATALOG_ENTRY), whose name becomes the text; a text alone is free text, refused
    while the catalog has an active entry (CATALOG_ENTRY_REQUIRED) and leaving no entry; a cleared field
    (product, occurrence) loses its entry too. Fields the edit leaves out keep theirs."""
    values: dict[str, Any] = {}
    for column, (model, id_field, _) in FORM_ENTRIES.items():
        entry_id = ids.get(column)
        if entry_id is not None:
            row = await model.get_or_none(id=entry_id, active=True)
            if row is None:
                raise TicketError(TicketErrorCode.UNKNOWN_CATALOG_ENTRY, f"No such active {column}.", id_field)
            values[column] = row.name  # type: ignore[attr-defined]
            values[f"{column}_entry_id"] = row.pk
        elif column in cleared:
            values[column] = values[f"{column}_entry_id"] = None
        elif column in texts:
            if await model.filter(active=True).exists():
                raise TicketError(
                    TicketErrorCode.CATALOG_ENTRY_REQUIRED, f"Choose the {column} from its catalog.", id_field
                )
            values[f"{column}_entry_id"] = None
    return values
