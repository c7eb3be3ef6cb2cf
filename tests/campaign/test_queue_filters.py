"""Queue filters ("filtro padrão e filtros personalizados") and each agent's saved filters."""

from __future__ import annotations

from datetime import timedelta

from models.campaign import CampaignMember, QueuePriority, QueueStatus, SavedQueueFilter
from models.user import Role
from schema import ContatoSchema
from tests.app.test_compiled_queries import COMPILED, normal, twice  # noqa: F401 - normal is a fixture
from tests.conftest import StatementCounter
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound

FILTERED = """
query Filtered($campaignId: ID!, $status: QueueStatus, $filter: QueueFilterInput, $saved: ID, $first: Int) {
  campaignQueue(campaignId: $campaignId, status: $status, filter: $filter, savedFilterId: $saved, first: $first) {
    __typename
    ... on CampaignMemberConnection { totalCount edges { node { person { name } } } }
    ... on CampaignError { code field }
  }
}
"""
FILTERED_PAGE = """
query FilteredPage($campaignId: ID!, $filter: QueueFilterInput, $first: Int) {
  campaignQueue(campaignId: $campaignId, status: SCHEDULED, filter: $filter, first: $first) {
    ... on CampaignMemberConnection {
      edges { node {
        id status attempts dueAt
        person { id name document phones }
        stage { name }
        lastOperation { id createdAt notes result { name kind } agent { name } }
        nextCallback { id dueAt status }
      } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
SAVE = """
mutation Save($input: SavedQueueFilterCreateInput!) {
  savedQueueFilterCreate(input: $input) {
    __typename
    ... on SavedQueueFilter { id name campaign { id } filter { text stageId unassigned dueFrom attemptsMin attemptsMax } }
    ... on CampaignError { code field }
  }
}
"""
UPDATE = """
mutation Update($id: ID!, $input: SavedQueueFilterUpdateInput!) {
  savedQueueFilterUpdate(id: $id, input: $input) {
    __typename ... on SavedQueueFilter { name filter { text attemptsMin } } ... on CampaignError { code field }
  }
}
"""
DELETE = """
mutation Delete($id: ID!) {
  savedQueueFilterDelete(id: $id) { __typename ... on SavedQueueFilter { name } ... on CampaignError { code field } }
}
"""
LIST = """
query Saved($campaignId: ID) {
  savedQueueFilters(campaignId: $campaignId) {
    __typename ... on SavedQueueFilterList { items { name campaign { id } } } ... on CampaignError { code }
  }
}
"""


def names(data: dict) -> list[str]:
    return [edge["node"]["person"]["name"] for edge in data["campaignQueue"]["edges"]]


async def _world(factory: Factory, outbound: Outbound, clock: Clock):  # type: ignore[no-untyped-def]
    agent, other = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign(agents=(agent, other))
    contact, proposal = await outbound.stage(campaign, 1), await outbound.stage(campaign, 2)
    now = clock()

    async def member(name: str, phones: list[str], document: str | None = None, **fields):  # type: ignore[no-untyped-def]
        person = await factory.person(name=name, phones=phones, document=document)
        stage = fields.pop("stage", None)
        row = await outbound.member(campaign, person, **fields)
        if stage is not None:
            await CampaignMember.filter(id=row.pk).update(stage_id=stage.pk)
        return row

    await member("José Almeida", ["+5511911110000"], document="52998224725")
    await member("Maria Souza", ["+5521922220000"], status=QueueStatus.SCHEDULED, attempts=1,
                 priority=QueuePriority.RECYCLE.value, due_at=now - timedelta(hours=1), stage=proposal)
    await member("Ana Lima", ["+5531933330000"], status=QueueStatus.SCHEDULED, attempts=2,
                 priority=QueuePriority.RECYCLE.value, due_at=now - timedelta(days=2), assigned_agent=agent)
    await member("Paulo Reis", ["+5541944440000"], status=QueueStatus.SCHEDULED, attempts=3,
                 priority=QueuePriority.CALLBACK.value, due_at=now - timedelta(minutes=5), assigned_agent=other)
    return agent, other, supervisor, campaign, contact, proposal


async def test_each_criterion_narrows_the_queue(factory: Factory, outbound: Outbound, clock: Clock) -> None:
    # given
    agent, _other, supervisor, campaign, _contact, proposal = await _world(factory, outbound, clock)
    now = clock()
    cases = [
        ({"text": "jose"}, None, ["José Almeida"]),
        ({"text": "529.982"}, None, ["José Almeida"]),
        ({"text": "21 92222"}, None, ["Maria Souza"]),
        ({"stageId": str(proposal.pk)}, None, ["Maria Souza"]),
        ({"assignedAgentId": str(agent.pk)}, "SCHEDULED", ["Ana Lima"]),
        ({"unassigned": True}, "SCHEDULED", ["Maria Souza"]),
        ({"unassigned": False}, "SCHEDULED", ["Paulo Reis", "Ana Lima"]),
        ({"dueFrom": (now - timedelta(hours=2)).isoformat(), "dueTo": now.isoformat()}, "SCHEDULED",
         ["Paulo Reis", "Maria Souza"]),
        ({"attemptsMin": 2}, "SCHEDULED", ["Paulo Reis", "Ana Lima"]),
        ({"attemptsMin": 1, "attemptsMax": 2, "text": "souza"}, "SCHEDULED", ["Maria Souza"]),
        ({}, None, ["José Almeida", "Ana Lima", "Maria Souza"]),
    ]
    for where, status, expected in cases:
        # when: the supervisor lists a status; the agent, their workable queue
        user = supervisor if status else agent
        data = await factory.execute(
            FILTERED, {"campaignId": str(campaign.pk), "status": status, "filter": where}, user=user
        )
        # then
        assert names(data) == expected, where
        assert data["campaignQueue"]["totalCount"] == len(expected), where


async def test_filter_refusals_are_typed(factory: Factory, outbound: Outbound, clock: Clock) -> None:
    agent, other, _supervisor, campaign, _contact, _proposal = await _world(factory, outbound, clock)
    elsewhere = await outbound.campaign(agents=(agent,))
    theirs = await SavedQueueFilter.create(agent=other, name="deles", criteria={})
    for_elsewhere = await SavedQueueFilter.create(agent=agent, campaign=elsewhere, name="outra", criteria={})
    now = clock()
    cases = [
        ({"filter": {"dueFrom": "2031-01-08T10:00:00"}}, "INVALID", "filter.dueFrom"),
        ({"filter": {"dueFrom": now.isoformat(), "dueTo": now.isoformat()}}, "INVALID", "filter.dueTo"),
        ({"filter": {"attemptsMin": -1}}, "INVALID", "filter.attemptsMin"),
        ({"filter": {"attemptsMin": 3, "attemptsMax": 2}}, "INVALID", "filter.attemptsMax"),
        ({"filter": {"unassigned": True, "assignedAgentId": str(agent.pk)}}, "INVALID", "filter.unassigned"),
        ({"filter": {"stageId": str((await outbound.stage(elsewhere)).pk)}}, "STAGE_NOT_IN_CAMPAIGN", "filter.stageId"),
        ({"filter": {}, "saved": str(for_elsewhere.pk)}, "INVALID", "savedFilterId"),
        ({"saved": str(theirs.pk)}, "NOT_FOUND", "savedFilterId"),
        ({"saved": str(for_elsewhere.pk)}, "INVALID", "savedFilterId"),
    ]
    for variables, code, field in cases:
        data = await factory.execute(FILTERED, {"campaignId": str(campaign.pk), **variables}, user=agent)
        assert data["campaignQueue"] == {"__typename": "CampaignError", "code": code, "field": field}, variables


async def test_agents_save_list_apply_update_and_delete_their_own_filters(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given
    agent, other, _supervisor, campaign, _contact, _proposal = await _world(factory, outbound, clock)
    rep = await factory.user(Role.COMPANY_REP, company=await factory.company("Acme"))
    # when
    saved = await factory.execute(
        SAVE, {"input": {"name": " Retornos ", "campaignId": str(campaign.pk), "filter": {"attemptsMin": 1}}}, user=agent
    )
    everywhere = await factory.execute(SAVE, {"input": {"name": "José", "filter": {"text": " jose "}}}, user=agent)
    # then
    created = saved["savedQueueFilterCreate"]
    assert created["name"] == "Retornos" and created["campaign"] == {"id": str(campaign.pk)}
    assert created["filter"]["attemptsMin"] == 1 and created["filter"]["text"] is None
    assert everywhere["savedQueueFilterCreate"]["filter"]["text"] == "jose"
    listed = await factory.execute(LIST, {"campaignId": str(campaign.pk)}, user=agent)
    assert [item["name"] for item in listed["savedQueueFilters"]["items"]] == ["José", "Retornos"]
    assert (await factory.execute(LIST, {}, user=other))["savedQueueFilters"]["items"] == []
    # and a saved filter narrows the queue as its criteria do
    applied = await factory.execute(
        FILTERED, {"campaignId": str(campaign.pk), "saved": created["id"]}, user=agent
    )
    assert names(applied) == ["Ana Lima", "Maria Souza"]
    # when: renamed and changed
    updated = await factory.execute(
        UPDATE, {"id": created["id"], "input": {"name": "Dois ou mais", "filter": {"attemptsMin": 2}}}, user=agent
    )
    assert updated["savedQueueFilterUpdate"] == {
        "__typename": "SavedQueueFilter", "name": "Dois ou mais", "filter": {"text": None, "attemptsMin": 2}
    }
    applied = await factory.execute(FILTERED, {"campaignId": str(campaign.pk), "saved": created["id"]}, user=agent)
    assert names(applied) == ["Ana Lima"]
    # and refusals
    duplicate = await factory.execute(SAVE, {"input": {"name": "José", "filter": {}}}, user=agent)
    assert duplicate["savedQueueFilterCreate"] == {"__typename": "CampaignError", "code": "DUPLICATE_NAME", "field": "name"}
    blank = await factory.execute(SAVE, {"input": {"name": "  ", "filter": {}}}, user=agent)
    assert blank["savedQueueFilterCreate"]["code"] == "INVALID"
    by_rep = await factory.execute(SAVE, {"input": {"name": "x", "filter": {}}}, user=rep)
    assert by_rep["savedQueueFilterCreate"]["code"] == "FORBIDDEN"
    assert (await factory.execute(LIST, {}, user=rep))["savedQueueFilters"] == {
        "__typename": "CampaignError", "code": "FORBIDDEN"
    }
    not_theirs = await factory.execute(DELETE, {"id": created["id"]}, user=other)
    assert not_theirs["savedQueueFilterDelete"]["code"] == "NOT_FOUND"
    bad_time = await factory.execute(
        UPDATE, {"id": created["id"], "input": {"filter": {"dueTo": "2031-01-01T00:00:00"}}}, user=agent
    )
    assert bad_time["savedQueueFilterUpdate"]["code"] == "INVALID"
    # when: deleted
    deleted = await factory.execute(DELETE, {"id": created["id"]}, user=agent)
    assert deleted["savedQueueFilterDelete"] == {"__typename": "SavedQueueFilter", "name": "Dois ou mais"}
    assert await SavedQueueFilter.filter(agent_id=agent.pk).count() == 1


async def test_a_filtered_queue_page_costs_a_fixed_number_of_statements_on_the_compiled_path(
    factory: Factory, outbound: Outbound, clock: Clock, sql_statements: StatementCounter,
    normal: ContatoSchema,  # noqa: F811
) -> None:
    # given: 30 scheduled members, two thirds of them "Souza"
    agent = await factory.user(Role.AGENT)
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign(agents=(agent,))
    for index in range(30):
        await outbound.member(
            campaign, await factory.person(name=f"{'Souza' if index % 3 else 'Lima'} {index}"),
            status=QueueStatus.SCHEDULED, priority=QueuePriority.RECYCLE.value, attempts=1 + index % 3,
            due_at=clock() - timedelta(minutes=60 - index),
        )
    where = {"text": "souza", "attemptsMin": 2, "dueTo": clock().isoformat()}
    counts = {}
    for size in (3, 15):
        variables = {"campaignId": str(campaign.pk), "filter": where, "first": size}
        sql_statements.statements.clear()
        # when
        data = await factory.execute(FILTERED_PAGE, variables, user=supervisor)
        counts[size] = len(sql_statements.statements)
        # then
        edges = data["campaignQueue"]["edges"]
        assert len(edges) == min(size, 20)
        assert all(edge["node"]["person"]["name"].startswith("Souza") and edge["node"]["attempts"] >= 2
                   for edge in edges)
        # and the compiled path answers it, as graphql-core would
        fast, slow, taken = await twice(factory, normal, FILTERED_PAGE, variables, supervisor)
        assert fast == slow and taken == COMPILED
    # the same few statements whatever the page size (4 on SQLite: campaign, page, count, relations)
    assert counts[3] == counts[15] <= 6, sql_statements.statements
