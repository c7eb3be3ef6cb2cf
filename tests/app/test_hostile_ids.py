"""Ids and cursors a client sends that no row of ours ever had (issue 11): past the database's
integers (OverflowError on SQLite, a 500 on /attachments), or spelt in ways int() takes but we never
wrote (Unicode digits, signs, underscores, blanks). Every ID argument and every ID inside an input
object or a list is read from the schema, so one added later is walked the day it is added.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    get_named_type,
)

from models.user import Role
from resolvers.bounds import MAX_ROW_ID
from resolvers.pagination import encode_cursor
from schema import build_schema
from schema.ids import NO_ROW, to_pk
from tests.app.hostile import SETTINGS, codes, faults
from tests.factories import Factory
from tests.ticket_factories import TicketFactory

SCHEMA: GraphQLSchema = build_schema(SETTINGS)._schema

# Past what SQLite's INTEGER (64 bits) and PostgreSQL's integer (32 bits) hold, and what int() takes
# but the database never stored: Unicode digits, signs, underscores, blanks.
HOSTILE_IDS = ("99999999999999999999", "-99999999999999999999", "2147483648", "0", "٣", "+1", "1_0", " 1")


def test_an_id_is_ascii_digits_within_the_database() -> None:
    assert [to_pk(value) for value in HOSTILE_IDS] == [NO_ROW] * len(HOSTILE_IDS)
    assert (to_pk("12"), to_pk(str(MAX_ROW_ID))) == (12, MAX_ROW_ID)


def _hostile_value(kind: GraphQLInputType, hostile_id: str) -> Any:
    """A value of `kind` whose every ID (optional ones and list items included) is `hostile_id`."""
    if isinstance(kind, GraphQLNonNull):
        return _hostile_value(kind.of_type, hostile_id)
    if isinstance(kind, GraphQLList):
        return [_hostile_value(kind.of_type, hostile_id)]
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, GraphQLInputObjectType):
        return {
            name: _hostile_value(field.type, hostile_id)
            for name, field in kind.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is None or _holds_id(field.type)
        }
    assert isinstance(kind, GraphQLScalarType)
    return {
        "ID": hostile_id,
        "Int": 1,
        "Float": 1.0,
        "String": "x",
        "Boolean": False,
        "Date": date.today().isoformat(),
        "DateTime": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        "Upload": None,
    }[kind.name]


def _holds_id(kind: GraphQLInputType, seen: frozenset[str] = frozenset()) -> bool:
    named = get_named_type(kind)
    if isinstance(named, GraphQLScalarType):
        return named.name == "ID"
    if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
        return any(_holds_id(field.type, seen | {named.name}) for field in named.fields.values())
    return False


def _id_document(operation: str, name: str, field: GraphQLField, hostile_id: str) -> tuple[str, dict[str, Any]]:
    arguments = {
        arg_name: arg for arg_name, arg in field.args.items()
        if isinstance(arg.type, GraphQLNonNull) or _holds_id(arg.type)
    }
    variables = {arg_name: _hostile_value(arg.type, hostile_id) for arg_name, arg in arguments.items()}
    declared = ", ".join(f"${arg_name}: {arg.type}" for arg_name, arg in arguments.items())
    passed = ", ".join(f"{arg_name}: ${arg_name}" for arg_name in arguments)
    selection = "" if isinstance(get_named_type(field.type), (GraphQLScalarType, GraphQLEnumType)) else "{ __typename }"
    text = f"{operation}{f'({declared})' if declared else ''} {{ {name}{f'({passed})' if passed else ''} {selection} }}"
    return text, {key: value for key, value in variables.items() if value is not None}


ID_FIELDS = [
    (operation, name)
    for operation, root in (("query", SCHEMA.query_type), ("mutation", SCHEMA.mutation_type))
    for name, field in (root.fields.items() if root else ())
    if any(_holds_id(arg.type) for arg in field.args.values())
]


def test_the_walk_reaches_ids_in_inputs_and_lists() -> None:
    names = {name for _, name in ID_FIELDS}
    assert {"person", "personUpdate", "campaignMembersAdd", "contactResultUpdate", "contactTypeCreate"} <= names


@pytest.mark.parametrize("hostile_id", HOSTILE_IDS)
async def test_ids_the_database_never_stored_name_no_row_wherever_they_are_sent(
    factory: Factory, hostile_id: str
) -> None:
    # given: one row in every table a lookup may start from, so that a wrong id would find one
    admin = await factory.user(Role.ADMIN)
    await factory.person(company=await factory.company())
    failed = {}
    for operation, name in ID_FIELDS:
        root = SCHEMA.query_type if operation == "query" else SCHEMA.mutation_type
        assert root is not None
        text, variables = _id_document(operation, name, root.fields[name], hostile_id)
        # when
        result = await factory.execute_raw(text, variables, user=admin, settings=SETTINGS)
        # then
        if faults(result):
            failed[name] = result.errors
    assert failed == {}


QUEUE_AFTER = (
    'query($a: String) { campaignQueue(campaignId: "1", after: $a) { '
    "... on CampaignMemberConnection { edges { node { id } } } } }"
)


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


async def test_cursors_beyond_the_database_are_bad_input(factory: Factory) -> None:
    # given: a person, a ticket with a message, a campaign with a member
    supervisor = await factory.user(Role.SUPERVISOR)
    await factory.person()
    tickets = TicketFactory(factory)
    ticket = await tickets.ticket(supervisor, await tickets.status(initial=True))
    await tickets.message(ticket, supervisor)
    attempts = [
        ("query($a: String) { persons(after: $a) { edges { node { id } } } }", encode_cursor("person", 10**20)),
        ("query($a: String) { persons(after: $a) { edges { node { id } } } }", _cursor("person:٣")),
        ("query($a: String) { tickets(after: $a) { edges { node { id } } } }", encode_cursor("ticket", 10**20)),
        ("query($a: String) { users(after: $a) { edges { node { id } } } }", encode_cursor("user", -(10**20))),
        (f'query($a: String) {{ ticket(id: "{ticket.pk}") {{ messages(after: $a) {{ edges {{ node {{ id }} }} }} }} }}',
         encode_cursor("message", 10**20)),
        ("query($a: String) { pendingCallbacks(after: $a) { __typename } }",
         _cursor(f'callback.due_at.asc:["2030-01-01T00:00:00+00:00", {10**20}]')),
        ("query($a: String) { pendingCallbacks(after: $a) { __typename } }",
         _cursor('callback.due_at.asc:["0001-01-01T00:00:00+14:00", 1]')),
        ('query($a: String) { tickets(orderBy: {field: NUMBER}, after: $a) { edges { node { id } } } }',
         _cursor(f'ticket.number.asc:["T-1", {10**20}]')),
        ('query($a: String) { tickets(orderBy: {field: RETURN_DUE_AT}, last: 2, before: $a) { edges { node { id } } } }',
         _cursor('ticket.return_due_at.asc:["9999-12-31T23:59:59-14:00", 1]')),
        (QUEUE_AFTER,
         _cursor(f"queue:{10**20}||1")),
        (QUEUE_AFTER,
         _cursor("queue:0|9999-12-31T23:59:59-14:00|1")),
    ]
    for document, after in attempts:
        # when
        result = await factory.execute_raw(document, {"a": after}, user=supervisor)
        # then
        assert faults(result) == [], (document, after, result.errors)
        assert "BAD_USER_INPUT" in codes(result) or "INVALID_CURSOR" in json.dumps(result.data), (document, result)


def test_event_cursors_are_ascii_digits_within_the_database() -> None:
    from resolvers.realtime import StreamEnded, parse_cursor

    assert parse_cursor("12") == 12
    for after in ("²", "٣", "9" * 19, "-1", "+1"):
        with pytest.raises(StreamEnded):
            parse_cursor(after)

