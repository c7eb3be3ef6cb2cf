"""Several scripts per campaign, dynamic scripts and their answers (issue 17: "Script da Campanha",
"Script Dinâmico"): each rule of a script's questions and of an operation's answers, with its code;
the branching path; answers recorded with the operation, read back batched, and exported."""

from __future__ import annotations

from typing import Any

import pytest

from contato.settings import Settings
from models.campaign import Campaign, CampaignMember, CampaignScript
from models.data_export import Export, ExportKind
from models.event import Event
from models.operation import Operation
from models.outbound import ResultKind, Script, ScriptAnswer
from models.user import Role, User
from resolvers import exports
from resolvers.context import Context
from tests.conftest import StatementCounter
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound

SCRIPT_CREATE = """
mutation Create($input: ScriptInput!) {
  scriptCreate(input: $input) {
    __typename
    ... on Script {
      id title
      questions { key prompt type required options branches { answer goTo } }
    }
    ... on CatalogError { code field message }
  }
}
"""
SCRIPT_UPDATE = """
mutation Update($id: ID!, $input: ScriptUpdateInput!) {
  scriptUpdate(id: $id, input: $input) {
    __typename ... on Script { questions { key } } ... on CatalogError { code field }
  }
}
"""
CAMPAIGN_SCRIPTS_SET = """
mutation Set($id: ID!, $scriptIds: [ID!]) {
  campaignUpdate(id: $id, input: {scriptIds: $scriptIds}) {
    __typename
    ... on Campaign { script { title } scripts { title active } }
    ... on CampaignError { code field }
  }
}
"""
CAMPAIGNS_WITH_SCRIPTS = """
query Campaigns($first: Int!) {
  campaigns(first: $first) {
    edges { node { name script { title } scripts { title questions { key } } } }
  }
}
"""
OPERATION_RECORD = """
mutation Record($input: OperationRecordInput!) {
  operationRecord(input: $input) {
    __typename
    ... on Operation { id script { title } scriptAnswers { key prompt type value } }
    ... on OperationError { code field message }
  }
}
"""
MEMBER_HISTORY = """
query Member($id: ID!) {
  campaignMember(id: $id) {
    history(first: 10) { edges { node { script { title } scriptAnswers { key value } } } }
  }
}
"""
PERSON_OPERATIONS = """
query Persons($first: Int!) {
  persons(first: $first) {
    edges { node { operations(first: 10) { edges { node { script { title } scriptAnswers { key value } } } } } }
  }
}
"""

# Interest? NO goes to why_not; YES to the plan. Básico skips the seats. After the start date (or
# without it) the script ends: the otherwise branch, null answer, goes nowhere.
QUESTIONS: list[dict[str, Any]] = [
    {"key": "interest", "prompt": "Tem interesse?", "type": "YES_NO", "required": True,
     "branches": [{"answer": "no", "goTo": "why_not"}]},
    {"key": "plan", "prompt": "Qual plano?", "type": "CHOICE", "required": True, "options": ["Básico", "Premium"],
     "branches": [{"answer": "Básico", "goTo": "start"}]},
    {"key": "seats", "prompt": "Quantas linhas?", "type": "NUMBER", "required": True},
    {"key": "start", "prompt": "Quando começa?", "type": "DATE", "branches": [{"answer": None, "goTo": None}]},
    {"key": "why_not", "prompt": "Por quê?", "type": "TEXT", "required": True},
]


def _question(key: str, type: str = "TEXT", **fields: Any) -> dict[str, Any]:
    return {"key": key, "prompt": f"{key}?", "type": type, **fields}


async def _script_create(factory: Factory, user: User, questions: list[dict[str, Any]], title: str = "Oferta") -> dict[str, Any]:
    data = await factory.execute(
        SCRIPT_CREATE, {"input": {"title": title, "body": "Olá {person.name}", "questions": questions}}, user=user
    )
    return data["scriptCreate"]


async def _dynamic_script(factory: Factory) -> Script:
    admin = await factory.user(Role.ADMIN)
    created = await _script_create(factory, admin, QUESTIONS)
    assert created["__typename"] == "Script", created
    return await Script.get(id=int(created["id"]))


# --- the questions of a script --------------------------------------------------------------------


async def test_a_dynamic_script_is_created_with_its_questions_normalised(factory: Factory) -> None:
    # given
    supervisor = await factory.user(Role.SUPERVISOR)
    # when
    created = await _script_create(factory, supervisor, QUESTIONS)
    # then: the branch on "no" is kept as the answer it will be compared with
    assert created["__typename"] == "Script"
    assert created["questions"][0] == {
        "key": "interest", "prompt": "Tem interesse?", "type": "YES_NO", "required": True, "options": [],
        "branches": [{"answer": "NO", "goTo": "why_not"}],
    }
    assert created["questions"][1]["options"] == ["Básico", "Premium"]
    assert created["questions"][3]["branches"] == [{"answer": None, "goTo": None}]
    assert [q["key"] for q in created["questions"]] == ["interest", "plan", "seats", "start", "why_not"]


SCRIPT_RULES = [
    pytest.param([_question("a"), _question("a")], "DUPLICATE_QUESTION_KEY", "questions[1].key", id="duplicate-key"),
    pytest.param([_question("1st")], "INVALID_QUESTION_KEY", "questions[0].key", id="key-starts-with-a-digit"),
    pytest.param([_question("a", "CHOICE")], "CHOICE_WITHOUT_OPTIONS", "questions[0].options", id="choice-without-options"),
    pytest.param([_question("a", "NUMBER", options=["1"])], "OPTIONS_NOT_ALLOWED", "questions[0].options",
                 id="options-on-a-number"),
    pytest.param([_question("a", "CHOICE", options=["x", " x "])], "DUPLICATE_OPTION", "questions[0].options",
                 id="duplicate-option"),
    pytest.param([_question("a", "YES_NO", branches=[{"answer": "YES", "goTo": "nowhere"}])],
                 "UNKNOWN_BRANCH_TARGET", "questions[0].branches[0].goTo", id="branch-to-an-unknown-question"),
    pytest.param([_question("a"), _question("b", "YES_NO", branches=[{"answer": "NO", "goTo": "a"}])],
                 "BRANCH_CYCLE", "questions[1].branches[0].goTo", id="branch-back-is-a-cycle"),
    pytest.param([_question("a", "YES_NO", branches=[{"answer": "NO", "goTo": "a"}])],
                 "BRANCH_CYCLE", "questions[0].branches[0].goTo", id="branch-to-itself"),
    pytest.param([_question("a", "CHOICE", options=["x"], branches=[{"answer": "y", "goTo": None}])],
                 "INVALID_BRANCH_ANSWER", "questions[0].branches[0].answer", id="branch-on-a-missing-option"),
    pytest.param([_question("a", "YES_NO", branches=[{"answer": "talvez", "goTo": None}])],
                 "INVALID_BRANCH_ANSWER", "questions[0].branches[0].answer", id="branch-on-a-non-yes-no"),
    pytest.param([_question("a", "YES_NO", branches=[{"answer": "yes", "goTo": None}, {"answer": "YES", "goTo": None}])],
                 "DUPLICATE_BRANCH", "questions[0].branches[1].answer", id="two-branches-on-one-answer"),
    pytest.param([_question("a", branches=[{"answer": None, "goTo": None}, {"answer": None, "goTo": None}])],
                 "DUPLICATE_BRANCH", "questions[0].branches[1].answer", id="two-otherwise-branches"),
    pytest.param([_question(f"q{i}") for i in range(101)], "TOO_MANY_QUESTIONS", "questions", id="too-many"),
]


@pytest.mark.parametrize(("questions", "code", "field"), SCRIPT_RULES)
async def test_each_rule_of_a_scripts_questions_has_its_code(
    factory: Factory, questions: list[dict[str, Any]], code: str, field: str
) -> None:
    # given
    admin = await factory.user(Role.ADMIN)
    existing = await _dynamic_script(factory)
    # when: on create and on update
    created = await _script_create(factory, admin, questions, title="Outro")
    updated = (await factory.execute(
        SCRIPT_UPDATE, {"id": str(existing.pk), "input": {"questions": questions}}, user=admin
    ))["scriptUpdate"]
    # then: the typed error, and nothing written
    assert (created["__typename"], created["code"], created["field"]) == ("CatalogError", code, field)
    assert updated == {"__typename": "CatalogError", "code": code, "field": field}
    assert await Script.all().count() == 1
    assert (await Script.get(id=existing.pk)).questions == existing.questions


@pytest.mark.parametrize("role", [Role.AGENT, Role.COMPANY_REP])
async def test_agents_and_reps_may_not_edit_scripts(factory: Factory, role: Role) -> None:
    # given
    user = await factory.user(role)
    script = await _dynamic_script(factory)
    # when
    created = await _script_create(factory, user, QUESTIONS)
    updated = (await factory.execute(
        SCRIPT_UPDATE, {"id": str(script.pk), "input": {"questions": []}}, user=user
    ))["scriptUpdate"]
    # then
    assert (created["__typename"], created["code"]) == ("CatalogError", "FORBIDDEN")
    assert updated == {"__typename": "CatalogError", "code": "FORBIDDEN", "field": None}
    assert (await Script.get(id=script.pk)).questions == script.questions


# --- the campaign's scripts ------------------------------------------------------------------------


async def test_a_campaign_has_several_scripts_the_first_is_the_default(
    factory: Factory, outbound: Outbound
) -> None:
    # given
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign()
    first = await Script.create(title="Abertura", body="Olá")
    second = await Script.create(title="Retenção", body="Olá de novo")
    retired = await Script.create(title="Antigo", body="…", active=False)

    async def set_scripts(ids: list[int] | None) -> dict[str, Any]:
        variables = {"id": str(campaign.pk), "scriptIds": None if ids is None else [str(pk) for pk in ids]}
        return (await factory.execute(CAMPAIGN_SCRIPTS_SET, variables, user=supervisor))["campaignUpdate"]

    # when / then: in the order given, the first one the default (Campaign.script, as before)
    assert await set_scripts([second.pk, first.pk]) == {
        "__typename": "Campaign", "script": {"title": "Retenção"},
        "scripts": [{"title": "Retenção", "active": True}, {"title": "Abertura", "active": True}],
    }
    # left out: kept
    assert (await set_scripts(None))["scripts"] == [{"title": "Retenção", "active": True},
                                                   {"title": "Abertura", "active": True}]
    # refused: unknown, deactivated, twice; nothing changes
    for ids, code in (([first.pk, 99999], "UNKNOWN_SCRIPT"), ([retired.pk], "INACTIVE_CATALOG_ENTRY"),
                      ([first.pk, first.pk], "INVALID")):
        assert await set_scripts(ids) == {"__typename": "CampaignError", "code": code, "field": "scriptIds"}
    assert await CampaignScript.filter(campaign_id=campaign.pk).order_by("position").values_list(
        "script_id", flat=True
    ) == [second.pk, first.pk]
    # emptied: no default either
    assert await set_scripts([]) == {"__typename": "Campaign", "script": None, "scripts": []}


async def test_campaigns_scripts_cost_a_fixed_number_of_statements(
    factory: Factory, outbound: Outbound, sql_statements: StatementCounter
) -> None:
    # given: campaigns with two scripts each
    supervisor = await factory.user(Role.SUPERVISOR)
    for index in range(6):
        campaign = await outbound.campaign()
        scripts = [await Script.create(title=f"S{index}-{n}", body="…", questions=[]) for n in range(2)]
        await Campaign.filter(id=campaign.pk).update(script_id=scripts[0].pk)
        for position, script in enumerate(scripts, start=1):
            await CampaignScript.create(campaign=campaign, script=script, position=position)
    counts = {}
    for size in (2, 6):
        sql_statements.statements.clear()
        # when
        data = await factory.execute(CAMPAIGNS_WITH_SCRIPTS, {"first": size}, user=supervisor)
        # then
        nodes = [edge["node"] for edge in data["campaigns"]["edges"]]
        assert len(nodes) == size and all(len(node["scripts"]) == 2 for node in nodes)
        assert all(node["script"]["title"] == node["scripts"][0]["title"] for node in nodes)
        counts[size] = len(sql_statements.statements)
    # campaigns, the default scripts with the script links, then the listed scripts (a second batch of
    # script_by_id: the links are read first); the same for 2 campaigns as for 6
    assert counts[2] == counts[6] == 4, sql_statements.statements


# --- the answers of an operation -------------------------------------------------------------------


async def _setting(factory: Factory, outbound: Outbound) -> tuple[User, Campaign, Script, int]:
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    script = await _dynamic_script(factory)
    await CampaignScript.create(campaign=campaign, script=script, position=1)
    sale = await outbound.result(ResultKind.SUCCESS, name="Venda")
    return agent, campaign, script, sale.pk


async def _record(
    factory: Factory, agent: User, member: CampaignMember, result_id: int, script_id: int, answers: dict[str, str]
) -> dict[str, Any]:
    data = await factory.execute(OPERATION_RECORD, {"input": {
        "memberId": str(member.pk), "resultId": str(result_id),
        "scriptAnswers": {"scriptId": str(script_id),
                          "answers": [{"key": key, "value": value} for key, value in answers.items()]},
    }}, user=agent)
    return data["operationRecord"]


async def _nothing_written(member: CampaignMember) -> None:
    assert await Operation.all().count() == 0
    assert await ScriptAnswer.all().count() == 0
    assert await Event.filter(kind="OPERATION_RECORDED").count() == 0
    assert (await CampaignMember.get(id=member.pk)).claimed_by_id == member.claimed_by_id


PATHS = [
    pytest.param({"interest": "no", "why_not": " caro "},
                 [("interest", "NO"), ("why_not", "caro")], id="no-goes-to-why-not"),
    pytest.param({"interest": "YES", "plan": "Premium", "seats": "12.50", "start": "2031-02-01"},
                 [("interest", "YES"), ("plan", "Premium"), ("seats", "12.5"), ("start", "2031-02-01")],
                 id="premium-asks-the-seats"),
    # the optional start date left out: its otherwise branch still ends the script (why_not not asked)
    pytest.param({"interest": "yes", "plan": "Básico", "start": "  "},
                 [("interest", "YES"), ("plan", "Básico")], id="basico-skips-the-seats"),
]


@pytest.mark.parametrize(("answers", "recorded"), PATHS)
async def test_answers_along_the_path_are_recorded_with_the_operation(
    factory: Factory, outbound: Outbound, answers: dict[str, str], recorded: list[tuple[str, str]]
) -> None:
    # given
    agent, campaign, script, sale = await _setting(factory, outbound)
    member = await outbound.claimed(campaign, agent)
    # when
    result = await _record(factory, agent, member, sale, script.pk, answers)
    # then
    assert result["__typename"] == "Operation", result
    assert result["script"] == {"title": "Oferta"}
    assert [(a["key"], a["value"]) for a in result["scriptAnswers"]] == recorded
    assert result["scriptAnswers"][0]["prompt"] == "Tem interesse?" and result["scriptAnswers"][0]["type"] == "YES_NO"
    operation = await Operation.get(id=int(result["id"]))
    assert operation.script_id == script.pk
    assert await ScriptAnswer.filter(operation_id=operation.pk).count() == len(recorded)


ANSWER_RULES = [
    # the branching path: an answer on a branch the answers skipped, a required question on the path
    pytest.param({"interest": "NO", "plan": "Premium", "why_not": "caro"}, "QUESTION_SKIPPED", "plan",
                 id="answer-on-the-skipped-yes-branch"),
    pytest.param({"interest": "YES", "plan": "Básico", "seats": "3"}, "QUESTION_SKIPPED", "seats",
                 id="seats-skipped-by-basico"),
    pytest.param({"interest": "YES", "plan": "Premium", "seats": "3", "why_not": "x"}, "QUESTION_SKIPPED",
                 "why_not", id="after-the-end"),
    pytest.param({"interest": "YES", "plan": "Premium"}, "ANSWER_REQUIRED", "seats", id="required-on-the-path"),
    pytest.param({"interest": "NO"}, "ANSWER_REQUIRED", "why_not", id="required-on-the-no-path"),
    pytest.param({"plan": "Premium"}, "ANSWER_REQUIRED", "interest", id="first-question-required"),
    # each answer fits its question
    pytest.param({"interest": "talvez"}, "INVALID_ANSWER", "interest", id="yes-no"),
    pytest.param({"interest": "YES", "plan": "Gold"}, "INVALID_ANSWER", "plan", id="choice-not-an-option"),
    pytest.param({"interest": "YES", "plan": "Premium", "seats": "doze"}, "INVALID_ANSWER", "seats", id="number"),
    pytest.param({"interest": "YES", "plan": "Premium", "seats": "NaN"}, "INVALID_ANSWER", "seats", id="not-a-number"),
    pytest.param({"interest": "YES", "plan": "Premium", "seats": "1e999999999"}, "INVALID_ANSWER", "seats",
                 id="a-number-too-long-to-write-out"),
    pytest.param({"interest": "YES", "plan": "Premium", "seats": "1", "start": "01/02/2031"}, "INVALID_ANSWER",
                 "start", id="date"),
    pytest.param({"interest": "YES", "budget": "10"}, "UNKNOWN_QUESTION", "budget", id="unknown-question"),
]


@pytest.mark.parametrize(("answers", "code", "key"), ANSWER_RULES)
async def test_each_rule_of_the_answers_has_its_code_and_question_and_writes_nothing(
    factory: Factory, outbound: Outbound, answers: dict[str, str], code: str, key: str
) -> None:
    # given
    agent, campaign, script, sale = await _setting(factory, outbound)
    member = await outbound.claimed(campaign, agent)
    # when
    result = await _record(factory, agent, member, sale, script.pk, answers)
    # then
    assert (result["__typename"], result["code"], result["field"]) == (
        "OperationError", code, f"scriptAnswers.{key}"
    ), result
    await _nothing_written(member)


async def test_the_script_must_be_one_the_agent_could_choose(
    factory: Factory, outbound: Outbound
) -> None:
    # given
    agent, campaign, script, sale = await _setting(factory, outbound)
    member = await outbound.claimed(campaign, agent)
    elsewhere = await Script.create(title="Outra campanha", body="…")
    retired = await Script.create(title="Antigo", body="…", active=False)
    await CampaignScript.create(campaign=campaign, script=retired, position=2)
    # when
    outside = await _record(factory, agent, member, sale, elsewhere.pk, {})
    unknown = await _record(factory, agent, member, sale, 99999, {})
    inactive = await _record(factory, agent, member, sale, retired.pk, {})
    twice = await factory.execute(OPERATION_RECORD, {"input": {
        "memberId": str(member.pk), "resultId": str(sale),
        "scriptAnswers": {"scriptId": str(script.pk), "answers": [{"key": "interest", "value": "NO"},
                                                                  {"key": "interest", "value": "YES"}]},
    }}, user=agent)
    # then
    field = "scriptAnswers.scriptId"
    assert (outside["code"], outside["field"]) == ("SCRIPT_NOT_IN_CAMPAIGN", field)
    assert (unknown["code"], unknown["field"]) == ("UNKNOWN_SCRIPT", field)
    assert (inactive["code"], inactive["field"]) == ("INACTIVE_CATALOG_ENTRY", field)
    assert (twice["operationRecord"]["code"], twice["operationRecord"]["field"]) == (
        "DUPLICATE_ANSWER", "scriptAnswers.interest"
    )
    await _nothing_written(member)
    # and the action type's script may be run too, a plain one without answers
    action = await outbound.action_type(body="Roteiro da ação")
    result = (await factory.execute(OPERATION_RECORD, {"input": {
        "memberId": str(member.pk), "resultId": str(sale), "actionTypeId": str(action.pk),
        "scriptAnswers": {"scriptId": str(action.script_id)},
    }}, user=agent))["operationRecord"]
    assert result["__typename"] == "Operation" and result["scriptAnswers"] == []
    assert result["script"]["title"].startswith("Script")


async def test_the_campaigns_default_action_types_script_may_be_run_without_naming_the_action(
    factory: Factory, outbound: Outbound
) -> None:
    # given: a campaign whose default action type has a script the campaign does not list
    agent, campaign, _, sale = await _setting(factory, outbound)
    action = await outbound.action_type(body="Roteiro padrão")
    campaign.default_action_type_id = action.pk
    await campaign.save(update_fields=["default_action_type_id"])
    member = await outbound.claimed(campaign, agent)
    # when: the agent records with that script and no actionTypeId
    result = (await factory.execute(OPERATION_RECORD, {"input": {
        "memberId": str(member.pk), "resultId": str(sale),
        "scriptAnswers": {"scriptId": str(action.script_id)},
    }}, user=agent))["operationRecord"]
    # then
    assert result["__typename"] == "Operation", result
    assert result["script"]["title"].startswith("Script")


async def test_answers_are_read_in_history_without_a_query_per_operation(
    factory: Factory, outbound: Outbound, clock: Clock, sql_statements: StatementCounter
) -> None:
    # given: persons, each with an operation that has answers and one without
    agent, campaign, script, sale = await _setting(factory, outbound)
    failure = await outbound.result(ResultKind.FAILURE, name="Recusa", recycle_after_minutes=5)
    supervisor = await factory.user(Role.SUPERVISOR)
    members = []
    for index in range(6):
        member = await outbound.claimed(campaign, agent, person=await factory.person(name=f"P{index}"))
        plain = await factory.execute(OPERATION_RECORD, {"input": {
            "memberId": str(member.pk), "resultId": str(failure.pk)}}, user=agent)
        assert plain["operationRecord"]["__typename"] == "Operation", plain
        await CampaignMember.filter(id=member.pk).update(claimed_by_id=agent.pk, claim_expires_at=clock.now.replace(
            hour=23))
        answered = await _record(factory, agent, member, sale, script.pk, {"interest": "NO", "why_not": f"w{index}"})
        assert answered["__typename"] == "Operation", answered
        members.append(member)
    # then: the member's history shows them, newest first
    history = (await factory.execute(MEMBER_HISTORY, {"id": str(members[0].pk)}, user=supervisor))
    assert [edge["node"] for edge in history["campaignMember"]["history"]["edges"]] == [
        {"script": {"title": "Oferta"}, "scriptAnswers": [{"key": "interest", "value": "NO"},
                                                          {"key": "why_not", "value": "w0"}]},
        {"script": None, "scriptAnswers": []},
    ]
    counts = {}
    for size in (2, 6):
        sql_statements.statements.clear()
        # when
        data = await factory.execute(PERSON_OPERATIONS, {"first": size}, user=supervisor)
        # then
        persons = [edge["node"] for edge in data["persons"]["edges"]]
        assert len(persons) == size
        assert all(len(p["operations"]["edges"]) == 2 for p in persons)
        counts[size] = len(sql_statements.statements)
    # persons, operations, scripts, answers
    assert counts[2] == counts[6] == 4, sql_statements.statements


async def test_answers_are_exported_as_one_json_column(
    factory: Factory, outbound: Outbound, settings: Settings
) -> None:
    # given
    agent, campaign, script, sale = await _setting(factory, outbound)
    supervisor = await factory.user(Role.SUPERVISOR)
    member = await outbound.claimed(campaign, agent)
    answered = await _record(factory, agent, member, sale, script.pk,
                             {"interest": "YES", "plan": "Básico", "start": "2031-02-01"})
    assert answered["__typename"] == "Operation", answered
    plain = await outbound.claimed(campaign, agent)
    assert (await factory.execute(OPERATION_RECORD, {"input": {
        "memberId": str(plain.pk), "resultId": str(sale)}}, user=agent))["operationRecord"]["__typename"] == "Operation"
    export = Export(kind=ExportKind.OPERATIONS, filters={}, created_by_id=supervisor.pk)
    ctx = Context(settings=settings, user=supervisor)
    # when
    pages = [page async for page in exports.export_pages(ctx, export)]
    # then
    header, rows = pages[0][0], [row for page in pages[1:] for row in page]
    got = [dict(zip(header, row, strict=True)) for row in rows]
    assert [(row["script"], row["script_answers"]) for row in got] == [
        ("Oferta", '{"interest": "YES", "plan": "Básico", "start": "2031-02-01"}'),
        ("", "{}"),
    ]


SCRIPT_RENDER = """
query Render($memberId: ID!, $scriptId: ID) {
  scriptRender(memberId: $memberId, scriptId: $scriptId) { text script { title questions { key } } }
}
"""


async def test_the_chosen_campaign_script_is_rendered_for_the_member(factory: Factory, outbound: Outbound) -> None:
    # given
    agent, campaign, script, _ = await _setting(factory, outbound)
    outsider = await factory.user(Role.AGENT)
    member = await outbound.member(campaign, await factory.person(name="Joana Prado"))
    variables = {"memberId": str(member.pk), "scriptId": str(script.pk)}
    # when
    mine = (await factory.execute(SCRIPT_RENDER, variables, user=agent))["scriptRender"]
    theirs = (await factory.execute(SCRIPT_RENDER, variables, user=outsider))["scriptRender"]
    # then
    assert mine["text"] == "Olá Joana Prado" and mine["script"]["title"] == "Oferta"
    assert [q["key"] for q in mine["script"]["questions"]][:2] == ["interest", "plan"]
    assert theirs is None


CAMPAIGN_CREATE = """
mutation Create($input: CampaignCreateInput!) {
  campaignCreate(input: $input) {
    __typename ... on Campaign { script { title } scripts { title } } ... on CampaignError { code field }
  }
}
"""


async def test_a_campaign_is_created_with_its_scripts(factory: Factory, clock: Clock) -> None:
    # given
    admin = await factory.user(Role.ADMIN)
    first = await Script.create(title="Abertura", body="Olá")
    second = await Script.create(title="Retenção", body="Olá")
    base = {"name": "Março", "startDate": str(clock.today)}
    # when
    made = (await factory.execute(
        CAMPAIGN_CREATE, {"input": {**base, "scriptIds": [str(first.pk), str(second.pk)]}}, user=admin
    ))["campaignCreate"]
    refused = (await factory.execute(
        CAMPAIGN_CREATE, {"input": {**base, "scriptIds": ["99999"]}}, user=admin
    ))["campaignCreate"]
    # then
    assert made == {"__typename": "Campaign", "script": {"title": "Abertura"},
                    "scripts": [{"title": "Abertura"}, {"title": "Retenção"}]}
    assert refused == {"__typename": "CampaignError", "code": "UNKNOWN_SCRIPT", "field": "scriptIds"}
    assert await Campaign.all().count() == 1
