from datetime import datetime

from models.event import Event
from models.ticket import NonConformity, Ticket, TicketAction
from models.user import Role
from tests.factories import Factory
from tests.ticket_factories import TicketFactory

CHILD_CREATE = """
mutation Child($parentId: ID!, $input: TicketChildCreateInput!) {
  ticketChildCreate(parentId: $parentId, input: $input) {
    __typename
    ... on Ticket { id number subject parent { id } status { name } company { id } messages { edges { node { body } } } }
    ... on TicketError { code field }
  }
}
"""

ACTION_PERFORM = """
mutation Action($input: TicketActionPerformInput!) {
  ticketActionPerform(input: $input) {
    __typename
    ... on TicketAction {
      status serviceOrderNumber notes definition { name } responsible { id }
      nonConformity { number description }
      ticket { id status { name } }
    }
    ... on TicketError { code field }
  }
}
"""

TICKET = """
query Ticket($id: ID!) {
  ticket(id: $id) { id status { name } children { id } actions { serviceOrderNumber } }
}
"""


async def test_an_action_moves_the_child_and_leaves_the_parent(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    rep = await factory.user(Role.COMPANY_REP)
    new = await tickets.status("Novo", initial=True)
    visit = await tickets.status("Visita agendada", return_after_days=2)
    definition = await tickets.action("Visita técnica", sets=visit, opens_service_order=True)
    parent = await tickets.ticket(rep, new, company=await rep.company)
    # when: a child, then the action on it
    data = await factory.execute(
        CHILD_CREATE, {"parentId": str(parent.pk), "input": {"body": "Abrir visita."}}, user=agent
    )
    child = data["ticketChildCreate"]
    assert child["parent"] == {"id": str(parent.pk)} and child["company"] == {
        "id": str(parent.company_id)
    }
    assert child["subject"] == parent.subject and child["status"] == {"name": "Novo"}
    assert child["messages"]["edges"] == [{"node": {"body": "Abrir visita."}}]
    data = await factory.execute(
        ACTION_PERFORM,
        {
            "input": {
                "ticketId": child["id"],
                "definitionId": str(definition.pk),
                "responsibleId": str(agent.pk),
            }
        },
        user=agent,
    )
    # then
    action = data["ticketActionPerform"]
    year = datetime.now(factory.settings.zone).year
    assert action["serviceOrderNumber"] == f"OS-{year}-000001"
    assert action["ticket"] == {"id": child["id"], "status": {"name": "Visita agendada"}}
    assert action["status"] == "DONE" and action["nonConformity"] is None
    assert (await Ticket.get(id=int(child["id"]))).return_due_at is not None
    unchanged = await Ticket.get(id=parent.pk)
    assert (unchanged.status_id, unchanged.return_due_at) == (new.pk, None)
    parent_view = await factory.execute(TICKET, {"id": str(parent.pk)}, user=agent)
    assert parent_view["ticket"] == {
        "id": str(parent.pk),
        "status": {"name": "Novo"},
        "children": [{"id": child["id"]}],
        "actions": [],
    }
    kinds = [event.kind for event in await Event.all().order_by("cursor")]
    assert kinds == ["TICKET_OPENED", "TICKET_UPDATED", "TICKET_STATUS_CHANGED"]
    # and the action is the operator's: its company's rep follows the child's status, not the action
    operator_view = await factory.execute(TICKET, {"id": child["id"]}, user=agent)
    rep_view = await factory.execute(TICKET, {"id": child["id"]}, user=rep)
    assert operator_view["ticket"]["actions"] == [{"serviceOrderNumber": f"OS-{year}-000001"}]
    assert rep_view["ticket"]["status"] == {"name": "Visita agendada"} and rep_view["ticket"]["actions"] == []


async def test_an_action_can_raise_a_non_conformity(
    factory: Factory, tickets: TicketFactory
) -> None:
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    definition = await tickets.action("Registrar FNC", raises_non_conformity=True)
    ticket = await tickets.ticket(agent, new)
    data = await factory.execute(
        ACTION_PERFORM,
        {
            "input": {
                "ticketId": str(ticket.pk),
                "definitionId": str(definition.pk),
                "notes": "Lote com defeito",
            }
        },
        user=agent,
    )
    action = data["ticketActionPerform"]
    year = datetime.now(factory.settings.zone).year
    assert action["nonConformity"] == {
        "number": f"NC-{year}-000001",
        "description": "Lote com defeito",
    }
    assert action["serviceOrderNumber"] is None and action["ticket"]["status"] == {"name": "Novo"}
    assert (await Event.get()).kind == "TICKET_UPDATED"


async def test_action_errors_write_nothing(factory: Factory, tickets: TicketFactory) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    rep = await factory.user(Role.COMPANY_REP)
    new = await tickets.status("Novo", initial=True)
    billed = await tickets.status("Faturado", email_on_enter=True)
    elsewhere = await tickets.status("Outro")
    contact_type = await tickets.contact_type(statuses=[new, billed])
    to_billed = await tickets.action(
        "Faturar", sets=billed, opens_service_order=True, raises_non_conformity=True
    )
    to_elsewhere = await tickets.action("Mover", sets=elsewhere)
    retired = await tickets.action("Antiga", active=False)
    ticket = await tickets.ticket(agent, new, contact_type=contact_type, company=await rep.company)
    base = {"ticketId": str(ticket.pk)}
    cases = [
        ({"definitionId": "999"}, agent, "UNKNOWN_ACTION", "definitionId"),
        ({"definitionId": str(retired.pk)}, agent, "UNKNOWN_ACTION", "definitionId"),
        ({"definitionId": str(to_elsewhere.pk)}, agent, "STATUS_NOT_ALLOWED", "definitionId"),
        ({"definitionId": str(to_billed.pk)}, agent, "CONFIRMATION_REQUIRED", "notifyCustomer"),
        (
            {"definitionId": str(to_billed.pk), "responsibleId": str(rep.pk)},
            agent,
            "INVALID_RESPONSIBLE",
            "responsibleId",
        ),
        ({"definitionId": str(to_billed.pk), "notifyCustomer": True}, rep, "FORBIDDEN", None),
    ]
    # when / then
    for overrides, user, code, field in cases:
        data = await factory.execute(ACTION_PERFORM, {"input": {**base, **overrides}}, user=user)
        assert (data["ticketActionPerform"]["code"], data["ticketActionPerform"]["field"]) == (
            code,
            field,
        ), overrides
    assert await TicketAction.all().count() == 0
    assert await NonConformity.all().count() == 0
    assert (await Ticket.get(id=ticket.pk)).status_id == new.pk
    assert await Event.all().count() == 0
    child = await factory.execute(
        CHILD_CREATE, {"parentId": str(ticket.pk), "input": {"body": " "}}, user=agent
    )
    assert (child["ticketChildCreate"]["code"], child["ticketChildCreate"]["field"]) == (
        "INVALID",
        "body",
    )
    assert await Ticket.all().count() == 1
