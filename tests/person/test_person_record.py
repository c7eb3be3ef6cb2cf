"""The customer record ("dados cadastrais"): address, birth or foundation date, notes; found by city
and CEP; and AGENT_PERSON_EDIT, which says what agents may change on a person they are calling."""

from dataclasses import replace

import pytest

from contato.settings import Settings, SettingsError
from models.person import Person
from models.user import Role
from tests.factories import Factory

UPDATE = """
mutation Update($id: ID!, $input: PersonUpdateInput!) {
  personUpdate(id: $id, input: $input) {
    __typename
    ... on Person { name phones cep street addressNumber city state birthDate notes }
    ... on PersonError { code field }
  }
}
"""
CREATE = """
mutation Create($input: PersonCreateInput!) {
  personCreate(input: $input) {
    __typename ... on Person { id cep city state birthDate notes } ... on PersonError { code field }
  }
}
"""
PERSONS = """
query Persons($filter: PersonFilter) { persons(filter: $filter) { edges { node { name } } } }
"""


async def test_the_record_is_written_read_and_cleared(factory: Factory) -> None:
    # given
    supervisor = await factory.user(Role.SUPERVISOR)
    created = await factory.execute(
        CREATE,
        {"input": {"kind": "LEGAL", "name": "Padaria Pão Quente", "document": "11222333000181",
                   "cep": "01310-100", "city": " São Paulo ", "state": "sp", "birthDate": "1998-04-02",
                   "notes": "Fundada em 1998."}},
        user=supervisor,
    )
    person = created["personCreate"]
    assert person["__typename"] == "Person"
    assert (person["cep"], person["city"], person["state"], person["birthDate"]) == (
        "01310100", "São Paulo", "SP", "1998-04-02"
    )
    # when: the street is set and the date and CEP cleared
    data = await factory.execute(
        UPDATE,
        {"id": person["id"], "input": {"street": "Av. Paulista", "addressNumber": "1000", "birthDate": None,
                                       "cep": ""}},
        user=supervisor,
    )
    # then
    updated = data["personUpdate"]
    assert (updated["street"], updated["addressNumber"], updated["birthDate"], updated["cep"]) == (
        "Av. Paulista", "1000", None, None
    )
    assert (updated["city"], updated["notes"]) == ("São Paulo", "Fundada em 1998.")
    # and bad values are refused with their code, writing nothing
    cases = [
        ({"cep": "0131"}, "INVALID_CEP", "cep"),
        ({"state": "XX"}, "INVALID_STATE", "state"),
        ({"birthDate": "2100-01-01"}, "INVALID_DATE", "birthDate"),
        ({"city": "x" * 101}, "INVALID", "city"),
    ]
    for values, code, field in cases:
        refused = await factory.execute(UPDATE, {"id": person["id"], "input": values}, user=supervisor)
        assert refused["personUpdate"] == {"__typename": "PersonError", "code": code, "field": field}, values
    stored = await Person.get(id=int(person["id"]))
    assert (stored.state, stored.city) == ("SP", "São Paulo")


async def test_persons_are_found_by_city_and_cep(factory: Factory) -> None:
    # given
    supervisor = await factory.user(Role.SUPERVISOR)
    for name, city, cep in (("Ana", "São Paulo", "01310100"), ("Bia", "Sao Paulo", "04538133"),
                            ("Caio", "Campinas", "13015904"), ("Davi", "", None)):
        person = await factory.person(name=name)
        await Person.filter(id=person.pk).update(city=city, city_key=city.lower().replace("ã", "a"), cep=cep)
    cases = [
        ({"city": "SAO PAULO"}, ["Ana", "Bia"]),
        ({"city": "são paulo", "cep": "013"}, ["Ana"]),
        ({"cep": "13015-904"}, ["Caio"]),
        ({"city": "Paulo"}, []),
    ]
    for where, expected in cases:
        # when
        data = await factory.execute(PERSONS, {"filter": where}, user=supervisor)
        # then
        assert [edge["node"]["name"] for edge in data["persons"]["edges"]] == expected, where


@pytest.mark.parametrize(
    ("setting", "values", "code", "field"),
    [
        # ALL (the default): agents change every field, as staff do
        (None, {"name": "Rita Souza", "phones": ["11987654321"], "notes": "x"}, None, None),
        # NONE: the ERP document's read-only operation screen
        (frozenset(), {"notes": "prefere manhã"}, "FIELD_NOT_EDITABLE", "notes"),
        # a list: the Solus document's editable contact data, not the identity
        (frozenset({"phones", "address", "notes"}), {"phones": ["11987654321"], "city": "Santos", "notes": "x"},
         None, None),
        (frozenset({"phones", "address", "notes"}), {"phones": ["11987654321"], "name": "Outra"},
         "FIELD_NOT_EDITABLE", "name"),
        (frozenset({"phones", "address", "notes"}), {"birthDate": "1980-01-01"}, "FIELD_NOT_EDITABLE", "birthDate"),
    ],
)
async def test_agent_person_edit_says_which_fields_agents_may_change(
    factory: Factory, setting: frozenset[str] | None, values: dict, code: str | None, field: str | None
) -> None:
    # given
    settings = replace(factory.settings, agent_person_edit=setting)
    agent, supervisor = await factory.user(Role.AGENT), await factory.user(Role.SUPERVISOR)
    person = await factory.person(name="Rita")
    # when
    data = await factory.execute(UPDATE, {"id": str(person.pk), "input": values}, user=agent, settings=settings)
    # then
    answer = data["personUpdate"]
    if code is None:
        assert answer["__typename"] == "Person"
    else:
        assert answer == {"__typename": "PersonError", "code": code, "field": field}
        assert (await Person.get(id=person.pk)).name == "Rita"
        # and staff are not bound by it
        by_staff = await factory.execute(UPDATE, {"id": str(person.pk), "input": values}, user=supervisor,
                                         settings=settings)
        assert by_staff["personUpdate"]["__typename"] == "Person"


def test_agent_person_edit_is_read_from_the_environment() -> None:
    assert Settings.from_env({}).agent_person_edit is None
    assert Settings.from_env({"AGENT_PERSON_EDIT": "none"}).agent_person_edit == frozenset()
    assert Settings.from_env({"AGENT_PERSON_EDIT": "phones, address"}).agent_person_edit == {"phones", "address"}
    with pytest.raises(SettingsError, match="AGENT_PERSON_EDIT"):
        Settings.from_env({"AGENT_PERSON_EDIT": "phones,salary"})
