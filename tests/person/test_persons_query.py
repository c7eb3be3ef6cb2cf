from models.person import PersonStage
from models.user import Role
from tests.conftest import StatementCounter
from tests.factories import Factory

PERSONS = """
query Persons($filter: PersonFilter, $first: Int, $after: String) {
  persons(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id name company { id name } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

PERSON = """
query Person($id: ID!) { person(id: $id) { id name } }
"""


def names(data: dict) -> list[str]:
    return [edge["node"]["name"] for edge in data["persons"]["edges"]]


async def test_pages_follow_cursors_without_gaps_or_repeats(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    for index in range(7):
        await factory.person(name=f"Person {index}")
    seen: list[str] = []
    after = None
    while True:
        data = await factory.execute(PERSONS, {"first": 3, "after": after}, user=agent)
        seen += names(data)
        page = data["persons"]["pageInfo"]
        if not page["hasNextPage"]:
            break
        after = page["endCursor"]
    assert seen == [f"Person {index}" for index in range(7)]


async def test_text_filter_matches_name_without_accents_document_and_phone(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    jose = await factory.person(name="José Araújo", phones=["+5511988887777"])
    await factory.person(name="Carla Lima")
    for text in ("jose", "ARAUJO", jose.document[:6], "98888-7777"):
        data = await factory.execute(PERSONS, {"filter": {"text": text}}, user=agent)
        assert names(data) == ["José Araújo"], text


async def test_stage_and_company_filters(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    company = await factory.company()
    await factory.person(name="A", stage=PersonStage.PROSPECT, company=company)
    await factory.person(name="B", stage=PersonStage.PROSPECT)
    await factory.person(name="C", stage=PersonStage.SUSPECT, company=company)
    data = await factory.execute(
        PERSONS, {"filter": {"stage": "PROSPECT", "companyId": str(company.pk)}}, user=agent
    )
    assert names(data) == ["A"]


async def test_company_rep_sees_only_their_companys_persons(factory: Factory) -> None:
    rep = await factory.user(Role.COMPANY_REP)
    own = await factory.person(name="Own", company=await rep.company)
    stranger = await factory.person(name="Stranger", company=await factory.company())
    await factory.person(name="Nobody's")
    listed = await factory.execute(PERSONS, {}, user=rep)
    assert names(listed) == ["Own"]
    by_id = await factory.execute(PERSON, {"id": str(stranger.pk)}, user=rep)
    assert by_id["person"] is None
    filtered = await factory.execute(
        PERSONS, {"filter": {"companyId": str(stranger.company_id)}}, user=rep
    )
    assert names(filtered) == []
    assert (await factory.execute(PERSON, {"id": str(own.pk)}, user=rep))["person"]["name"] == "Own"


async def test_page_size_is_capped(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    result = await factory.execute_raw(PERSONS, {"first": 1000}, user=agent)
    assert result.errors[0].message == "first must be between 1 and 100; got 1000."
    assert result.errors[0].extensions["code"] == "BAD_USER_INPUT"


async def test_fifty_persons_with_companies_cost_a_fixed_number_of_statements(
    factory: Factory, sql_statements: StatementCounter
) -> None:
    agent = await factory.user(Role.AGENT)
    companies = [await factory.company() for _ in range(4)]
    for index in range(60):
        await factory.person(name=f"P{index}", company=companies[index % 4])
    sql_statements.statements.clear()
    data = await factory.execute(PERSONS, {"first": 50}, user=agent)
    assert len(data["persons"]["edges"]) == 50
    assert {edge["node"]["company"]["id"] for edge in data["persons"]["edges"]} == {
        str(company.pk) for company in companies
    }
    # one for the page, one for the companies of the whole page
    assert len(sql_statements.statements) == 2, sql_statements.statements
