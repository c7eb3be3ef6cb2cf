"""One DataLoader per relation, built per request (and per subscription event).

`RowLoaders` hold rows, never decisions: the rows of one request, or of one live event shared by
every subscriber it reaches (their loads batch into one query). Fields never read them directly:
`Context.loaders` hands out `Loaders`, the same relations as one viewer may see them (see
resolvers/scope.py): each scoped batch function loads through the shared row loader and keeps
what the viewer's Scope sees, so a nested field gets no hidden row whichever field reaches it,
and costs no statement of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader
from tortoise.functions import Count
from tortoise.models import Model

from models.campaign import Campaign, CampaignAgent, CampaignMember, CampaignScript, CampaignStage
from models.catalog import ContactChannel
from models.company import Company
from models.floor import PauseReason
from models.history import REP_TICKET_KINDS, MemberEvent, TicketHistoryEntry
from models.operation import Callback, Operation
from models.outbound import (
    ActionType,
    ContactResult,
    Justification,
    JustificationResult,
    NoContactReason,
    Script,
    ScriptAnswer,
)
from models.person import Person
from models.ticket import Attachment, NonConformity, OutboxMail, Ticket, TicketAction, TicketMessage
from models.ticket_catalog import (
    ActionDefinition,
    ClosureReason,
    ContactCategory,
    ContactSubtype,
    ContactType,
    ContactTypeStatus,
    Occurrence,
    Product,
    TicketClassification,
    TicketStatus,
    TicketSubject,
)
from models.user import User
from resolvers.scope import Scope

M = TypeVar("M", bound=Model)
K = TypeVar("K")


async def _by_id(model: type[M], keys: Sequence[int]) -> list[M | None]:
    rows = await model.filter(id__in=set(keys))
    found = {row.pk: row for row in rows}
    return [found.get(key) for key in keys]


def _loader(model: type[M]) -> DataLoader[int, M | None]:
    async def load(keys: list[int]) -> list[M | None]:
        return await _by_id(model, keys)

    return DataLoader(load_fn=load)


def _many(model: type[M], key: str, order: tuple[str, ...]) -> DataLoader[int, list[M]]:
    """Rows grouped by a foreign key, in `order`, for many parents in one query."""

    async def load(keys: list[int]) -> list[list[M]]:
        grouped: dict[int, list[M]] = {key_value: [] for key_value in keys}
        for row in await model.filter(**{f"{key}__in": set(keys)}).order_by(*order):
            grouped[getattr(row, key)].append(row)
        return [grouped[key_value] for key_value in keys]

    return DataLoader(load_fn=load)


def _grouped_loader(model: type[M], column: str) -> DataLoader[int, list[M]]:
    """All rows whose `column` is each key, in id order: for small child lists (files, subtypes…)."""

    async def load(keys: list[int]) -> list[list[M]]:
        groups: dict[int, list[M]] = {key: [] for key in keys}
        for row in await model.filter(**{f"{column}__in": set(keys)}).order_by("id"):
            groups[getattr(row, column)].append(row)
        return [groups[key] for key in keys]

    return DataLoader(load_fn=load)


@dataclass(frozen=True)
class MessagePageKey:
    """One page of one ticket's thread: the first `size` messages after `after_id` (0: from the
    start), or with `backward` the last `size` before `before_id` (0: from the end)."""

    ticket_id: int
    size: int
    after_id: int = 0
    include_internal: bool = True
    before_id: int = 0
    backward: bool = False


# The columns message_pages_sql selects, in order.
MESSAGE_PAGE_COLUMNS = ("id", "ticket_id", "author_id", "body", "internal", "created_at")


def message_pages_sql(
    ticket_ids: Iterable[int], size: int, after_id: int, include_internal: bool, before_id: int = 0,
    backward: bool = False,
) -> str:
    """The first `size` messages after `after_id` of every ticket (the last `size` before `before_id`,
    newest first, when `backward`), in one windowed query (ROW_NUMBER() keeps the first N of each),
    ordered by ticket and then as read."""
    ids = ", ".join(str(int(ticket_id)) for ticket_id in sorted(ticket_ids))
    internal = "" if include_internal else " AND internal = false"
    columns = ", ".join(MESSAGE_PAGE_COLUMNS)
    bounds = f" AND id > {int(after_id)}" if after_id else ""
    bounds += f" AND id < {int(before_id)}" if before_id else ""
    order = "id DESC" if backward else "id"
    return (
        f"SELECT {columns} FROM ("
        f"SELECT {columns}, "
        f"ROW_NUMBER() OVER (PARTITION BY ticket_id ORDER BY {order}) AS position "
        f"FROM ticket_message WHERE ticket_id IN ({ids}){bounds}{internal}"
        f") ranked WHERE position <= {int(size)} ORDER BY ticket_id, {order}"
    )


async def _message_pages(keys: list[MessagePageKey]) -> list[list[TicketMessage]]:
    # One windowed query per distinct page shape.
    found: dict[MessagePageKey, list[TicketMessage]] = {key: [] for key in keys}
    shapes: dict[MessagePageKey, set[int]] = {}
    for key in keys:
        shapes.setdefault(replace(key, ticket_id=0), set()).add(key.ticket_id)
    for shape, ticket_ids in shapes.items():
        rows = await TicketMessage.raw(
            message_pages_sql(
                ticket_ids, shape.size, shape.after_id, shape.include_internal, shape.before_id, shape.backward
            )
        )
        by_ticket: dict[int, list[TicketMessage]] = {}
        for row in rows:  # type: ignore[union-attr]
            by_ticket.setdefault(row.ticket_id, []).append(row)
        for key in keys:
            if replace(key, ticket_id=0) == shape:
                found[key] = by_ticket.get(key.ticket_id, [])
    return [found[key] for key in keys]


@dataclass(frozen=True)
class MessageCountKey:
    ticket_id: int
    include_internal: bool = True


async def _message_counts(keys: list[MessageCountKey]) -> list[int]:
    """Messages per ticket (without internal notes where asked): one GROUP BY per kind of key."""
    found: dict[MessageCountKey, int] = {}
    for include_internal in {key.include_internal for key in keys}:
        ticket_ids = {key.ticket_id for key in keys if key.include_internal == include_internal}
        queryset = TicketMessage.filter(ticket_id__in=ticket_ids)
        if not include_internal:
            queryset = queryset.filter(internal=False)
        rows = await queryset.annotate(count=Count("id")).group_by("ticket_id").values_list("ticket_id", "count")
        counts = dict(rows)
        for ticket_id in ticket_ids:
            found[MessageCountKey(ticket_id, include_internal)] = counts.get(ticket_id, 0)
    return [found[key] for key in keys]


async def _statuses_by_contact_type(keys: list[int]) -> list[list[TicketStatus]]:
    links = await ContactTypeStatus.filter(contact_type_id__in=set(keys)).order_by("id")
    statuses = {row.pk: row for row in await TicketStatus.filter(id__in={link.status_id for link in links})}
    groups: dict[int, list[TicketStatus]] = {key: [] for key in keys}
    for link in links:
        groups[link.contact_type_id].append(statuses[link.status_id])
    return [groups[key] for key in keys]


class RowLoaders:
    """Rows by key, whoever asks (never handed to fields: see `seen_by`).

    `shared`: the loaders of a live event, which every subscriber it reaches in this process
    uses (resolvers/realtime.py). A DataLoader hands every caller of one key the same future, and
    a task cancelled while it awaits a future cancels that future: one subscriber leaving mid-event
    would cancel the load under every other one, whose streams then stopped without a word. Shared
    loaders, and the views made of them, hand each caller a shield of the future instead."""

    def __init__(self, shared: bool = False) -> None:
        self.shared = shared
        self.company_by_id = _loader(Company)
        self.person_by_id = _loader(Person)
        self.user_by_id = _loader(User)
        self.ticket_by_id = _loader(Ticket)
        self.ticket_status_by_id = _loader(TicketStatus)
        self.ticket_classification_by_id = _loader(TicketClassification)
        self.contact_type_by_id = _loader(ContactType)
        self.contact_category_by_id = _loader(ContactCategory)
        self.ticket_subject_by_id = _loader(TicketSubject)
        self.product_by_id = _loader(Product)
        self.occurrence_by_id = _loader(Occurrence)
        self.contact_subtype_by_id = _loader(ContactSubtype)
        self.contact_channel_by_id = _loader(ContactChannel)
        self.closure_reason_by_id = _loader(ClosureReason)
        self.action_definition_by_id = _loader(ActionDefinition)
        self.non_conformity_by_id = _loader(NonConformity)
        self.attachments_by_message = _grouped_loader(Attachment, "message_id")
        self.tickets_by_parent = _grouped_loader(Ticket, "parent_id")
        self.ticket_actions_by_ticket = _grouped_loader(TicketAction, "ticket_id")
        self.ticket_classifications_by_parent = _grouped_loader(TicketClassification, "parent_id")
        self.contact_subtypes_by_contact_type = _grouped_loader(ContactSubtype, "contact_type_id")
        self.ticket_statuses_by_contact_type: DataLoader[int, list[TicketStatus]] = DataLoader(
            load_fn=_statuses_by_contact_type
        )
        self.ticket_messages_by_ticket: DataLoader[MessagePageKey, list[TicketMessage]] = DataLoader(
            load_fn=_message_pages
        )
        self.message_count_by_ticket: DataLoader[MessageCountKey, int] = DataLoader(load_fn=_message_counts)
        self.ticket_message_by_id = _loader(TicketMessage)
        self.contact_channel_by_id = _loader(ContactChannel)
        self.contact_result_by_id = _loader(ContactResult)
        self.justification_by_id = _loader(Justification)
        self.action_type_by_id = _loader(ActionType)
        self.script_by_id = _loader(Script)
        self.no_contact_reason_by_id = _loader(NoContactReason)
        self.campaign_by_id = _loader(Campaign)
        self.campaign_stage_by_id = _loader(CampaignStage)
        self.campaign_member_by_id = _loader(CampaignMember)
        self.operation_by_id = _loader(Operation)
        self.callback_by_id = _loader(Callback)
        self.pause_reason_by_id = _loader(PauseReason)
        self.stages_by_campaign = _many(CampaignStage, "campaign_id", ("position", "id"))
        self.agent_links_by_campaign = _many(CampaignAgent, "campaign_id", ("agent_id",))
        self.script_links_by_campaign = _many(CampaignScript, "campaign_id", ("position",))
        self.script_answers_by_operation = _many(ScriptAnswer, "operation_id", ("position",))
        self.result_links_by_justification = _many(JustificationResult, "justification_id", ("result_id",))
        self.justification_links_by_result = _many(JustificationResult, "result_id", ("justification_id",))
        self.operations_by_member = _many(Operation, "member_id", ("-id",))
        self.operations_by_person = _many(Operation, "person_id", ("-id",))
        self.ticket_history_by_ticket = _many(TicketHistoryEntry, "ticket_id", ("id",))
        self.ticket_emails_by_ticket = _many(OutboxMail, "ticket_id", ("id",))
        self.member_events_by_member = _many(MemberEvent, "member_id", ("id",))
        self.tickets_by_person = _many(Ticket, "person_id", ("-id",))
        self.members_by_person = _many(CampaignMember, "person_id", ("id",))
        self.member_counts_by_campaign: DataLoader[int, dict[str, int]] = DataLoader(
            load_fn=_member_counts_by_campaign
        )
        self.campaign_ids_by_agent: DataLoader[int, set[int]] = DataLoader(load_fn=_campaign_ids_by_agent)
        self.listed_by_number: DataLoader[str, bool] = DataLoader(load_fn=_listed_by_number)

        self._views: dict[Scope, Loaders] = {}
        if shared:
            shield_loads(self)

    def seen_by(self, scope: Scope) -> Loaders:
        """These rows as `scope` may see them (one set of loaders per scope, batching through these)."""
        view = self._views.get(scope)
        if view is None:
            view = self._views[scope] = Loaders(self, scope)
        return view


class Loaders(RowLoaders):
    """The loaders fields use: `rows` as one viewer may see them. Relations no rule limits (catalogs,
    stages, users' rows: what a viewer sees of a user is decided by `Scope.reads_user` where the
    user is shown) are the row loaders themselves."""

    def __init__(self, rows: RowLoaders, scope: Scope) -> None:
        vars(self).update({name: value for name, value in vars(rows).items() if name != "_views"})
        self.rows = rows
        self.scope = scope
        if scope.own_company_only:
            self.company_by_id = _kept(rows.company_by_id, lambda row: scope.sees_company(row.pk))
            self.person_by_id = _kept(rows.person_by_id, lambda row: scope.sees_person(row.company_id))
        if not scope.sees_every_ticket:
            def sees(ticket: Ticket) -> bool:
                return scope.sees_ticket(ticket.company_id, ticket.assignee_id)

            self.ticket_by_id = _kept(rows.ticket_by_id, sees)
            self.tickets_by_parent = _kept_in_lists(rows.tickets_by_parent, sees)
            self.tickets_by_person = _kept_in_lists(rows.tickets_by_person, sees)
        if scope.is_operator and not scope.is_staff and scope.user_id is not None:
            self.members_by_person = _in_campaigns_of(rows, scope.user_id)
        if not scope.sees_operator_records:
            self.ticket_messages_by_ticket = DataLoader(load_fn=_public_messages(rows.ticket_messages_by_ticket))
            self.message_count_by_ticket = DataLoader(load_fn=_public_messages(rows.message_count_by_ticket))
            self.ticket_message_by_id = _kept(rows.ticket_message_by_id, lambda row: not row.internal)
            self.ticket_actions_by_ticket = _no_lists()
            self.non_conformity_by_id = _none()
            self.campaign_by_id = _none()
            self.campaign_member_by_id = _none()
            self.operation_by_id = _none()
            self.callback_by_id = _none()
            self.operations_by_member = _no_lists()
            self.operations_by_person = _no_lists()
            self.script_answers_by_operation = _no_lists()
            self.member_events_by_member = _no_lists()
            self.ticket_emails_by_ticket = _no_lists()
            self.ticket_history_by_ticket = _kept_in_lists(
                rows.ticket_history_by_ticket, lambda row: row.kind in REP_TICKET_KINDS
            )
            self.members_by_person = _no_lists()
        if rows.shared:
            shield_loads(self)

    def seen_by(self, scope: Scope) -> Loaders:
        return self.rows.seen_by(scope)


def shield_loads(loaders: RowLoaders) -> None:
    """Every DataLoader of `loaders` hands its callers a shield of the future it shares."""
    for loader in vars(loaders).values():
        if isinstance(loader, DataLoader) and not isinstance(loader.load, _ShieldedLoad):
            loader.load = _ShieldedLoad(loader.load)  # type: ignore[method-assign]


class _ShieldedLoad:
    __slots__ = ("load",)

    def __init__(self, load: Callable[[Any], Awaitable[Any]]) -> None:
        self.load = load

    def __call__(self, key: Any) -> Awaitable[Any]:
        return asyncio.shield(self.load(key))


def _kept(rows: DataLoader[K, M | None], keep: Callable[[M], bool]) -> DataLoader[K, M | None]:
    async def load(keys: list[K]) -> list[M | None]:
        return [row if row is not None and keep(row) else None for row in await rows.load_many(keys)]

    return DataLoader(load_fn=load)


def _kept_in_lists(rows: DataLoader[K, list[M]], keep: Callable[[M], bool]) -> DataLoader[K, list[M]]:
    async def load(keys: list[K]) -> list[list[M]]:
        return [[row for row in group if keep(row)] for group in await rows.load_many(keys)]

    return DataLoader(load_fn=load)


def _in_campaigns_of(rows: RowLoaders, agent_id: int) -> DataLoader[int, list[CampaignMember]]:
    """A person's memberships as an agent sees them: in the campaigns the agent is assigned to."""

    async def load(keys: list[int]) -> list[list[CampaignMember]]:
        groups = await rows.members_by_person.load_many(keys)
        assigned = await rows.campaign_ids_by_agent.load(agent_id)
        return [[row for row in group if row.campaign_id in assigned] for group in groups]

    return DataLoader(load_fn=load)


def _public_messages(rows: DataLoader[K, M]) -> Callable[[list[K]], Awaitable[list[M]]]:
    """The thread (or its count) without internal notes, whatever the key asks."""

    async def load(keys: list[K]) -> list[M]:
        return await rows.load_many([replace(key, include_internal=False) for key in keys])  # type: ignore[type-var]

    return load


def _none() -> DataLoader[Any, Any]:
    async def load(keys: list[Any]) -> list[None]:
        return [None] * len(keys)

    return DataLoader(load_fn=load)


def _no_lists() -> DataLoader[Any, Any]:
    async def load(keys: list[Any]) -> list[list[Any]]:
        return [[] for _ in keys]

    return DataLoader(load_fn=load)


async def _member_counts_by_campaign(keys: list[int]) -> list[dict[str, int]]:
    """Members of each campaign by queue status: one GROUP BY for every campaign asked."""
    groups: dict[int, dict[str, int]] = {key: {} for key in keys}
    rows = await (
        CampaignMember.filter(campaign_id__in=set(keys))
        .annotate(count=Count("id"))
        .group_by("campaign_id", "status")
        .values_list("campaign_id", "status", "count")
    )
    for campaign_id, status, count in rows:
        groups[campaign_id][str(getattr(status, "value", status))] = count
    return [groups[key] for key in keys]


async def _campaign_ids_by_agent(keys: list[int]) -> list[set[int]]:
    """The campaigns each user is assigned to (what an agent may see of outbound work)."""
    groups: dict[int, set[int]] = {key: set() for key in keys}
    for agent_id, campaign_id in await CampaignAgent.filter(agent_id__in=set(keys)).values_list(
        "agent_id", "campaign_id"
    ):
        groups[agent_id].add(campaign_id)
    return [groups[key] for key in keys]


async def _listed_by_number(keys: list[str]) -> list[bool]:
    """Whether each register key (resolvers/do_not_call.py) is on the do-not-call register now."""
    from resolvers.campaign import rules
    from resolvers.do_not_call import listed_numbers  # below loaders in the import order

    listed = await listed_numbers(keys, rules.utc_now())
    return [key in listed for key in keys]
