from models.company import Company
from models.person import Person, PersonStage
from models.user import Role
from tests.factories import Factory

DOCUMENT_UNAVAILABLE = "This document cannot be registered by your company: ask the operator."

PERSON_CREATE = """
mutation PersonCreate($input: PersonCreateInput!) {
  personCreate(input: $input) {
    __typename
    ... on Person { id name document phones emails stage doNotCall company { id name } }
    ... on PersonError { code field message }
  }
}
"""


PERSON_UPDATE = """
mutation PersonUpdate($id: ID!, $input: PersonUpdateInput!) {
  personUpdate(id: $id, input: $input) { __typename ... on PersonError { code field message } }
}
"""


def person_input(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "kind": "NATURAL",
        "name": "  José da Silva ",
        "document": "529.982.247-25",
        "phones": ["+55 (11) 98888-7777"],
        "emails": ["jose@example.com"],
    }
    values.update(overrides)
    return values


async def test_agent_creates_a_suspect_with_normalised_fields(factory: Factory) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    company = await factory.company()
    # when
    data = await factory.execute(
        PERSON_CREATE, {"input": person_input(companyId=str(company.pk))}, user=agent
    )
    # then
    person = data["personCreate"]
    assert person["__typename"] == "Person"
    assert person["name"] == "José da Silva"
    assert person["document"] == "52998224725"
    assert person["phones"] == ["+5511988887777"]
    assert person["stage"] == "SUSPECT"
    assert person["company"] == {"id": str(company.pk), "name": company.name}
    assert await Person.filter(document="52998224725").count() == 1


async def test_legal_person_needs_a_cnpj(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    data = await factory.execute(
        PERSON_CREATE, {"input": person_input(kind="LEGAL", document="11.222.333/0001-81")}, user=agent
    )
    assert data["personCreate"]["__typename"] == "Person"
    refused = await factory.execute(
        PERSON_CREATE, {"input": person_input(kind="LEGAL", document="529.982.247-25")}, user=agent
    )
    assert refused["personCreate"]["code"] == "INVALID_DOCUMENT"


async def test_invalid_check_digits_are_refused_and_nothing_is_written(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    data = await factory.execute(PERSON_CREATE, {"input": person_input(document="529.982.247-26")}, user=agent)
    assert data["personCreate"] == {
        "__typename": "PersonError",
        "code": "INVALID_DOCUMENT",
        "field": "document",
        "message": data["personCreate"]["message"],
    }
    assert await Person.all().count() == 0


async def test_repeated_digits_are_not_a_cpf(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    data = await factory.execute(PERSON_CREATE, {"input": person_input(document="111.111.111-11")}, user=agent)
    assert data["personCreate"]["code"] == "INVALID_DOCUMENT"


async def test_duplicate_document_is_refused(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    await factory.execute(PERSON_CREATE, {"input": person_input()}, user=agent)
    data = await factory.execute(PERSON_CREATE, {"input": person_input(name="Other")}, user=agent)
    assert data["personCreate"]["code"] == "DUPLICATE_DOCUMENT"
    assert data["personCreate"]["field"] == "document"
    assert await Person.all().count() == 1


async def test_unknown_company_is_refused(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    for company_id in ("999", "not-a-number"):
        data = await factory.execute(PERSON_CREATE, {"input": person_input(companyId=company_id)}, user=agent)
        assert data["personCreate"]["code"] == "UNKNOWN_COMPANY"
        assert data["personCreate"]["field"] == "companyId"
    assert await Person.all().count() == 0


async def test_bad_phone_email_and_name_are_typed_errors(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    cases = [
        ({"phones": ["12"]}, "INVALID_PHONE", "phones"),
        ({"emails": ["not-an-email"]}, "INVALID_EMAIL", "emails"),
        ({"name": "   "}, "INVALID", "name"),
        ({"phones": [f"+5511999{n:05d}" for n in range(11)]}, "INVALID_PHONE", "phones"),
    ]
    for overrides, code, field in cases:
        data = await factory.execute(PERSON_CREATE, {"input": person_input(**overrides)}, user=agent)
        assert (data["personCreate"]["code"], data["personCreate"]["field"]) == (code, field)
    assert await Person.all().count() == 0


async def test_company_rep_creates_persons_only_for_their_company(factory: Factory) -> None:
    rep = await factory.user(Role.COMPANY_REP)
    other = await factory.company()
    own = await factory.execute(PERSON_CREATE, {"input": person_input()}, user=rep)
    assert own["personCreate"]["company"]["id"] == str(rep.company_id)
    refused = await factory.execute(
        PERSON_CREATE,
        {"input": person_input(document="390.533.447-05", companyId=str(other.pk))},
        user=rep,
    )
    assert refused["personCreate"]["code"] == "FORBIDDEN"
    assert await Person.filter(stage=PersonStage.SUSPECT).count() == 1


async def test_a_rep_learns_nothing_of_a_document_held_outside_their_company(factory: Factory) -> None:
    # given: a document held by another company's person, one held by a person of no company,
    # and one held by a person of the rep's own company
    rep = await factory.user(Role.COMPANY_REP)
    foreign = await factory.person(name="Foreign", company=await factory.company())
    unowned = await factory.person(name="Unowned")
    own = await factory.person(name="Own", company=await Company.get(id=rep.company_id))
    mine = await factory.person(name="Mine", company=await Company.get(id=rep.company_id))
    answers = []
    for holder in (foreign, unowned):
        # when: the rep creates a person, or changes one of theirs, with that document
        created = await factory.execute(PERSON_CREATE, {"input": person_input(document=holder.document)}, user=rep)
        updated = await factory.execute(
            PERSON_UPDATE, {"id": str(mine.pk), "input": {"document": holder.document}}, user=rep
        )
        answers += [created["personCreate"], updated["personUpdate"]]
    # then: one refusal, the same whoever holds it, naming no row
    assert [answer for answer in answers if answer != answers[0]] == []
    assert (answers[0]["code"], answers[0]["field"]) == ("FORBIDDEN", "document")
    assert answers[0]["message"] == DOCUMENT_UNAVAILABLE
    assert await Person.all().count() == 4
    # and a document of their own company's is a duplicate they can look up
    data = await factory.execute(PERSON_CREATE, {"input": person_input(document=own.document)}, user=rep)
    assert data["personCreate"]["code"] == "DUPLICATE_DOCUMENT"


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


async def test_digits_of_any_script_are_read_as_ascii_so_a_document_stays_unique(factory: Factory) -> None:
    # given: a person with this CPF (issue 11: Arabic-Indic or full-width digits made a second one)
    agent = await factory.user(Role.AGENT)
    first = await factory.execute(PERSON_CREATE, {"input": person_input(phones=[])}, user=agent)
    assert first["personCreate"]["document"] == "52998224725"
    for script in (ARABIC_INDIC, FULL_WIDTH):
        # when
        again = await factory.execute(
            PERSON_CREATE, {"input": person_input(document="529.982.247-25".translate(script), phones=[])}, user=agent
        )
        # then
        assert again["personCreate"]["code"] == "DUPLICATE_DOCUMENT", again
    assert await Person.all().count() == 1
    # and a new person's document and phones are stored in ASCII digits, found by either spelling
    other = await factory.execute(
        PERSON_CREATE,
        {"input": person_input(document="111.444.777-35".translate(FULL_WIDTH), phones=["+55 11 98888-7777".translate(ARABIC_INDIC)])},
        user=agent,
    )
    assert (other["personCreate"]["document"], other["personCreate"]["phones"]) == ("11144477735", ["+5511988887777"])
    found = await factory.execute(
        "query($t: String) { persons(filter: {text: $t}) { edges { node { document } } } }",
        {"t": "111444".translate(ARABIC_INDIC)},
        user=agent,
    )
    assert [edge["node"]["document"] for edge in found["persons"]["edges"]] == ["11144477735"]


async def test_digit_like_signs_are_not_digits(factory: Factory) -> None:
    # "²" passes str.isdigit() but int() refuses it: it was a fault, it is now a separator
    agent = await factory.user(Role.AGENT)
    data = await factory.execute(PERSON_CREATE, {"input": person_input(document="529.982.247-2²")}, user=agent)
    assert data["personCreate"]["code"] == "INVALID_DOCUMENT", data
    data = await factory.execute(PERSON_CREATE, {"input": person_input(phones=["¹²³⁴⁵⁶⁷⁸⁹"])}, user=agent)
    assert data["personCreate"]["code"] == "INVALID_PHONE", data
    assert await Person.all().count() == 0
