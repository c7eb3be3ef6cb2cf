from models.person import PersonStage
from models.user import Role
from tests.factories import Factory

PERSON_UPDATE = """
mutation PersonUpdate($id: ID!, $input: PersonUpdateInput!) {
  personUpdate(id: $id, input: $input) {
    __typename
    ... on Person { id name document phones stage doNotCall company { id } }
    ... on PersonError { code field }
  }
}
"""


async def test_update_changes_only_given_fields(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    company = await factory.company()
    person = await factory.person(company=company, phones=["+5511988887777"], stage=PersonStage.PROSPECT)
    data = await factory.execute(
        PERSON_UPDATE, {"id": str(person.pk), "input": {"name": "Maria S.", "doNotCall": True}}, user=agent
    )
    updated = data["personUpdate"]
    assert updated["name"] == "Maria S."
    assert updated["doNotCall"] is True
    assert updated["phones"] == ["+5511988887777"]
    assert updated["company"] == {"id": str(company.pk)}


async def test_null_company_removes_it(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    person = await factory.person(company=await factory.company())
    data = await factory.execute(PERSON_UPDATE, {"id": str(person.pk), "input": {"companyId": None}}, user=agent)
    assert data["personUpdate"]["company"] is None


async def test_stage_moves_between_prospect_and_customer_but_not_from_suspect(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    prospect = await factory.person(stage=PersonStage.PROSPECT)
    suspect = await factory.person(stage=PersonStage.SUSPECT)
    ok = await factory.execute(PERSON_UPDATE, {"id": str(prospect.pk), "input": {"stage": "CUSTOMER"}}, user=agent)
    assert ok["personUpdate"]["stage"] == "CUSTOMER"
    for person, stage in ((suspect, "PROSPECT"), (prospect, "SUSPECT")):
        data = await factory.execute(PERSON_UPDATE, {"id": str(person.pk), "input": {"stage": stage}}, user=agent)
        assert data["personUpdate"]["code"] == "INVALID_STAGE_CHANGE"


async def test_update_to_a_taken_document_is_refused(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    first = await factory.person()
    second = await factory.person()
    data = await factory.execute(
        PERSON_UPDATE, {"id": str(second.pk), "input": {"document": first.document}}, user=agent
    )
    assert data["personUpdate"]["code"] == "DUPLICATE_DOCUMENT"
    await second.refresh_from_db()
    assert second.document != first.document


async def test_rep_cannot_update_another_companys_person(factory: Factory) -> None:
    rep = await factory.user(Role.COMPANY_REP)
    stranger = await factory.person(company=await factory.company())
    data = await factory.execute(PERSON_UPDATE, {"id": str(stranger.pk), "input": {"name": "X"}}, user=rep)
    assert data["personUpdate"]["code"] == "NOT_FOUND"
    await stranger.refresh_from_db()
    assert stranger.name == "Maria Souza"
