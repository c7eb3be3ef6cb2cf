from dataclasses import replace

from contato.settings import SuspectConversion
from models.person import Person, PersonStage
from models.user import Role
from tests.factories import Factory

PERSON_CONVERT = """
mutation PersonConvert($id: ID!, $deleteSuspect: Boolean) {
  personConvert(id: $id, deleteSuspect: $deleteSuspect) {
    __typename
    ... on PersonConvertPayload {
      suspectDeleted
      prospect { id stage document }
      suspect { id stage convertedTo { id } }
    }
    ... on PersonError { code field }
  }
}
"""


async def test_ask_mode_requires_delete_suspect(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    suspect = await factory.person()
    data = await factory.execute(PERSON_CONVERT, {"id": str(suspect.pk)}, user=agent)
    assert data["personConvert"] == {
        "__typename": "PersonError",
        "code": "DELETE_SUSPECT_REQUIRED",
        "field": "deleteSuspect",
    }
    assert await Person.all().count() == 1


async def test_ask_mode_keeps_the_suspect_linked_to_the_prospect(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    suspect = await factory.person()
    data = await factory.execute(PERSON_CONVERT, {"id": str(suspect.pk), "deleteSuspect": False}, user=agent)
    result = data["personConvert"]
    assert result["suspectDeleted"] is False
    assert result["prospect"]["stage"] == "PROSPECT"
    assert result["prospect"]["document"] == suspect.document
    assert result["suspect"]["convertedTo"] == {"id": result["prospect"]["id"]}
    assert await Person.filter(document=suspect.document).count() == 2


async def test_delete_mode_removes_the_suspect_whatever_the_caller_says(factory: Factory) -> None:
    settings = replace(factory.settings, suspect_conversion=SuspectConversion.DELETE)
    agent = await factory.user(Role.AGENT)
    suspect = await factory.person()
    data = await factory.execute(PERSON_CONVERT, {"id": str(suspect.pk)}, user=agent, settings=settings)
    assert data["personConvert"]["suspectDeleted"] is True
    assert data["personConvert"]["suspect"] is None
    assert not await Person.filter(id=suspect.pk).exists()
    assert await Person.filter(stage=PersonStage.PROSPECT).count() == 1


async def test_keep_mode_keeps_without_asking(factory: Factory) -> None:
    settings = replace(factory.settings, suspect_conversion=SuspectConversion.KEEP)
    agent = await factory.user(Role.AGENT)
    suspect = await factory.person()
    data = await factory.execute(PERSON_CONVERT, {"id": str(suspect.pk)}, user=agent, settings=settings)
    assert data["personConvert"]["suspectDeleted"] is False
    assert await Person.filter(id=suspect.pk).exists()


async def test_only_a_suspect_converts_and_only_once(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    prospect = await factory.person(stage=PersonStage.PROSPECT)
    suspect = await factory.person()
    data = await factory.execute(PERSON_CONVERT, {"id": str(prospect.pk), "deleteSuspect": True}, user=agent)
    assert data["personConvert"]["code"] == "NOT_A_SUSPECT"
    await factory.execute(PERSON_CONVERT, {"id": str(suspect.pk), "deleteSuspect": False}, user=agent)
    again = await factory.execute(PERSON_CONVERT, {"id": str(suspect.pk), "deleteSuspect": False}, user=agent)
    assert again["personConvert"]["code"] == "NOT_A_SUSPECT"
    assert await Person.filter(stage=PersonStage.PROSPECT).count() == 2


async def test_unknown_person_and_company_reps_are_refused(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    rep = await factory.user(Role.COMPANY_REP)
    suspect = await factory.person(company=await rep.company)
    missing = await factory.execute(PERSON_CONVERT, {"id": "424242", "deleteSuspect": True}, user=agent)
    assert missing["personConvert"]["code"] == "NOT_FOUND"
    refused = await factory.execute(PERSON_CONVERT, {"id": str(suspect.pk), "deleteSuspect": True}, user=rep)
    assert refused["personConvert"]["code"] == "FORBIDDEN"
    assert await Person.filter(stage=PersonStage.SUSPECT).count() == 1
