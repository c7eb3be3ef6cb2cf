from datetime import timedelta

from models.outbound import ResultKind
from models.user import Role
from tests.conftest import StatementCounter
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound, make_ready

RECORD = """
mutation Record($input: OperationRecordInput!) {
  operationRecord(input: $input) { __typename ... on OperationError { code } }
}
"""
CLAIM = "mutation($c: ID!) { campaignMemberClaim(campaignId: $c) { ... on CampaignMember { id } } }"
HISTORY = """
query History($id: ID!, $personId: ID!, $campaignId: ID, $first: Int, $after: String) {
  campaignMember(id: $id) {
    history(first: $first, after: $after) {
      edges { cursor node { attempt notes agent { id } result { name } justification { name } } }
      pageInfo { hasNextPage endCursor }
    }
  }
  person(id: $personId) { operations(campaignId: $campaignId) { edges { node { attempt campaign { id } } } } }
}
"""
PERSON_OPERATIONS = """
query PersonOperations($id: ID!, $campaignId: ID) {
  person(id: $id) { operations(campaignId: $campaignId) { edges { node { campaign { id } } } } }
}
"""
PERSONS_WITH_OPERATIONS = """
query Persons($first: Int) {
  persons(first: $first) {
    edges { node { name operations { edges { node { attempt campaign { name } agent { name } result { name } } } } } }
  }
}
"""
STATISTICS = """
query Statistics($campaignId: ID!, $from: Date, $to: Date) {
  campaignStatistics(campaignId: $campaignId, from: $from, to: $to) {
    __typename
    ... on CampaignStatistics {
      total contacts contactRate
      byKind { kind count }
      byResult { result { name } count }
      byJustification { justification { name } count }
      byAgent { agent { id } count }
      byStage { stage { name } count }
      byDay { day count }
      membersByStatus { status count }
      averageAttemptsPerConcludedMember
      attemptsPerConcludedMember { attempts members }
    }
    ... on OperationError { code field }
  }
}
"""
FORM_RULES = """
query {
  formRules {
    results { result { name kind } justifications { name } requiredFields requiresCallback concludes }
    noContact { requiredFields reasons { name requiresCallback } }
  }
}
"""
SCRIPT_RENDER = """
query Render($actionTypeId: ID!, $memberId: ID!) {
  scriptRender(actionTypeId: $actionTypeId, memberId: $memberId) { text script { title } }
}
"""


async def _work(factory: Factory, agent, campaign, **input_fields):  # type: ignore[no-untyped-def]
    await make_ready(agent)  # the claim takes READY agents; recording leaves them READY (no wrap-up time)
    claimed = await factory.execute(CLAIM, {"c": str(campaign.pk)}, user=agent)
    member_id = claimed["campaignMemberClaim"]["id"]
    data = await factory.execute(RECORD, {"input": {"memberId": member_id, **input_fields}}, user=agent)
    assert data["operationRecord"]["__typename"] == "Operation", data
    return member_id


async def test_history_and_person_operations_are_newest_first(factory: Factory, outbound: Outbound, clock: Clock) -> None:
    # given: three attempts on one member, and one in another campaign
    agent = await factory.user(Role.AGENT)
    busy = await outbound.result(ResultKind.FAILURE, name="Ocupado", recycle_after_minutes=1)
    sale = await outbound.result(ResultKind.SUCCESS, name="Venda")
    campaign = await outbound.campaign(agents=(agent,), max_attempts=5)
    person = await factory.person()
    member = await outbound.member(campaign, person)
    other = await outbound.campaign(agents=(agent,))
    await outbound.member(other, person)
    for notes in ("first", "second"):
        await _work(factory, agent, campaign, resultId=str(busy.pk), notes=notes)
        clock.advance(minutes=2)
    await _work(factory, agent, campaign, resultId=str(sale.pk), notes="third")
    await _work(factory, agent, other, resultId=str(sale.pk))
    variables = {"id": str(member.pk), "personId": str(person.pk), "campaignId": str(campaign.pk), "first": 2}
    # when
    data = await factory.execute(HISTORY, variables, user=agent)
    more = await factory.execute(
        HISTORY, {**variables, "after": data["campaignMember"]["history"]["pageInfo"]["endCursor"]}, user=agent
    )
    everything = await factory.execute(HISTORY, {**variables, "campaignId": None}, user=agent)
    # then
    notes = [e["node"]["notes"] for e in data["campaignMember"]["history"]["edges"] + more["campaignMember"]["history"]["edges"]]
    assert notes == ["third", "second", "first"]
    assert data["campaignMember"]["history"]["edges"][0]["node"]["result"] == {"name": "Venda"}
    assert [e["node"]["attempt"] for e in data["person"]["operations"]["edges"]] == [3, 2, 1]
    assert len(everything["person"]["operations"]["edges"]) == 4


async def test_person_operations_show_only_campaigns_the_caller_may_see(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given: one person worked in two campaigns; a newcomer works only the first
    veteran, newcomer = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    supervisor, admin = await factory.user(Role.SUPERVISOR), await factory.user(Role.ADMIN)
    company = await factory.company()
    rep = await factory.user(Role.COMPANY_REP, company=company)
    sale = await outbound.result(ResultKind.SUCCESS)
    person = await factory.person(company=company)
    first = await outbound.campaign(agents=(veteran, newcomer))
    second = await outbound.campaign(agents=(veteran,))
    for campaign in (first, second):
        await outbound.member(campaign, person)
        await _work(factory, veteran, campaign, resultId=str(sale.pk))
    variables = {"id": str(person.pk)}

    async def campaigns_seen(user, campaign_id=None):  # type: ignore[no-untyped-def]
        data = await factory.execute(PERSON_OPERATIONS, {**variables, "campaignId": campaign_id}, user=user)
        if data["person"] is None:
            return None
        return [edge["node"]["campaign"]["id"] for edge in data["person"]["operations"]["edges"]]

    # when / then
    both = [str(second.pk), str(first.pk)]
    assert await campaigns_seen(veteran) == both
    assert await campaigns_seen(supervisor) == both
    assert await campaigns_seen(admin) == both
    assert await campaigns_seen(newcomer) == [str(first.pk)]
    assert await campaigns_seen(newcomer, str(second.pk)) == []
    assert await campaigns_seen(rep) == []


async def test_person_operations_cost_a_fixed_number_of_statements(
    factory: Factory, outbound: Outbound, clock: Clock, sql_statements: StatementCounter
) -> None:
    # given: persons worked in two campaigns; the agent works only one of them
    agent, colleague = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    sale = await outbound.result(ResultKind.SUCCESS, name="Venda")
    mine = await outbound.campaign(agents=(agent, colleague))
    theirs = await outbound.campaign(agents=(colleague,))
    for index in range(8):
        person = await factory.person(name=f"Person {index}")
        for campaign in (mine, theirs):
            await outbound.member(campaign, person)
            await _work(factory, colleague, campaign, resultId=str(sale.pk))
    counts = {}
    for size in (2, 8):
        sql_statements.statements.clear()
        # when
        data = await factory.execute(PERSONS_WITH_OPERATIONS, {"first": size}, user=agent)
        # then
        persons = data["persons"]["edges"]
        assert len(persons) == size
        assert all(
            [op["node"]["campaign"]["name"] for op in edge["node"]["operations"]["edges"]] == [mine.name]
            for edge in persons
        )
        counts[size] = len(sql_statements.statements)
    # persons, operations, the caller's campaigns, campaigns, users, results
    assert counts == {2: 6, 8: 6}, sql_statements.statements


async def test_statistics_group_in_the_database(
    factory: Factory, outbound: Outbound, clock: Clock, sql_statements: StatementCounter
) -> None:
    # given
    first, second = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    supervisor = await factory.user(Role.SUPERVISOR)
    sale = await outbound.result(ResultKind.SUCCESS, name="Venda")
    refusal = await outbound.result(ResultKind.FAILURE, name="Recusa")
    price = await outbound.justification(refusal, name="Preço")
    reason = await outbound.reason()
    campaign = await outbound.campaign(agents=(first, second), max_attempts=2)
    for _ in range(4):
        await outbound.member(campaign)
    await _work(factory, first, campaign, resultId=str(sale.pk))
    await _work(factory, second, campaign, resultId=str(refusal.pk), justificationId=str(price.pk))
    await _work(factory, first, campaign, noContact=True, noContactReasonId=str(reason.pk))
    clock.advance(days=1)
    await _work(factory, second, campaign, resultId=str(sale.pk))
    sql_statements.statements.clear()
    # when
    data = await factory.execute(STATISTICS, {"campaignId": str(campaign.pk)}, user=supervisor)
    # then
    stats = data["campaignStatistics"]
    assert (stats["total"], stats["contacts"], stats["contactRate"]) == (4, 3, 0.75)
    # every outcome, zeros included, as the live queue's resultsLastHour (the no-contact attempt too)
    assert stats["byKind"] == [
        {"kind": "SUCCESS", "count": 2}, {"kind": "FAILURE", "count": 1}, {"kind": "SCHEDULE", "count": 0},
        {"kind": "NO_CONTACT", "count": 1},
    ]
    assert {(r["result"]["name"], r["count"]) for r in stats["byResult"]} == {("Venda", 2), ("Recusa", 1)}
    assert stats["byJustification"] == [{"justification": {"name": "Preço"}, "count": 1}]
    assert {(a["agent"]["id"], a["count"]) for a in stats["byAgent"]} == {(str(first.pk), 2), (str(second.pk), 2)}
    assert stats["byStage"] == [{"stage": {"name": "Contact"}, "count": 4}]
    assert stats["byDay"] == [{"day": str(clock.today - timedelta(days=1)), "count": 3},
                              {"day": str(clock.today), "count": 1}]
    assert stats["membersByStatus"] == [
        {"status": "NOT_ACTED", "count": 0}, {"status": "SCHEDULED", "count": 1}, {"status": "CONCLUDED", "count": 3},
        {"status": "REMOVED", "count": 0},
    ]
    assert stats["attemptsPerConcludedMember"] == [{"attempts": 1, "members": 3}]
    assert stats["averageAttemptsPerConcludedMember"] == 1.0
    # a fixed number of GROUP BY queries plus one batch per referenced table (issue 16 added six: the
    # handling time of the campaign, by agent, by hour, by agent and hour, the no-contact reasons' counts
    # and their rows), and occupancy (the campaign's agents, then at most three over their state history)
    assert len(sql_statements.statements) <= 24, sql_statements.statements
    day = await factory.execute(STATISTICS, {"campaignId": str(campaign.pk), "from": str(clock.today)}, user=supervisor)
    assert day["campaignStatistics"]["total"] == 1
    by_agent = await factory.execute(STATISTICS, {"campaignId": str(campaign.pk)}, user=first)
    assert by_agent["campaignStatistics"]["total"] == 4


async def test_statistics_one_may_not_see_are_a_typed_error(factory: Factory, outbound: Outbound, clock: Clock) -> None:
    # given
    agent, outsider = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    supervisor = await factory.user(Role.SUPERVISOR)
    rep = await factory.user(Role.COMPANY_REP)
    campaign = await outbound.campaign(agents=(agent,))
    ids = {"campaignId": str(campaign.pk)}
    cases = [
        (ids, outsider, "FORBIDDEN", "campaignId"),
        (ids, rep, "FORBIDDEN", None),
        ({"campaignId": "999999"}, supervisor, "NOT_FOUND", "campaignId"),
        ({**ids, "from": str(clock.today), "to": str(clock.today - timedelta(days=1))}, supervisor, "INVALID", "to"),
    ]
    for variables, user, code, field in cases:
        # when
        data = await factory.execute(STATISTICS, variables, user=user)
        # then
        assert data["campaignStatistics"] == {"__typename": "OperationError", "code": code, "field": field}, variables
    assigned = await factory.execute(STATISTICS, ids, user=agent)
    assert assigned["campaignStatistics"]["__typename"] == "CampaignStatistics"


async def test_form_rules_tell_which_justifications_and_fields_each_result_needs(
    factory: Factory, outbound: Outbound
) -> None:
    agent = await factory.user(Role.AGENT)
    sale = await outbound.result(ResultKind.SUCCESS, name="Venda")
    later = await outbound.result(ResultKind.SCHEDULE, name="Retornar")
    await outbound.result(ResultKind.FAILURE, name="Antigo", active=False)
    await outbound.justification(sale, later, name="Interessado")
    await outbound.justification(sale, name="Retirada", active=False)
    await outbound.reason(requires_callback=True)
    data = await factory.execute(FORM_RULES, user=agent)
    assert data["formRules"]["results"] == [
        {"result": {"name": "Venda", "kind": "SUCCESS"}, "justifications": [{"name": "Interessado"}],
         "requiredFields": ["memberId", "resultId"], "requiresCallback": False, "concludes": True},
        {"result": {"name": "Retornar", "kind": "SCHEDULE"}, "justifications": [{"name": "Interessado"}],
         "requiredFields": ["memberId", "resultId", "callbackAt"], "requiresCallback": True, "concludes": False},
    ]
    assert data["formRules"]["noContact"]["requiredFields"] == ["memberId", "noContactReasonId"]
    assert data["formRules"]["noContact"]["reasons"][0]["requiresCallback"] is True


async def test_script_render_fills_in_the_persons_fields(factory: Factory, outbound: Outbound) -> None:
    agent = await factory.user(Role.AGENT)
    outsider = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    person = await factory.person(name="Joana Prado", phones=["+5511988887777"])
    member = await outbound.member(campaign, person)
    action = await outbound.action_type(
        body="Olá {person.firstName}, CPF {person.document}, aqui é {agent.name} da {campaign.name}. {unknown.x}"
    )
    variables = {"actionTypeId": str(action.pk), "memberId": str(member.pk)}
    data = await factory.execute(SCRIPT_RENDER, variables, user=agent)
    assert data["scriptRender"]["text"] == (
        f"Olá Joana, CPF {person.document}, aqui é {agent.name} da {campaign.name}. {{unknown.x}}"
    )
    assert (await factory.execute(SCRIPT_RENDER, variables, user=outsider))["scriptRender"] is None
    plain = await outbound.action_type()
    assert (await factory.execute(SCRIPT_RENDER, {**variables, "actionTypeId": str(plain.pk)}, user=agent))["scriptRender"] is None
