from datetime import timedelta

from models.campaign import Campaign, CampaignAgent, CampaignMember, CampaignStage
from models.event import Event
from models.operation import Callback
from models.user import Role
from realtime.alerts import run_once
from realtime.due import DUE_SOURCES
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound

CAMPAIGN_CREATE = """
mutation Create($input: CampaignCreateInput!) {
  campaignCreate(input: $input) {
    __typename
    ... on Campaign {
      id name startDate endDate callbackPolicy callbackOpensAfterMinutes maxAttempts
      callingHours { weekdayStart weekdayEnd saturdayStart saturdayEnd }
      stages { id name position }
      defaultActionType { name }
    }
    ... on CampaignError { code field message }
  }
}
"""
CAMPAIGN_UPDATE = """
mutation Update($id: ID!, $input: CampaignUpdateInput!) {
  campaignUpdate(id: $id, input: $input) {
    __typename ... on Campaign { endDate stages { id name position } } ... on CampaignError { code field }
  }
}
"""
AGENTS_SET = """
mutation Agents($id: ID!, $agentIds: [ID!]!) {
  campaignAgentsSet(id: $id, agentIds: $agentIds) {
    __typename ... on Campaign { agents { id } } ... on CampaignError { code field }
  }
}
"""
OPENS_AFTER_UPDATE = """
mutation Update($id: ID!, $input: CampaignUpdateInput!) {
  campaignUpdate(id: $id, input: $input) { ... on Campaign { callbackOpensAfterMinutes } }
}
"""
CAMPAIGNS = "query { campaigns { edges { node { name } } } }"


async def test_supervisor_creates_a_campaign_with_stages_and_calling_hours(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given
    supervisor = await factory.user(Role.SUPERVISOR)
    action = await outbound.action_type()
    # when
    data = await factory.execute(
        CAMPAIGN_CREATE,
        {"input": {
            "name": " Renovação 2031 ", "startDate": str(clock.today), "endDate": str(clock.today + timedelta(days=30)),
            "defaultActionTypeId": str(action.pk), "callbackOpensAfterMinutes": 30, "maxAttempts": 5,
            "callingHours": {"weekdayStart": "08:00", "weekdayEnd": "20:00", "saturdayStart": None, "saturdayEnd": None},
            "stages": [{"name": "Contato"}, {"name": "Proposta"}, {"name": "Fechamento"}],
        }},
        user=supervisor,
    )
    # then
    campaign = data["campaignCreate"]
    assert campaign["name"] == "Renovação 2031"
    assert campaign["callbackPolicy"] == "USER_ONLY"
    assert campaign["callingHours"] == {"weekdayStart": "08:00", "weekdayEnd": "20:00", "saturdayStart": None, "saturdayEnd": None}
    assert [(s["name"], s["position"]) for s in campaign["stages"]] == [("Contato", 1), ("Proposta", 2), ("Fechamento", 3)]
    assert campaign["defaultActionType"] == {"name": action.name}


async def test_campaign_input_errors(factory: Factory, outbound: Outbound, clock: Clock) -> None:
    supervisor = await factory.user(Role.SUPERVISOR)
    agent = await factory.user(Role.AGENT)
    retired = await outbound.action_type(active=False)
    base = {"name": "C", "startDate": str(clock.today)}
    cases = [
        ({**base, "endDate": str(clock.today - timedelta(days=1))}, supervisor, "INVALID_PERIOD", "endDate"),
        ({**base, "callingHours": {"weekdayStart": "21:00", "weekdayEnd": "09:00"}}, supervisor,
         "INVALID_CALLING_HOURS", "callingHours"),
        ({**base, "callingHours": {"weekdayStart": "9h", "weekdayEnd": "18:00"}}, supervisor,
         "INVALID_CALLING_HOURS", "callingHours.weekdayStart"),
        ({**base, "defaultActionTypeId": str(retired.pk)}, supervisor, "INACTIVE_CATALOG_ENTRY", "defaultActionTypeId"),
        ({**base, "defaultActionTypeId": "999999"}, supervisor, "UNKNOWN_ACTION_TYPE", "defaultActionTypeId"),
        ({**base, "maxAttempts": 0}, supervisor, "INVALID", "maxAttempts"),
        (base, agent, "FORBIDDEN", None),
    ]
    for values, user, code, field in cases:
        data = await factory.execute(CAMPAIGN_CREATE, {"input": values}, user=user)
        assert (data["campaignCreate"]["code"], data["campaignCreate"]["field"]) == (code, field), values
    assert await Campaign.all().count() == 0


async def test_update_reorders_renames_adds_and_removes_stages(factory: Factory, outbound: Outbound) -> None:
    # given
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign(stages=("A", "B", "C"))
    a, b, c = [await outbound.stage(campaign, position) for position in (1, 2, 3)]
    foreign = await outbound.stage(await outbound.campaign(), 1)
    await outbound.member(campaign)  # at stage A
    update = {"id": str(campaign.pk)}
    # when / then: a stage of another campaign
    data = await factory.execute(CAMPAIGN_UPDATE, {**update, "input": {"stages": [{"id": str(foreign.pk), "name": "X"}]}}, user=supervisor)
    assert data["campaignUpdate"] == {"__typename": "CampaignError", "code": "STAGE_NOT_IN_CAMPAIGN", "field": "stages"}
    # when / then: removing a stage that still has members
    data = await factory.execute(CAMPAIGN_UPDATE, {**update, "input": {"stages": [{"id": str(b.pk), "name": "B"}]}}, user=supervisor)
    assert data["campaignUpdate"]["code"] == "STAGE_IN_USE"
    # when: reorder, rename, add, remove C
    data = await factory.execute(
        CAMPAIGN_UPDATE,
        {**update, "input": {"stages": [{"id": str(b.pk), "name": "B"}, {"id": str(a.pk), "name": "A2"}, {"name": "D"}]}},
        user=supervisor,
    )
    # then
    stages = data["campaignUpdate"]["stages"]
    assert [(s["name"], s["position"]) for s in stages] == [("B", 1), ("A2", 2), ("D", 3)]
    assert not await CampaignStage.filter(id=c.pk).exists()


async def test_update_sets_keeps_and_clears_when_callbacks_open_to_anyone(factory: Factory, outbound: Outbound) -> None:
    # given
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign(callback_opens_after_minutes=30)
    ids = {"id": str(campaign.pk)}
    # when / then: 0 opens them as soon as they are due
    zero = await factory.execute(OPENS_AFTER_UPDATE, {**ids, "input": {"callbackOpensAfterMinutes": 0}}, user=supervisor)
    assert zero["campaignUpdate"] == {"callbackOpensAfterMinutes": 0}
    kept = await factory.execute(OPENS_AFTER_UPDATE, {**ids, "input": {"name": "Renamed"}}, user=supervisor)
    assert kept["campaignUpdate"] == {"callbackOpensAfterMinutes": 0}
    cleared = await factory.execute(OPENS_AFTER_UPDATE, {**ids, "input": {"callbackOpensAfterMinutes": None}}, user=supervisor)
    assert cleared["campaignUpdate"] == {"callbackOpensAfterMinutes": None}
    assert (await Campaign.get(id=campaign.pk)).callback_opens_after_minutes is None


async def test_agents_set_replaces_the_assignment_and_scopes_what_agents_see(
    factory: Factory, outbound: Outbound
) -> None:
    supervisor = await factory.user(Role.SUPERVISOR)
    first, second = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    rep = await factory.user(Role.COMPANY_REP)
    campaign = await outbound.campaign(agents=(first,))
    await outbound.campaign()
    data = await factory.execute(AGENTS_SET, {"id": str(campaign.pk), "agentIds": [str(second.pk)]}, user=supervisor)
    assert data["campaignAgentsSet"]["agents"] == [{"id": str(second.pk)}]
    refused = await factory.execute(AGENTS_SET, {"id": str(campaign.pk), "agentIds": [str(rep.pk)]}, user=supervisor)
    assert refused["campaignAgentsSet"] == {"__typename": "CampaignError", "code": "UNKNOWN_AGENT", "field": "agentIds"}
    assert await CampaignAgent.filter(campaign_id=campaign.pk).values_list("agent_id", flat=True) == [second.pk]
    assert len((await factory.execute(CAMPAIGNS, user=second))["campaigns"]["edges"]) == 1
    assert (await factory.execute(CAMPAIGNS, user=first))["campaigns"]["edges"] == []
    assert (await factory.execute(CAMPAIGNS, user=rep))["campaigns"]["edges"] == []
    assert len((await factory.execute(CAMPAIGNS, user=supervisor))["campaigns"]["edges"]) == 2
    assert await CampaignMember.all().count() == 0


async def test_an_agent_taken_off_a_campaign_leaves_their_work_to_the_team(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given: agent A holds a claim, a reservation, an assigned member, an alerted and a future callback
    supervisor = await factory.user(Role.SUPERVISOR)
    a, b = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(a, b))
    claimed = await outbound.claimed(campaign, a)
    reserved = await outbound.member(campaign, reserved_agent=a, reserved_until=None, assigned_agent=a)
    alerted = await Callback.create(
        member=reserved, campaign=campaign, agent=a, due_at=clock.now, alerted_at=clock.now
    )
    future = await Callback.create(member=claimed, campaign=campaign, agent=a, due_at=clock.local(days=1))
    # when
    await factory.execute(AGENTS_SET, {"id": str(campaign.pk), "agentIds": [str(b.pk)]}, user=supervisor)
    # then: nothing stays stranded with A, and the campaign hears the already-due callback opened
    assert await CampaignMember.filter(campaign_id=campaign.pk, claimed_by_id=a.pk).count() == 0
    assert await CampaignMember.filter(campaign_id=campaign.pk, reserved_agent_id=a.pk).count() == 0
    assert await CampaignMember.filter(campaign_id=campaign.pk, assigned_agent_id=a.pk).count() == 0
    alerted_now, future_now = await Callback.get(id=alerted.pk), await Callback.get(id=future.pk)
    assert (alerted_now.agent_id, future_now.agent_id, future_now.opens_at) == (None, None, None)
    assert alerted_now.opens_at is not None and alerted_now.opened_alerted_at is None
    assert await run_once(DUE_SOURCES, None, alerted_now.opens_at) == 1
    assert await Event.filter(kind="CALLBACK_OPENED", entity_id=alerted.pk).count() == 1
    changed = await Event.get(kind="CAMPAIGN_AGENTS_CHANGED")
    assert changed.data == {"added": [], "removed": [a.pk]}
