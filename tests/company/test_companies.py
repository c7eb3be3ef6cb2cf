from models.company import Company
from models.user import Role
from tests.factories import Factory

COMPANY_CREATE = """
mutation CompanyCreate($input: CompanyCreateInput!) {
  companyCreate(input: $input) {
    __typename
    ... on Company { id name cnpj active }
    ... on CompanyError { code field }
  }
}
"""

COMPANY_UPDATE = """
mutation CompanyUpdate($id: ID!, $input: CompanyUpdateInput!) {
  companyUpdate(id: $id, input: $input) {
    __typename
    ... on Company { id name cnpj active }
    ... on CompanyError { code field }
  }
}
"""

COMPANIES = "query { companies { edges { node { id name } } } }"


async def test_admin_creates_and_updates_a_company(factory: Factory) -> None:
    admin = await factory.user(Role.ADMIN)
    created = await factory.execute(
        COMPANY_CREATE, {"input": {"name": "Initech", "cnpj": "11.444.777/0001-61"}}, user=admin
    )
    company = created["companyCreate"]
    assert company["cnpj"] == "11444777000161"
    updated = await factory.execute(
        COMPANY_UPDATE, {"id": company["id"], "input": {"name": "Initech SA", "active": False}}, user=admin
    )
    assert updated["companyUpdate"] == {**company, "name": "Initech SA", "active": False}


async def test_company_errors(factory: Factory) -> None:
    admin = await factory.user(Role.ADMIN)
    existing = await factory.company(cnpj="11222333000181")
    cases = [
        ({"name": "X", "cnpj": "11.222.333/0001-82"}, "INVALID_CNPJ", "cnpj"),
        ({"name": "X", "cnpj": "11222333000181"}, "DUPLICATE_CNPJ", "cnpj"),
        ({"name": " ", "cnpj": "11444777000161"}, "INVALID", "name"),
    ]
    for company_input, code, field in cases:
        data = await factory.execute(COMPANY_CREATE, {"input": company_input}, user=admin)
        assert (data["companyCreate"]["code"], data["companyCreate"]["field"]) == (code, field)
    other = await factory.company(cnpj="04252011000110")
    clash = await factory.execute(COMPANY_UPDATE, {"id": str(other.pk), "input": {"cnpj": existing.cnpj}}, user=admin)
    assert clash["companyUpdate"]["code"] == "DUPLICATE_CNPJ"
    missing = await factory.execute(COMPANY_UPDATE, {"id": "999", "input": {"name": "Y"}}, user=admin)
    assert missing["companyUpdate"]["code"] == "NOT_FOUND"
    assert await Company.all().count() == 2


async def test_only_admins_manage_companies(factory: Factory) -> None:
    supervisor = await factory.user(Role.SUPERVISOR)
    data = await factory.execute(
        COMPANY_CREATE, {"input": {"name": "Initech", "cnpj": "11444777000161"}}, user=supervisor
    )
    assert data["companyCreate"]["code"] == "FORBIDDEN"


async def test_rep_sees_only_their_company(factory: Factory) -> None:
    rep = await factory.user(Role.COMPANY_REP)
    await factory.company()
    data = await factory.execute(COMPANIES, user=rep)
    assert [edge["node"]["id"] for edge in data["companies"]["edges"]] == [str(rep.company_id)]


async def test_a_cnpj_in_full_width_or_arabic_indic_digits_is_the_same_cnpj(factory: Factory) -> None:
    admin = await factory.user(Role.ADMIN)
    await factory.company(cnpj="11222333000181")
    for script in ("０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩"):
        cnpj = "11.222.333/0001-81".translate(str.maketrans("0123456789", script))
        data = await factory.execute(COMPANY_CREATE, {"input": {"name": "Twin", "cnpj": cnpj}}, user=admin)
        assert data["companyCreate"] == {"__typename": "CompanyError", "code": "DUPLICATE_CNPJ", "field": "cnpj"}
    assert await Company.all().count() == 1
