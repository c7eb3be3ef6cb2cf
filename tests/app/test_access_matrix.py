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
