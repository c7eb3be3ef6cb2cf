import pytest

from models.outbound import ContactResult, Justification, JustificationResult, ResultKind
from models.user import Role
from tests.factories import Factory
from tests.outbound_factories import Outbound

CONTACT_RESULT_CREATE = """
mutation Create($input: ContactResultInput!) {
  contactResultCreate(input: $input) {
    __typename
    ... on ContactResult { id name kind recycleAfterMinutes recycleMaxAttempts active }
    ... on CatalogError { code field message }
  }
}
"""
JUSTIFICATION_CREATE = """
mutation Create($input: JustificationInput!) {
  justificationCreate(input: $input) {
    __typename
    ... on Justification { id name results { name } }
    ... on CatalogError { code field }
  }
}
"""
JUSTIFICATION_UPDATE = """
mutation Update($id: ID!, $input: JustificationUpdateInput!) {
  justificationUpdate(id: $id, input: $input) {
    __typename ... on Justification { results { name } } ... on CatalogError { code field }
  }
}
"""
DEACTIVATE = """
mutation Deactivate($id: ID!) {
  contactChannelDeactivate(id: $id) { __typename ... on ContactChannel { active } ... on CatalogError { code } }
}
"""
CHANNELS = """
query Channels($includeInactive: Boolean!) {
  contactChannels(includeInactive: $includeInactive) { edges { node { name active } } }
}
"""
ACTION_TYPE_CREATE = """
mutation Create($input: ActionTypeInput!) {
  actionTypeCreate(input: $input) {
    __typename ... on ActionType { name script { title body } } ... on CatalogError { code field }
  }
}
"""
OTHERS_CREATE = """
mutation Others {
  scriptCreate(input: {title: "Oferta", body: "Olá {person.name}"}) { __typename ... on Script { id } }
  noContactReasonCreate(input: {name: "Pediu retorno", requiresCallback: true}) {
    __typename ... on NoContactReason { requiresCallback }
  }
  contactChannelCreate(input: {name: "WhatsApp"}) { __typename ... on ContactChannel { name } }
}
"""


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERVISOR])
async def test_admins_and_supervisors_maintain_catalogs(factory: Factory, role: Role) -> None:
    # given
    user = await factory.user(role)
    # when
    data = await factory.execute(
        CONTACT_RESULT_CREATE,
        {"input": {"name": "Ocupado", "kind": "FAILURE", "recycleAfterMinutes": 30, "recycleMaxAttempts": 3}},
        user=user,
    )
    others = await factory.execute(OTHERS_CREATE, user=user)
    # then
    assert data["contactResultCreate"] == {
        "__typename": "ContactResult", "id": data["contactResultCreate"]["id"], "name": "Ocupado",
        "kind": "FAILURE", "recycleAfterMinutes": 30, "recycleMaxAttempts": 3, "active": True,
    }
    assert others["noContactReasonCreate"] == {"__typename": "NoContactReason", "requiresCallback": True}
    assert others["contactChannelCreate"] == {"__typename": "ContactChannel", "name": "WhatsApp"}


async def test_agents_read_but_do_not_write(factory: Factory, outbound: Outbound) -> None:
    agent = await factory.user(Role.AGENT)
    await outbound.channel()
    data = await factory.execute(
        CONTACT_RESULT_CREATE, {"input": {"name": "Venda", "kind": "SUCCESS"}}, user=agent
    )
    assert data["contactResultCreate"]["code"] == "FORBIDDEN"
    assert await ContactResult.all().count() == 0
    listed = await factory.execute(CHANNELS, {"includeInactive": False}, user=agent)
    assert len(listed["contactChannels"]["edges"]) == 1


async def test_duplicate_names_and_bad_recycle_rules_are_refused(factory: Factory, outbound: Outbound) -> None:
    admin = await factory.user(Role.ADMIN)
    await outbound.result(name="Venda")
    duplicate = await factory.execute(CONTACT_RESULT_CREATE, {"input": {"name": "Venda", "kind": "SUCCESS"}}, user=admin)
    assert (duplicate["contactResultCreate"]["code"], duplicate["contactResultCreate"]["field"]) == ("DUPLICATE_NAME", "name")
    zero = await factory.execute(
        CONTACT_RESULT_CREATE, {"input": {"name": "X", "kind": "FAILURE", "recycleAfterMinutes": 0}}, user=admin
    )
    assert (zero["contactResultCreate"]["code"], zero["contactResultCreate"]["field"]) == ("INVALID", "recycleAfterMinutes")
    assert await ContactResult.all().count() == 1


async def test_justifications_link_to_active_results_only(factory: Factory, outbound: Outbound) -> None:
    # given
    supervisor = await factory.user(Role.SUPERVISOR)
    sale = await outbound.result(ResultKind.SUCCESS, name="Venda")
    refusal = await outbound.result(ResultKind.FAILURE, name="Recusa")
    retired = await outbound.result(ResultKind.FAILURE, name="Antigo", active=False)
    # when
    created = await factory.execute(
        JUSTIFICATION_CREATE, {"input": {"name": "Preço", "resultIds": [str(sale.pk), str(refusal.pk)]}}, user=supervisor
    )
    unknown = await factory.execute(
        JUSTIFICATION_CREATE, {"input": {"name": "Outro", "resultIds": ["999999"]}}, user=supervisor
    )
    inactive = await factory.execute(
        JUSTIFICATION_CREATE, {"input": {"name": "Outro", "resultIds": [str(retired.pk)]}}, user=supervisor
    )
    too_many = await factory.execute(
        JUSTIFICATION_CREATE, {"input": {"name": "Outro", "resultIds": [str(sale.pk)] * 101}}, user=supervisor
    )
    # then
    justification = created["justificationCreate"]
    assert justification["results"] == [{"name": "Venda"}, {"name": "Recusa"}]
    assert unknown["justificationCreate"] == {"__typename": "CatalogError", "code": "UNKNOWN_RESULT", "field": "resultIds"}
    assert inactive["justificationCreate"]["code"] == "INACTIVE_CATALOG_ENTRY"
    assert too_many["justificationCreate"]["code"] == "TOO_MANY_IDS"
    assert await Justification.all().count() == 1
    # when: the list is replaced
    updated = await factory.execute(
        JUSTIFICATION_UPDATE, {"id": justification["id"], "input": {"resultIds": [str(refusal.pk)]}}, user=supervisor
    )
    assert updated["justificationUpdate"]["results"] == [{"name": "Recusa"}]
    assert await JustificationResult.all().count() == 1


async def test_deactivated_entries_are_listed_only_on_request(factory: Factory, outbound: Outbound) -> None:
    admin = await factory.user(Role.ADMIN)
    channel = await outbound.channel()
    data = await factory.execute(DEACTIVATE, {"id": str(channel.pk)}, user=admin)
    assert data["contactChannelDeactivate"] == {"__typename": "ContactChannel", "active": False}
    assert (await factory.execute(CHANNELS, {"includeInactive": False}, user=admin))["contactChannels"]["edges"] == []
    listed = await factory.execute(CHANNELS, {"includeInactive": True}, user=admin)
    assert listed["contactChannels"]["edges"] == [{"node": {"name": channel.name, "active": False}}]
    missing = await factory.execute(DEACTIVATE, {"id": "999999"}, user=admin)
    assert missing["contactChannelDeactivate"]["code"] == "NOT_FOUND"


async def test_an_action_type_takes_an_active_script(factory: Factory, outbound: Outbound) -> None:
    admin = await factory.user(Role.ADMIN)
    others = await factory.execute(OTHERS_CREATE, user=admin)
    script_id = others["scriptCreate"]["id"]
    data = await factory.execute(ACTION_TYPE_CREATE, {"input": {"name": "Ligação", "scriptId": script_id}}, user=admin)
    assert data["actionTypeCreate"]["script"] == {"title": "Oferta", "body": "Olá {person.name}"}
    await factory.execute(
        "mutation($id: ID!) { scriptDeactivate(id: $id) { __typename } }", {"id": script_id}, user=admin
    )
    refused = await factory.execute(ACTION_TYPE_CREATE, {"input": {"name": "Visita", "scriptId": script_id}}, user=admin)
    assert refused["actionTypeCreate"] == {"__typename": "CatalogError", "code": "INACTIVE_CATALOG_ENTRY", "field": "scriptId"}
