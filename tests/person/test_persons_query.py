from datetime import UTC, datetime, timedelta

from models.person import Person, PersonStage
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


PERSONS_ORDERED = """
query Persons($first: Int, $after: String, $last: Int, $before: String, $orderBy: PersonOrder) {
  persons(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
    totalCount
    edges { node { name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def test_every_order_pages_both_ways_and_a_rep_reads_their_company_only(factory: Factory) -> None:
    # given: names neither in id nor in creation order, with ties; half of them the rep's company's
    company = await factory.company()
    rep = await factory.user(Role.COMPANY_REP, company=company)
    supervisor = await factory.user(Role.SUPERVISOR)
    now = datetime.now(UTC)
    created = {}
    for index in range(9):
        name = f"Pessoa {(index * 4) % 9 // 2}"  # 0 2 4 1 3 0 2 4 1: ties broken by id
        person = await factory.person(name=name, company=company if index % 2 else None)
        created[person.pk] = now - timedelta(minutes=(index * 7) % 9)
        await Person.filter(id=person.pk).update(created_at=created[person.pk])
    rows = await Person.all()
    for user, visible in ((supervisor, rows), (rep, [row for row in rows if row.company_id == company.pk])):
        for field, key in (("NAME", lambda row: (row.name, row.pk)), ("CREATED_AT", lambda row: (row.created_at, row.pk))):
            for direction in ("ASC", "DESC"):
                want = [row.name for row in sorted(visible, key=key, reverse=direction == "DESC")]
                walks = {}
                for size, cursor, more, next_cursor in (
                    ("first", "after", "hasNextPage", "endCursor"), ("last", "before", "hasPreviousPage", "startCursor")
                ):
                    # when
                    variables: dict = {size: 2, "orderBy": {"field": field, "direction": direction}}
                    pages = []
                    while True:
                        data = (await factory.execute(PERSONS_ORDERED, variables, user=user))["persons"]
                        assert data["totalCount"] == len(visible)
                        pages.append([edge["node"]["name"] for edge in data["edges"]])
                        if not data["pageInfo"][more]:
                            break
                        variables = {**variables, cursor: data["pageInfo"][next_cursor]}
                    walks[size] = [name for page in (pages if size == "first" else pages[::-1]) for name in page]
                # then
                assert walks["first"] == walks["last"] == want, (user.role, field, direction)
