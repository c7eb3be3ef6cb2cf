"""Every connection of the schema, read from it (a new one is covered the day it is added):
`totalCount` is what the pages hold, whatever the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLUnionType, Undefined, get_named_type

from models.campaign import CampaignMember, QueuePriority, QueueStatus
from models.floor import PauseReason
from models.operation import Callback, Operation
from models.outbound import Script
from models.ticket import NonConformity, Ticket, TicketAction, TicketActionStatus
from models.ticket_catalog import (
    ActionDefinition,
    ClosureReason,
    ContactCategory,
    Occurrence,
    Product,
    TicketSubject,
)
from models.user import Role, User
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound, clock, outbound  # noqa: F401 - fixtures
from tests.ticket_factories import TicketFactory

ROWS = 3  # of every kind, so that pages of 2 cross a boundary


def root_connections(factory: Factory) -> dict[str, str]:
    """Query field -> its connection type (a `Connection | Error` union's connection)."""
    query = factory.schema._schema.query_type
    assert query is not None
    found = {}
    for name, field in query.fields.items():
        named = get_named_type(field.type)
        members = named.types if isinstance(named, GraphQLUnionType) else [named]
        for member in members:
            if isinstance(member, GraphQLObjectType) and member.name.endswith("Connection"):
                found[name] = member.name
    return found


@pytest.fixture
async def world(factory: Factory, outbound: Outbound, clock: Clock) -> dict[str, Any]:  # noqa: F811
    supervisor = await factory.user(Role.SUPERVISOR)
    agents = [await factory.user(Role.AGENT) for _ in range(ROWS)]
    for _ in range(ROWS):
        await factory.user(Role.COMPANY_REP)  # and their companies
    campaign = await outbound.campaign(agents=tuple(agents))
    for _ in range(ROWS - 1):
        await outbound.campaign()
    result = await outbound.result()
    for index in range(ROWS):
        await outbound.justification(result)
        await outbound.reason()
        await outbound.channel()
        await outbound.action_type()
        await Script.create(title=f"Script {index}", body="Olá")
        if index:
            await outbound.result()
        member = await outbound.member(campaign)
        operation = await Operation.create(
            member=member, campaign=campaign, person_id=member.person_id, agent=agents[index], result=result,
            result_kind="SUCCESS", attempt=1, local_date=clock.today,
        )
        callback = await Callback.create(
            member=member, campaign=campaign, agent=supervisor, operation=operation,
            due_at=clock() - timedelta(minutes=5 + index),
        )
        await CampaignMember.filter(id=member.pk).update(
            status=QueueStatus.SCHEDULED, priority=QueuePriority.CALLBACK.value, due_at=callback.due_at,
            next_callback_id=callback.pk, last_operation_id=operation.pk,
        )
    tickets = TicketFactory(factory)
    new = await tickets.status("Novo", initial=True)
    for index in range(ROWS):
        if index:
            await tickets.status(f"Status {index}")
        await tickets.classification(f"Classification {index}")
        await tickets.contact_type(f"Type {index}")
        await ClosureReason.create(name=f"Reason {index}")
        definition = await ActionDefinition.create(name=f"Action {index}")
        await PauseReason.create(name=f"Pause {index}")
        for catalog in (ContactCategory, TicketSubject, Product, Occurrence):
            await catalog.create(name=f"{catalog.__name__} {index}")
        ticket = await tickets.ticket(supervisor, new)
        raised = await NonConformity.create(number=f"FNC-{index}", ticket=ticket, description="-", raised_by=supervisor)
        await TicketAction.create(  # the supervisor's pending action, with its service order and non-conformity
            ticket=ticket, definition=definition, responsible=supervisor, status=TicketActionStatus.PENDING,
            service_order_number=f"OS-{index}", non_conformity=raised, performed_by=supervisor,
        )
        await Ticket.filter(id=ticket.pk).update(return_due_at=datetime.now(UTC) - timedelta(days=1))  # awaiting
        for number in range(ROWS):
            await tickets.message(ticket, supervisor, f"m{number}")
    return {"supervisor": supervisor, "arguments": {"campaignQueue": f'campaignId: "{campaign.pk}"'}}


async def test_every_root_connection_counts_what_its_pages_hold(factory: Factory, world: dict[str, Any]) -> None:
    supervisor: User = world["supervisor"]
    connections = root_connections(factory)
    assert {"tickets", "persons", "campaignQueue", "pendingCallbacks", "users", "contactTypes"} <= set(connections)
    counted = {}
    for name, connection in sorted(connections.items()):
        query = factory.schema._schema.query_type
        assert query is not None
        required = [
            arg for arg, spec in query.fields[name].args.items()
            if isinstance(spec.type, GraphQLNonNull) and spec.default_value is Undefined
        ]
        extra = world["arguments"].get(name, "")
        assert all(arg in extra for arg in required), f"give {name} its required arguments"
        # when: every page of 2, counting on each
        seen, after, totals = 0, None, set()
        while True:
            arguments = ", ".join(part for part in (extra, "first: 2", f'after: "{after}"' if after else "") if part)
            text = (f"query {{ {name}({arguments}) {{ __typename ... on {connection} {{ totalCount "
                    "edges { cursor } pageInfo { hasNextPage endCursor } } } }")
            page = (await factory.execute(text, user=supervisor))[name]
            totals.add(page["totalCount"])
            seen += len(page["edges"])
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        # then
        assert totals == {seen}, name
        counted[name] = seen
    # and the world is not trivially empty: every list crosses a page boundary
    assert {name: count for name, count in counted.items() if count <= 2} == {}


async def test_every_root_connection_pages_back_as_it_pages_forward(factory: Factory, world: dict[str, Any]) -> None:
    supervisor: User = world["supervisor"]
    for name, connection in sorted(root_connections(factory).items()):
        extra = world["arguments"].get(name, "")
        walks = {}
        for arguments, cursor_of, more in (
            ("first: 2", 'after: "{}"', ("hasNextPage", "endCursor")),
            ("last: 2", 'before: "{}"', ("hasPreviousPage", "startCursor")),
        ):
            # when: every page of 2, from the start forward and from the end back
            pages, cursor = [], None
            while True:
                given = ", ".join(part for part in (extra, arguments, cursor_of.format(cursor) if cursor else "") if part)
                text = (f"query {{ {name}({given}) {{ ... on {connection} {{ edges {{ cursor }} "
                        "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }")
                page = (await factory.execute(text, user=supervisor))[name]
                pages.append([edge["cursor"] for edge in page["edges"]])
                info = page["pageInfo"]
                if not info[more[0]]:
                    break
                cursor = info[more[1]]
            walks[arguments] = [cursor for page in (pages if arguments.startswith("first") else pages[::-1])
                                for cursor in page]
        # then: the same rows, once each, in the same order
        assert walks["last: 2"] == walks["first: 2"], name
        assert len(set(walks["first: 2"])) == len(walks["first: 2"]) > 2, name


NESTED_BACK = """
query NestedBack($campaignId: ID!) {
  campaignQueue(campaignId: $campaignId, status: SCHEDULED) {
    ... on CampaignMemberConnection { edges { node {
      history(last: 1) { edges { cursor } pageInfo { hasNextPage hasPreviousPage } }
    } } }
  }
  tickets(last: 2) { edges { node {
    messages(last: 2) { edges { node { body } } pageInfo { hasNextPage hasPreviousPage startCursor } }
  } } }
}
"""


async def test_nested_connections_read_their_last_rows(factory: Factory, world: dict[str, Any]) -> None:
    campaign_id = world["arguments"]["campaignQueue"].split('"')[1]
    data = await factory.execute(NESTED_BACK, {"campaignId": campaign_id}, user=world["supervisor"])
    for edge in data["campaignQueue"]["edges"]:
        assert edge["node"]["history"]["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": False}
    threads = [edge["node"]["messages"] for edge in data["tickets"]["edges"]]
    assert [[node["node"]["body"] for node in thread["edges"]] for thread in threads] == [["m1", "m2"]] * 2
    assert {(t["pageInfo"]["hasNextPage"], t["pageInfo"]["hasPreviousPage"]) for t in threads} == {(False, True)}
    # and back from there: the first message alone
    before = threads[0]["pageInfo"]["startCursor"]
    ticket_id = (await factory.execute("query { tickets(last: 2) { edges { node { id } } } }", user=world["supervisor"]))[
        "tickets"]["edges"][0]["node"]["id"]
    earlier = await factory.execute(
        'query($id: ID!, $before: String) { ticket(id: $id) { messages(last: 5, before: $before) { '
        "edges { node { body } } pageInfo { hasNextPage hasPreviousPage } } } }",
        {"id": ticket_id, "before": before}, user=world["supervisor"],
    )
    assert earlier["ticket"]["messages"] == {
        "edges": [{"node": {"body": "m0"}}], "pageInfo": {"hasNextPage": True, "hasPreviousPage": False},
    }


NESTED = """
query Nested($campaignId: ID!) {
  campaignQueue(campaignId: $campaignId, status: SCHEDULED) {
    ... on CampaignMemberConnection { edges { node {
      history(first: 1) { totalCount edges { cursor } }
      person { operations(first: 1) { totalCount } }
    } } }
  }
  tickets { edges { node { messages(first: 1) { totalCount edges { cursor } } } } }
}
"""


async def test_nested_connections_count_per_parent(factory: Factory, world: dict[str, Any]) -> None:
    campaign_id = world["arguments"]["campaignQueue"].split('"')[1]
    data = await factory.execute(NESTED, {"campaignId": campaign_id}, user=world["supervisor"])
    members = data["campaignQueue"]["edges"]
    assert [edge["node"]["history"]["totalCount"] for edge in members] == [1] * ROWS
    assert [edge["node"]["person"]["operations"]["totalCount"] for edge in members] == [1] * ROWS
    assert [edge["node"]["messages"]["totalCount"] for edge in data["tickets"]["edges"]] == [ROWS] * ROWS
