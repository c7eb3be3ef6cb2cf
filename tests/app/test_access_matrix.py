"""Every query and mutation of the schema, tried across the boundaries of company and campaign.

The operations are read from the schema, so a new one is covered the day it is added. A "secret"
world is created first, so that id 1 of every table belongs to it: company A with its person,
rep and ticket (with a message), and a campaign worked by agent A (member, operation, callback).
Then, with every ID argument set to "1":

- anonymous callers get UNAUTHENTICATED for everything but `login`;
- a rep of company B and an agent who does not work the campaign read nothing marked SECRET
  (through selections that reach three levels into every result), and no mutation of theirs
  changes the secret rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
)

from contato.settings import Settings
from models.campaign import Campaign, CampaignMember
from models.company import Company
from models.operation import Callback, Operation
from models.person import Person
from models.ticket import Ticket, TicketMessage
from models.user import Role, User
from resolvers.context import Context
from schema import build_schema
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound
from tests.ticket_factories import TicketFactory

SETTINGS = Settings(
    environment="test", password_hash_profile="CHEAPEST", max_tokens=50_000, max_aliases=100, max_query_cost=10**9
)
SCHEMA: GraphQLSchema = build_schema(SETTINGS)._schema
QUERIES = sorted(SCHEMA.query_type.fields) if SCHEMA.query_type else []
MUTATIONS = sorted(SCHEMA.mutation_type.fields) if SCHEMA.mutation_type else []
# Reps legitimately see person names of other companies nowhere, agents see every person.
REP_SECRETS = ("SECRET",)
AGENT_SECRETS = ("SECRET-CAMPAIGN", "SECRET-TICKET", "SECRET-MESSAGE", "SECRET-NOTES")


def _value(kind: GraphQLInputType, depth: int = 0) -> Any:
    if isinstance(kind, GraphQLNonNull):
        return _value(kind.of_type, depth)
    if isinstance(kind, GraphQLList):
        return [_value(kind.of_type, depth)]
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, GraphQLInputObjectType):
        return {
            name: _value(field.type, depth + 1)
            for name, field in kind.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is None or name.endswith("Id")
        }
    assert isinstance(kind, GraphQLScalarType)
    return {
        "ID": "1",
        "Int": 1,
        "Float": 1.0,
        "String": "x",
        "Boolean": False,
        "Date": date.today().isoformat(),
        "DateTime": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        "Upload": None,
    }.get(kind.name, "x")


def _selection(kind: Any, depth: int) -> str:
    named = get_named_type(kind)
    if isinstance(named, GraphQLUnionType):
        return "{ __typename " + " ".join(f"... on {member.name} {_selection(member, depth)}" for member in named.types) + " }"
    if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType)):
        parts = ["__typename"]
        for name, field in named.fields.items():
            if any(isinstance(arg.type, GraphQLNonNull) for arg in field.args.values()):
                continue
            inner = get_named_type(field.type)
            if isinstance(inner, (GraphQLScalarType, GraphQLEnumType)):
                parts.append(name)
            elif depth > 0:
                parts.append(f"{name} {_selection(field.type, depth - 1)}")
        return "{ " + " ".join(parts) + " }"
    return ""


def document(operation: str, name: str, field: GraphQLField) -> tuple[str, dict[str, Any]]:
    required = {arg_name: arg for arg_name, arg in field.args.items() if isinstance(arg.type, GraphQLNonNull)}
    optional_ids = {
        arg_name: arg for arg_name, arg in field.args.items()
        if arg_name not in required and str(arg.type) == "ID" and arg_name != "after"
    }
    arguments = {**required, **optional_ids}
    variables = {arg_name: _value(arg.type) for arg_name, arg in arguments.items()}
    declared = ", ".join(f"${arg_name}: {arg.type}" for arg_name, arg in arguments.items())
    passed = ", ".join(f"{arg_name}: ${arg_name}" for arg_name in arguments)
    text = f"{operation}{f'({declared})' if declared else ''} {{ {name}{f'({passed})' if passed else ''} "
    text += _selection(field.type, 3) + " }"
    return text, {key: value for key, value in variables.items() if value is not None}


@dataclass
class World:
    company: Company
    person: Person
    campaign: Campaign
    ticket: Ticket
    rep_b: User
    agent_b: User

    async def intact(self) -> list[str]:
        """What a foreign caller changed in the secret rows (nothing, we expect)."""
        changed = []
        if (await Company.get(id=self.company.pk)).name != self.company.name:
            changed.append("company")
        person = await Person.get_or_none(id=self.person.pk)
        if person is None or person.name != self.person.name:
            changed.append("person")
        campaign = await Campaign.get(id=self.campaign.pk)
        if (campaign.name, campaign.active, campaign.end_date) != (self.campaign.name, True, None):
            changed.append("campaign")
        ticket = await Ticket.get(id=self.ticket.pk)
        if (ticket.subject, ticket.state, ticket.assignee_id, ticket.status_id) != (
            self.ticket.subject, self.ticket.state, self.ticket.assignee_id, self.ticket.status_id
        ):
            changed.append("ticket")
        if await TicketMessage.filter(ticket_id=self.ticket.pk).count() != 1:
            changed.append("ticket messages")
        if await CampaignMember.filter(campaign_id=self.campaign.pk, claimed_by_id__isnull=False).exists():
            changed.append("campaign member claim")
        if await Operation.filter(campaign_id=self.campaign.pk).count() != 1:
            changed.append("operations")
        if await Callback.filter(campaign_id=self.campaign.pk, status="PENDING").count() != 1:
            changed.append("callbacks")
        return changed


@pytest.fixture
async def world(factory: Factory) -> World:
    # The secret world first: id 1 in every table.
    rep_a = await factory.user(Role.COMPANY_REP, company=await factory.company("SECRET-COMPANY-A"))
    company = await Company.get(id=rep_a.company_id)
    agent_a = await factory.user(Role.AGENT)
    person = await factory.person(name="SECRET-PERSON", company=company)
    outbound = Outbound(factory, Clock())
    campaign = await outbound.campaign(agents=(agent_a,), name="SECRET-CAMPAIGN")
    member = await outbound.member(campaign, person=person)
    tickets = TicketFactory(factory)
    status = await tickets.status("Novo", initial=True)
    ticket = await tickets.ticket(rep_a, status, company=company, assignee=agent_a, subject="SECRET-TICKET")
    await tickets.message(ticket, rep_a, body="SECRET-MESSAGE")
    result = await outbound.result()
    operation = await Operation.create(
        member=member, campaign=campaign, person=person, agent=agent_a, result=result, result_kind="SUCCESS",
        notes="SECRET-NOTES", attempt=1, local_date=date.today(),
    )
    await Callback.create(
        member=member, campaign=campaign, agent=agent_a, operation=operation,
        due_at=datetime.now(UTC) + timedelta(hours=1),
    )
    # Then the callers from the other side.
    rep_b = await factory.user(Role.COMPANY_REP, company=await factory.company("Company B"))
    agent_b = await factory.user(Role.AGENT)
    await outbound.campaign(agents=(agent_b,), name="Campaign B")
    return World(company, person, campaign, ticket, rep_b, agent_b)


def leaks(data: Any, secrets: tuple[str, ...]) -> list[str]:
    text = repr(data)
    return [secret for secret in secrets if secret in text]


async def test_anonymous_callers_get_nothing_but_login(factory: Factory) -> None:
    refused = []
    for operation, fields in (("query", SCHEMA.query_type.fields), ("mutation", SCHEMA.mutation_type.fields)):  # type: ignore[union-attr]
        for name, field in fields.items():
            if name == "login":
                continue
            text, variables = document(operation, name, field)
            result = await factory.execute_raw(text, variables, user=None, settings=SETTINGS)
            if result.data is None and result.errors and result.errors[0].extensions == {"code": "UNAUTHENTICATED"}:
                refused.append(name)
    assert sorted(refused) == sorted(name for name in QUERIES + MUTATIONS if name != "login")


@pytest.mark.parametrize("role", ["rep", "agent"])
async def test_queries_read_nothing_across_the_boundary(factory: Factory, world: World, role: str) -> None:
    user, secrets = (world.rep_b, REP_SECRETS) if role == "rep" else (world.agent_b, AGENT_SECRETS)
    leaked, failed = {}, []
    for name in QUERIES:
        text, variables = document("query", name, SCHEMA.query_type.fields[name])  # type: ignore[union-attr]
        result = await factory.execute_raw(text, variables, user=user, settings=SETTINGS)
        if any("Unexpected error" in error.message for error in result.errors or []):
            failed.append(name)
        found = leaks(result.data, secrets)
        if found:
            leaked[name] = found
    assert (leaked, failed) == ({}, [])


@pytest.mark.parametrize("name", MUTATIONS)
@pytest.mark.parametrize("role", ["rep", "agent"])
async def test_mutations_change_and_reveal_nothing_across_the_boundary(
    factory: Factory, world: World, role: str, name: str
) -> None:
    user, secrets = (world.rep_b, REP_SECRETS) if role == "rep" else (world.agent_b, AGENT_SECRETS)
    text, variables = document("mutation", name, SCHEMA.mutation_type.fields[name])  # type: ignore[union-attr]
    result = await factory.execute_raw(text, variables, user=user, settings=SETTINGS)
    assert not any("Unexpected error" in error.message for error in result.errors or []), result.errors
    assert leaks(result.data, secrets) == []
    assert await world.intact() == []


# ------------------------------------------------------------------------------------------------
# Nested fields: every object-typed field reachable from what a caller may see.
#
# Rows that cross the boundary through relations (a person moved to another company after a ticket
# was opened for them, a kept suspect whose prospect moved, a rep moved to another company after
# writing on a ticket, parent and child tickets of different companies or assignees) are reached
# by walking the schema from every root query: each object with an id is expanded once, with
# every scalar field and a stub of every object field, and the stubs are walked in turn. Every
# object the walk meets is checked against what the caller may see (`Policy`, the DOMAIN's rules
# written out again, independently of the code under test). The compiled path is walked through
# the relations of schema/compiled/types.py and must answer as the normal path does.

WALK_SETTINGS = Settings(
    environment="test", password_hash_profile="CHEAPEST", max_tokens=200_000, max_aliases=100,
    max_query_cost=10**12, max_query_depth=60,
)
COMPILED_SCHEMA = build_schema(WALK_SETTINGS)
NORMAL_SCHEMA = build_schema(WALK_SETTINGS, compiled=False)


def _has_id(kind: Any) -> bool:
    return isinstance(kind, GraphQLObjectType) and "id" in kind.fields


def _members(kind: Any) -> list[GraphQLObjectType]:
    if isinstance(kind, GraphQLObjectType):
        return [kind]
    return list(SCHEMA.get_possible_types(kind))


def _usable(field: GraphQLField) -> bool:
    return not any(isinstance(arg.type, GraphQLNonNull) for arg in field.args.values())


def _expand(kind: Any) -> str:
    """Every scalar of `kind`, id-less objects (connections, edges, payloads) inline, and objects
    with an id as stubs (`__typename id`), to be walked on their own."""
    if not isinstance(kind, GraphQLObjectType):
        return "{ __typename " + " ".join(f"... on {member.name} {_expand(member)}" for member in _members(kind)) + " }"
    parts = ["__typename"]
    for name, field in kind.fields.items():
        if not _usable(field):
            continue
        inner = get_named_type(field.type)
        if isinstance(inner, (GraphQLScalarType, GraphQLEnumType)):
            parts.append(name)
        else:
            parts.append(f"{name} {_stub(inner)}")
    return "{ " + " ".join(parts) + " }"


def _stub(kind: Any) -> str:
    if _has_id(kind):
        return "{ __typename id }"
    if isinstance(kind, GraphQLObjectType):
        return _expand(kind)
    return "{ __typename " + " ".join(f"... on {member.name} {_stub(member)}" for member in _members(kind)) + " }"


Step = tuple[str, str]  # (response key, the object type at that key)


def _walk_document(root: str, root_type: str, steps: tuple[Step, ...], selection: str) -> str:
    """`root` (a root field call), then the steps, each through an inline fragment on its type."""
    text = selection
    for key, type_name in reversed(steps):
        text = f"{{ {key} {{ __typename ... on {type_name} {text} }} }}"
    return f"query {{ {root} {{ __typename ... on {root_type} {text} }} }}"


def _at(value: Any, steps: tuple[Step, ...]) -> list[dict[str, Any]]:
    found = value if isinstance(value, list) else [value]
    for key, type_name in steps:
        following = []
        for item in found:
            child = item.get(key) if isinstance(item, dict) else None
            for element in child if isinstance(child, list) else [child]:
                if isinstance(element, dict) and element.get("__typename") == type_name:
                    following.append(element)
        found = following
    return [item for item in found if isinstance(item, dict)]


def _stubs(value: dict[str, Any], steps: tuple[Step, ...] = ()) -> list[tuple[tuple[Step, ...], dict[str, Any]]]:
    """Objects with an id below `value` (not `value` itself), with the steps that reach them."""
    found = []
    for key, child in value.items():
        for element in child if isinstance(child, list) else [child]:
            if not isinstance(element, dict):
                continue
            path = (*steps, (key, element["__typename"]))
            if "id" in element:
                found.append((path, element))
            else:
                found.extend(_stubs(element, path))
    return found


def _objects(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [found for item in value for found in _objects(item)]
    if not isinstance(value, dict):
        return []
    return [value, *(found for child in value.values() for found in _objects(child))]


async def walk(user: User, ids: range) -> tuple[list[dict[str, Any]], list[str]]:
    """Every object the caller reaches from every root query (roots that take ids tried with each
    of `ids`), and every error met below the roots (a refusal at a root is an answer; below it,
    a non-null field left null or an unexpected error is a fault)."""
    reached: list[dict[str, Any]] = []
    faults: list[str] = []
    expanded: set[tuple[str, str]] = set()
    # (root call, its type, steps to the objects) -> the ids of the objects seen there
    frontier: dict[tuple[str, str, tuple[Step, ...]], set[str]] = {}

    async def run(text: str, roots: bool) -> dict[str, Any]:
        result = await NORMAL_SCHEMA.execute(text, context_value=Context(settings=WALK_SETTINGS, user=user))
        for error in result.errors or ():
            if not roots or len(error.path or ()) > 1 or "Unexpected error" in error.message:
                faults.append(f"{error.message} at {error.path} in {text[:200]}")
        return result.data or {}

    def found(call: str, root_type: str, steps: tuple[Step, ...], value: dict[str, Any]) -> None:
        reached.extend(_objects(value))
        for path, stub in _stubs(value):
            if (stub["__typename"], stub["id"]) not in expanded:
                frontier.setdefault((call, root_type, (*steps, *path)), set()).add(stub["id"])

    assert SCHEMA.query_type is not None
    for name, field in sorted(SCHEMA.query_type.fields.items()):
        required = {arg: spec for arg, spec in field.args.items() if isinstance(spec.type, GraphQLNonNull)}
        if any(str(spec.type) != "ID!" for spec in required.values()):
            continue
        named = get_named_type(field.type)
        calls = [
            f"r{number}: {name}" + ("(" + ", ".join(f'{arg}: "{number}"' for arg in required) + ")" if required else "")
            for number in (ids if required else [0])
        ]
        data = await run("query { " + " ".join(f"{call} {_expand(named)}" for call in calls) + " }", roots=True)
        for call in calls:
            value = data.get(call.split(":", 1)[0])
            for element in value if isinstance(value, list) else [value]:
                if isinstance(element, dict):
                    if "id" in element:
                        expanded.add((element["__typename"], element["id"]))
                    found(call, element["__typename"], (), element)
    while frontier:
        (call, root_type, steps), seen = frontier.popitem()
        type_name = steps[-1][1]
        if all((type_name, object_id) in expanded for object_id in seen):
            continue
        data = await run(_walk_document(call, root_type, steps, _expand(SCHEMA.get_type(type_name))), roots=False)
        roots = [item for item in _at(data.get(call.split(":", 1)[0]), ()) if item.get("__typename") == root_type]
        for target in _at(roots, steps):
            if (target["__typename"], target["id"]) not in expanded:
                expanded.add((target["__typename"], target["id"]))
                found(call, root_type, steps, target)
    return reached, faults


@dataclass
class Policy:
    """What one caller may see, as DOMAIN.md and the README say it, checked on every object a walk
    meets: reps their company's persons, company and tickets (no internal notes, no actions, no
    outbound work); agents the tickets routed to them or to nobody and the campaigns they work;
    and of any user, the e-mail only where `user(id)` would show that user."""

    viewer: User
    persons: dict[str, int | None]
    tickets: dict[str, tuple[int | None, int | None]]
    messages: dict[str, tuple[str, bool]]
    attachments: dict[str, str]
    actions: dict[str, str]
    non_conformities: dict[str, str]
    users: dict[str, int | None]
    campaigns: dict[tuple[str, str], int]
    assigned: set[int]

    @classmethod
    async def of(cls, viewer: User) -> Policy:
        from models.campaign import CampaignAgent
        from models.ticket import Attachment, NonConformity, TicketAction

        def ids(rows: list[Any], value: Any) -> dict[str, Any]:
            return {str(row.pk): value(row) for row in rows}

        campaigns: dict[tuple[str, str], int] = {("Campaign", str(row.pk)): row.pk for row in await Campaign.all()}
        for type_name, model in (("CampaignMember", CampaignMember), ("Operation", Operation), ("Callback", Callback)):
            campaigns.update({(type_name, str(row.pk)): row.campaign_id for row in await model.all()})
        return cls(
            viewer=viewer,
            persons=ids(await Person.all(), lambda row: row.company_id),
            tickets=ids(await Ticket.all(), lambda row: (row.company_id, row.assignee_id)),
            messages=ids(await TicketMessage.all(), lambda row: (str(row.ticket_id), row.internal)),
            attachments=ids(await Attachment.all(), lambda row: str(row.message_id)),
            actions=ids(await TicketAction.all(), lambda row: str(row.ticket_id)),
            non_conformities=ids(await NonConformity.all(), lambda row: str(row.ticket_id)),
            users=ids(await User.all(), lambda row: row.company_id),
            campaigns=campaigns,
            assigned=set(await CampaignAgent.filter(agent_id=viewer.pk).values_list("campaign_id", flat=True)),
        )

    @property
    def rep(self) -> bool:
        return self.viewer.role == Role.COMPANY_REP

    def sees_ticket(self, ticket_id: str) -> bool:
        company_id, assignee_id = self.tickets[ticket_id]
        if self.rep:
            return company_id == self.viewer.company_id
        if self.viewer.role == Role.AGENT:
            return assignee_id in (None, self.viewer.pk)
        return True

    def sees_message(self, message_id: str) -> bool:
        ticket_id, internal = self.messages[message_id]
        return self.sees_ticket(ticket_id) and not (internal and self.rep)

    def reads_email(self, user_id: str) -> bool:
        if self.viewer.role in (Role.SUPERVISOR, Role.ADMIN) or user_id == str(self.viewer.pk):
            return True
        return self.rep and self.users[user_id] == self.viewer.company_id

    def foreign(self, objects: list[dict[str, Any]]) -> list[str]:
        """The objects the caller should not have got, as `Type id` (and `User id email`)."""
        wrong = []
        for item in objects:
            type_name, object_id = item.get("__typename"), item.get("id")
            if object_id is None:
                continue
            if type_name == "Person":
                allowed = not self.rep or self.persons[object_id] == self.viewer.company_id
            elif type_name == "Company":
                allowed = not self.rep or object_id == str(self.viewer.company_id)
            elif type_name == "Ticket":
                allowed = self.sees_ticket(object_id)
            elif type_name == "TicketMessage":
                allowed = self.sees_message(object_id)
            elif type_name == "Attachment":
                allowed = self.sees_message(self.attachments[object_id])
            elif type_name == "TicketAction":
                allowed = not self.rep and self.sees_ticket(self.actions[object_id])
            elif type_name == "NonConformity":
                allowed = not self.rep and self.sees_ticket(self.non_conformities[object_id])
            elif (type_name, object_id) in self.campaigns:
                allowed = not self.rep and (
                    self.viewer.role != Role.AGENT or self.campaigns[(type_name, object_id)] in self.assigned
                )
            elif type_name == "User":
                allowed = item.get("email") is None or self.reads_email(object_id)
                if not allowed:
                    type_name = "User email of"
            else:
                allowed = True
            if not allowed:
                wrong.append(f"{type_name} {object_id}")
        return sorted(set(wrong))


@dataclass
class Crossing:
    rep: User
    colleague: User
    moved_rep: User
    agent: User
    other_agent: User
    supervisor: User
    admin: User
    moved_person: Person
    kept_suspect: Person
    prospect: Person
    acme_ticket: Ticket
    suspect_ticket: Ticket
    reassigned_child: Ticket

    def callers(self) -> dict[str, User]:
        return {"rep": self.rep, "agent": self.agent, "supervisor": self.supervisor, "admin": self.admin}


PERSON_MOVE = "mutation($id: ID!, $c: ID!) { personUpdate(id: $id, input: {companyId: $c}) { __typename } }"
CONVERT_KEEP = "mutation($id: ID!) { personConvert(id: $id, deleteSuspect: false) { __typename } }"
USER_MOVE = "mutation($id: ID!, $c: ID!) { userUpdate(id: $id, input: {companyId: $c}) { __typename } }"


@pytest.fixture
async def crossing(factory: Factory) -> Crossing:
    from models.campaign import QueueStatus
    from models.ticket import TicketAction
    from models.ticket_catalog import ActionDefinition

    # given: Acme (whose rep looks) and Globex, the operator's staff, two agents
    acme, globex = await factory.company("Acme"), await factory.company("FOREIGN Globex")
    rep = await factory.user(Role.COMPANY_REP, company=acme)
    colleague = await factory.user(Role.COMPANY_REP, company=acme)
    moved_rep = await factory.user(Role.COMPANY_REP, company=acme)
    await factory.user(Role.COMPANY_REP, company=globex)
    admin, supervisor = await factory.user(Role.ADMIN), await factory.user(Role.SUPERVISOR)
    agent, other_agent = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    tickets = TicketFactory(factory)
    new = await tickets.status("Novo", initial=True)
    # a ticket opened for an Acme person, who then moves to Globex; a colleague who moves too
    moved_person = await factory.person(name="Moved Person", company=acme)
    acme_ticket = await tickets.ticket(rep, new, company=acme, assignee=other_agent, subject="Acme ticket")
    await Ticket.filter(id=acme_ticket.pk).update(person_id=moved_person.pk)
    await tickets.message(acme_ticket, moved_rep, body="from the moved rep", files=1)
    await tickets.message(acme_ticket, colleague, body="from a colleague")
    await tickets.message(acme_ticket, other_agent, body="internal note", internal=True, files=1)
    await tickets.ticket(moved_rep, new, company=acme, subject="Opened by the moved rep")
    definition = await ActionDefinition.create(name="Visit")
    await TicketAction.create(ticket=acme_ticket, definition=definition, performed_by=other_agent,
                              responsible=other_agent)
    # a suspect converted and kept, whose prospect moves to Globex; a ticket for the suspect
    kept_suspect = await factory.person(name="Kept Suspect", company=acme)
    await factory.execute(CONVERT_KEEP, {"id": str(kept_suspect.pk)}, user=admin)
    kept_suspect = await Person.get(id=kept_suspect.pk)
    assert kept_suspect.converted_to_id is not None
    prospect = await Person.get(id=kept_suspect.converted_to_id)
    suspect_ticket = await tickets.ticket(colleague, new, company=acme, subject="For the kept suspect")
    await Ticket.filter(id=suspect_ticket.pk).update(person_id=kept_suspect.pk)
    for person in (moved_person, prospect):
        await factory.execute(PERSON_MOVE, {"id": str(person.pk), "c": str(globex.pk)}, user=admin)
    await factory.execute(USER_MOVE, {"id": str(moved_rep.pk), "c": str(globex.pk)}, user=admin)
    # parents and children across companies and assignees
    globex_person = await factory.person(name="FOREIGN Person", company=globex)
    globex_ticket = await tickets.ticket(moved_rep, new, company=globex, subject="FOREIGN ticket")
    await Ticket.filter(id=globex_ticket.pk).update(person_id=globex_person.pk)
    await tickets.ticket(rep, new, company=acme, parent=globex_ticket, subject="Acme child of a Globex ticket")
    await tickets.ticket(moved_rep, new, company=globex, parent=acme_ticket, subject="Globex child")
    mine = await tickets.ticket(rep, new, company=acme, assignee=agent, subject="The agent's ticket")
    reassigned_child = await tickets.ticket(rep, new, company=acme, assignee=other_agent, parent=mine,
                                            subject="A child reassigned to the other agent")
    await tickets.ticket(rep, new, company=acme, assignee=agent, parent=acme_ticket, subject="Child of another's")
    await TicketAction.create(ticket=mine, definition=definition, performed_by=other_agent, responsible=other_agent)
    # outbound: a campaign both agents work (the other agent's callback, operation), one only the other works
    outbound = Outbound(factory, Clock())
    shared = await outbound.campaign(agents=(agent, other_agent))
    theirs = await outbound.campaign(agents=(other_agent,))
    result = await outbound.result()
    for campaign, person in ((shared, prospect), (theirs, moved_person), (shared, kept_suspect)):
        member = await outbound.member(campaign, person=person)
        operation = await Operation.create(
            member=member, campaign=campaign, person=person, agent=other_agent, result=result,
            result_kind="SUCCESS", attempt=1, local_date=date.today(),
        )
        callback = await Callback.create(
            member=member, campaign=campaign, agent=other_agent, operation=operation,
            due_at=datetime.now(UTC) - timedelta(minutes=5),
        )
        await CampaignMember.filter(id=member.pk).update(
            last_operation_id=operation.pk, next_callback_id=callback.pk, status=QueueStatus.SCHEDULED,
            due_at=callback.due_at, attempts=1,
        )
    await Operation.create(
        member=member, campaign=shared, person=kept_suspect, agent=agent, result=result,
        result_kind="SUCCESS", attempt=2, local_date=date.today(),
    )
    return Crossing(
        rep, colleague, moved_rep, agent, other_agent, supervisor, admin, moved_person, kept_suspect, prospect,
        acme_ticket, suspect_ticket, reassigned_child,
    )


@pytest.mark.parametrize("role", ["rep", "agent", "supervisor"])
async def test_nested_fields_reach_nothing_across_the_boundary_on_the_normal_path(
    crossing: Crossing, role: str
) -> None:
    # given
    user = crossing.callers()[role]
    policy = await Policy.of(user)
    # when: every root, then every object field below what the caller got, until nothing is new
    reached, faults = await walk(user, range(1, 16))
    # then
    assert (policy.foreign(reached), faults) == ([], [])
    # and the walk did reach the rows that cross the boundary
    seen = {(item.get("__typename"), item.get("id")) for item in reached}
    assert ("Ticket", str(crossing.acme_ticket.pk)) in seen or role == "agent"
    assert ("Person", str(crossing.kept_suspect.pk)) in seen
    assert ("User", str(crossing.moved_rep.pk)) in seen
    if role == "supervisor":
        assert ("Person", str(crossing.moved_person.pk)) in seen
        assert ("Ticket", str(crossing.reassigned_child.pk)) in seen


def compiled_selection(type_name: str, depth: int) -> str:
    """Every field the compiled path serves on `type_name`, and `depth` levels of its relations."""
    from schema.compiled.spec import One
    from schema.compiled.types import FAST_TYPES

    fast_type = next(fast for fast in FAST_TYPES if fast.name == type_name)
    parts = ["__typename", *fast_type.scalars]
    for name, relation in fast_type.relations.items() if depth else ():
        inner = compiled_selection(relation.target, depth - 1)
        parts.append(f"{name} {inner}" if isinstance(relation, One) else f"{name} {{ edges {{ cursor node {inner} }} }}")
    return "{ " + " ".join(parts) + " }"


def compiled_documents(campaign_ids: list[int]) -> list[str]:
    """One document per root field of the compiled path (per campaign for the queue)."""
    from schema.compiled.types import ROOT_FIELDS

    documents = []
    for name, root in sorted(ROOT_FIELDS.items()):
        assert SCHEMA.query_type is not None
        required = [arg for arg, spec in SCHEMA.query_type.fields[name].args.items() if isinstance(spec.type, GraphQLNonNull)]
        selection = f"{{ edges {{ cursor node {compiled_selection(root.target, 3)} }} pageInfo {{ hasNextPage }} }}"
        returned = get_named_type(SCHEMA.query_type.fields[name].type)
        if isinstance(returned, GraphQLUnionType):  # `Connection | Error`: the connection's fragment
            connection = next(member.name for member in returned.types if "edges" in member.fields)
            selection = f"{{ __typename ... on {connection} {selection} }}"
        for number in campaign_ids if required else [0]:
            arguments = "(" + ", ".join(f'{arg}: "{number}"' for arg in required) + ")" if required else ""
            documents.append(f"query {{ {name}{arguments} {selection} }}")
    return documents


@pytest.mark.parametrize("role", ["rep", "agent", "supervisor"])
async def test_nested_fields_reach_nothing_across_the_boundary_on_the_compiled_path(
    crossing: Crossing, role: str
) -> None:
    from schema.compiled import STATS

    # given
    user = crossing.callers()[role]
    policy = await Policy.of(user)
    campaign_ids = list(await Campaign.all().values_list("id", flat=True))
    reached, differences, normal_path = [], [], []
    for text in compiled_documents(campaign_ids):
        # when: the compiled path's relations, three levels deep, on both paths
        compiled_before = STATS.compiled
        fast = await COMPILED_SCHEMA.execute(text, context_value=Context(settings=WALK_SETTINGS, user=user))
        refused = any(
            isinstance(value, dict) and str(value.get("__typename", "")).endswith("Error")
            for value in (fast.data or {}).values()
        )  # a typed refusal is the normal path's to answer
        if STATS.compiled != compiled_before + 1 and not refused:
            normal_path.append(text[:80])
        slow = await NORMAL_SCHEMA.execute(text, context_value=Context(settings=WALK_SETTINGS, user=user))
        if (fast.data, fast.errors) != (slow.data, slow.errors):
            differences.append(text[:80])
        reached.extend(_objects(fast.data))
    # then
    assert (policy.foreign(reached), differences, normal_path) == ([], [], [])
    seen = {(item.get("__typename"), item.get("id")) for item in reached}
    assert ("Person", str(crossing.kept_suspect.pk)) in seen
    if role != "agent":
        assert ("Ticket", str(crossing.acme_ticket.pk)) in seen
