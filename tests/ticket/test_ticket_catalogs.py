from datetime import datetime, timedelta

from models.ticket_catalog import ContactType, TicketClassification, TicketStatus
from models.user import Role
from tests.factories import Factory
from tests.ticket_factories import TicketFactory

CLASSIFICATION_CREATE = """
mutation Create($input: TicketClassificationCreateInput!) {
  ticketClassificationCreate(input: $input) {
    __typename
    ... on TicketClassification { id name parent { id } }
    ... on TicketCatalogError { code field }
  }
}
"""

CLASSIFICATIONS = """
query Classifications($parentId: ID, $includeInactive: Boolean! = false) {
  ticketClassifications(parentId: $parentId, includeInactive: $includeInactive) {
    edges { node { name active children { name } } }
  }
}
"""

STATUS_CREATE = """
mutation Create($input: TicketStatusCreateInput!) {
  ticketStatusCreate(input: $input) {
    __typename
    ... on TicketStatus { id name initial returnAfterDays allowsClosing emailOnEnter emailOnChange }
    ... on TicketCatalogError { code field }
  }
}
"""

STATUS_UPDATE = """
mutation Update($id: ID!, $input: TicketStatusUpdateInput!) {
  ticketStatusUpdate(id: $id, input: $input) {
    __typename
    ... on TicketStatus { returnAfterDays name }
    ... on TicketCatalogError { code field }
  }
}
"""

CONTACT_TYPE_CREATE = """
mutation Create($input: ContactTypeCreateInput!) {
  contactTypeCreate(input: $input) {
    __typename
    ... on ContactType { id name validFrom validTo allowedStatuses { name } }
    ... on TicketCatalogError { code field }
  }
}
"""

SUBTYPE_CREATE = """
mutation Create($input: ContactSubtypeCreateInput!) {
  contactSubtypeCreate(input: $input) {
    __typename
    ... on ContactSubtype { name contactType { name } }
    ... on TicketCatalogError { code field }
  }
}
"""

CONTACT_TYPE_DEACTIVATE = """
mutation Deactivate($id: ID!) {
  contactTypeDeactivate(id: $id) {
    __typename
    ... on ContactType { active }
    ... on TicketCatalogError { code field }
  }
}
"""

CONTACT_TYPES = (
    "query { contactTypes { edges { node { name subtypes { name } allowedStatuses { name } } } } }"
)

ACTION_CREATE = """
mutation Create($input: ActionDefinitionCreateInput!) {
  actionDefinitionCreate(input: $input) {
    __typename
    ... on ActionDefinition { name setsTicketStatus { name } opensServiceOrder raisesNonConformity }
    ... on TicketCatalogError { code field }
  }
}
"""

CLOSURE_REASON_CREATE = """
mutation Create($name: String!) {
  closureReasonCreate(input: {name: $name}) { __typename ... on TicketCatalogError { code field } }
}
"""


async def test_supervisor_builds_the_classification_tree(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given
    supervisor = await factory.user(Role.SUPERVISOR)
    rep = await factory.user(Role.COMPANY_REP)
    # when
    root = (
        await factory.execute(
            CLASSIFICATION_CREATE, {"input": {"name": "Financeiro"}}, user=supervisor
        )
    )["ticketClassificationCreate"]
    sub = await factory.execute(
        CLASSIFICATION_CREATE,
        {"input": {"name": "Cobrança", "parentId": root["id"]}},
        user=supervisor,
    )
    # then
    assert sub["ticketClassificationCreate"]["parent"] == {"id": root["id"]}
    too_deep = await factory.execute(
        CLASSIFICATION_CREATE,
        {"input": {"name": "Neta", "parentId": sub["ticketClassificationCreate"]["id"]}},
        user=supervisor,
    )
    assert too_deep["ticketClassificationCreate"] == {
        "__typename": "TicketCatalogError",
        "code": "INVALID_PARENT",
        "field": "parentId",
    }
    duplicate = await factory.execute(
        CLASSIFICATION_CREATE,
        {"input": {"name": "Cobrança", "parentId": root["id"]}},
        user=supervisor,
    )
    assert duplicate["ticketClassificationCreate"]["code"] == "DUPLICATE_NAME"
    forbidden = await factory.execute(CLASSIFICATION_CREATE, {"input": {"name": "X"}}, user=rep)
    assert forbidden["ticketClassificationCreate"]["code"] == "FORBIDDEN"
    listed = await factory.execute(CLASSIFICATIONS, {}, user=rep)
    assert listed["ticketClassifications"]["edges"] == [
        {"node": {"name": "Financeiro", "active": True, "children": [{"name": "Cobrança"}]}}
    ]
    assert await TicketClassification.all().count() == 2


async def test_statuses_with_flags(factory: Factory, tickets: TicketFactory) -> None:
    admin = await factory.user(Role.ADMIN)
    agent = await factory.user(Role.AGENT)
    data = await factory.execute(
        STATUS_CREATE,
        {
            "input": {
                "name": "Aguardando",
                "returnAfterDays": 3,
                "emailOnEnter": True,
                "allowsClosing": True,
            }
        },
        user=admin,
    )
    status = data["ticketStatusCreate"]
    assert (status["returnAfterDays"], status["emailOnEnter"], status["allowsClosing"]) == (
        3,
        True,
        True,
    )
    bad = await factory.execute(
        STATUS_CREATE, {"input": {"name": "X", "returnAfterDays": 0}}, user=admin
    )
    assert (bad["ticketStatusCreate"]["code"], bad["ticketStatusCreate"]["field"]) == (
        "INVALID",
        "returnAfterDays",
    )
    cleared = await factory.execute(
        STATUS_UPDATE, {"id": status["id"], "input": {"returnAfterDays": None}}, user=admin
    )
    assert cleared["ticketStatusUpdate"] == {
        "__typename": "TicketStatus",
        "returnAfterDays": None,
        "name": "Aguardando",
    }
    kept = await factory.execute(
        STATUS_UPDATE, {"id": status["id"], "input": {"name": "Aguarda"}}, user=admin
    )
    assert kept["ticketStatusUpdate"]["name"] == "Aguarda"
    forbidden = await factory.execute(STATUS_CREATE, {"input": {"name": "Y"}}, user=agent)
    assert forbidden["ticketStatusCreate"]["code"] == "FORBIDDEN"
    missing = await factory.execute(
        STATUS_UPDATE, {"id": "999", "input": {"name": "Z"}}, user=admin
    )
    assert missing["ticketStatusUpdate"]["code"] == "NOT_FOUND"
    assert await TicketStatus.all().count() == 1


async def test_contact_types_with_validity_statuses_and_subtypes(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given
    supervisor = await factory.user(Role.SUPERVISOR)
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    # when / then
    bad_dates = await factory.execute(
        CONTACT_TYPE_CREATE,
        {"input": {"name": "X", "validFrom": "2025-02-01", "validTo": "2025-01-01"}},
        user=supervisor,
    )
    assert (bad_dates["contactTypeCreate"]["code"], bad_dates["contactTypeCreate"]["field"]) == (
        "INVALID_VALIDITY",
        "validTo",
    )
    unknown = await factory.execute(
        CONTACT_TYPE_CREATE, {"input": {"name": "X", "allowedStatusIds": ["999"]}}, user=supervisor
    )
    assert unknown["contactTypeCreate"]["code"] == "UNKNOWN_STATUS"
    created = await factory.execute(
        CONTACT_TYPE_CREATE,
        {
            "input": {
                "name": "Reclamação",
                "validFrom": "2025-01-01",
                "allowedStatusIds": [str(new.pk)],
            }
        },
        user=supervisor,
    )
    contact_type = created["contactTypeCreate"]
    assert contact_type["allowedStatuses"] == [{"name": "Novo"}] and contact_type["validTo"] is None
    subtype = await factory.execute(
        SUBTYPE_CREATE,
        {"input": {"contactTypeId": contact_type["id"], "name": "Cobrança"}},
        user=supervisor,
    )
    assert subtype["contactSubtypeCreate"] == {
        "__typename": "ContactSubtype",
        "name": "Cobrança",
        "contactType": {"name": "Reclamação"},
    }
    orphan = await factory.execute(
        SUBTYPE_CREATE, {"input": {"contactTypeId": "999", "name": "X"}}, user=supervisor
    )
    assert orphan["contactSubtypeCreate"]["code"] == "UNKNOWN_CONTACT_TYPE"
    listed = await factory.execute(CONTACT_TYPES, user=agent)
    assert listed["contactTypes"]["edges"] == [
        {
            "node": {
                "name": "Reclamação",
                "subtypes": [{"name": "Cobrança"}],
                "allowedStatuses": [{"name": "Novo"}],
            }
        }
    ]
    deactivated = await factory.execute(
        CONTACT_TYPE_DEACTIVATE, {"id": contact_type["id"]}, user=supervisor
    )
    assert deactivated["contactTypeDeactivate"] == {"__typename": "ContactType", "active": False}
    assert (await factory.execute(CONTACT_TYPES, user=agent))["contactTypes"]["edges"] == []
    assert await ContactType.all().count() == 1


async def test_action_definitions_and_closure_reasons(
    factory: Factory, tickets: TicketFactory
) -> None:
    admin = await factory.user(Role.ADMIN)
    status = await tickets.status("Visita agendada")
    data = await factory.execute(
        ACTION_CREATE,
        {
            "input": {
                "name": "Visita",
                "setsTicketStatusId": str(status.pk),
                "opensServiceOrder": True,
            }
        },
        user=admin,
    )
    assert data["actionDefinitionCreate"] == {
        "__typename": "ActionDefinition",
        "name": "Visita",
        "setsTicketStatus": {"name": "Visita agendada"},
        "opensServiceOrder": True,
        "raisesNonConformity": False,
    }
    unknown = await factory.execute(
        ACTION_CREATE, {"input": {"name": "X", "setsTicketStatusId": "999"}}, user=admin
    )
    assert (
        unknown["actionDefinitionCreate"]["code"],
        unknown["actionDefinitionCreate"]["field"],
    ) == ("UNKNOWN_STATUS", "setsTicketStatusId")
    assert (await factory.execute(CLOSURE_REASON_CREATE, {"name": "Resolvido"}, user=admin))[
        "closureReasonCreate"
    ] == {"__typename": "ClosureReason"}
    again = await factory.execute(CLOSURE_REASON_CREATE, {"name": "Resolvido"}, user=admin)
    assert again["closureReasonCreate"] == {
        "__typename": "TicketCatalogError",
        "code": "DUPLICATE_NAME",
        "field": "name",
    }


async def test_a_name_with_a_nul_character_is_refused(
    factory: Factory, tickets: TicketFactory
) -> None:
    """PostgreSQL text cannot hold NUL: the request is refused (BAD_USER_INPUT), nothing written."""
    admin = await factory.user(Role.ADMIN)
    status = await factory.execute_raw(STATUS_CREATE, {"input": {"name": "Novo\x00"}}, user=admin)
    contact_type = await factory.execute_raw(
        CONTACT_TYPE_CREATE, {"input": {"name": "Reclamação", "notes": "SAC\x00"}}, user=admin
    )
    for result in (status, contact_type):
        assert result.data is None and result.errors[0].extensions == {"code": "BAD_USER_INPUT"}
    assert await TicketStatus.all().count() == 0 and await ContactType.all().count() == 0


CONTACT_TYPES_BY_VALIDITY = """
query Types($expired: Boolean!) {
  contactTypes(includeExpired: $expired, first: 50) { edges { node { name validFrom validTo } } }
}
"""


async def test_contact_types_leave_out_those_ticket_open_refuses_unless_asked(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given: types valid today (open-ended, ending today, started today), ended and not yet started
    agent = await factory.user(Role.AGENT)
    today = datetime.now(factory.settings.zone).date()  # the local date ticketOpen checks
    await tickets.contact_type("Sempre")
    await tickets.contact_type("Até hoje", valid_to=today)
    await tickets.contact_type("Desde hoje", valid_from=today)
    await tickets.contact_type("Vencido", valid_to=today - timedelta(days=1))
    await tickets.contact_type("Futuro", valid_from=today + timedelta(days=1))
    # when
    listed = {
        expired: [edge["node"]["name"] for edge in (
            await factory.execute(CONTACT_TYPES_BY_VALIDITY, {"expired": expired}, user=agent)
        )["contactTypes"]["edges"]]
        for expired in (False, True)
    }
    # then: by default, what ticketOpen accepts today; asked, every active type
    assert listed == {
        False: ["Sempre", "Até hoje", "Desde hoje"],
        True: ["Sempre", "Até hoje", "Desde hoje", "Vencido", "Futuro"],
    }
