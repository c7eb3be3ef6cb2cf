from models.user import Role, User
from resolvers.auth import TokenRejected, authenticate_token, issue_token
from tests.factories import Factory

USER_CREATE = """
mutation UserCreate($input: UserCreateInput!) {
  userCreate(input: $input) {
    __typename
    ... on User { id email role company { id } }
    ... on UserError { code field }
  }
}
"""

USER_UPDATE = """
mutation UserUpdate($id: ID!, $input: UserUpdateInput!) {
  userUpdate(id: $id, input: $input) {
    __typename
    ... on User { id name email role company { id } }
    ... on UserError { code field }
  }
}
"""

USER_DEACTIVATE = """
mutation UserDeactivate($id: ID!) {
  userDeactivate(id: $id) { __typename ... on User { active } ... on UserError { code field } }
}
"""

USERS = "query { users(first: 50) { edges { node { email } } } }"


def new_user(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "name": "New Agent",
        "email": "New.Agent@Test.dev",
        "password": "a long enough password",
        "role": "AGENT",
    }
    values.update(overrides)
    return values


async def test_admin_creates_users(factory: Factory) -> None:
    admin = await factory.user(Role.ADMIN)
    company = await factory.company()
    agent = await factory.execute(USER_CREATE, {"input": new_user()}, user=admin)
    assert agent["userCreate"]["email"] == "new.agent@test.dev"
    rep = await factory.execute(
        USER_CREATE,
        {"input": new_user(email="rep@x.dev", role="COMPANY_REP", companyId=str(company.pk))},
        user=admin,
    )
    assert rep["userCreate"]["company"] == {"id": str(company.pk)}


async def test_user_create_errors(factory: Factory) -> None:
    admin = await factory.user(Role.ADMIN, email="admin@test.dev")
    company = await factory.company()
    cases = [
        (new_user(email="admin@test.dev"), "DUPLICATE_EMAIL", "email"),
        (new_user(email="nope"), "INVALID_EMAIL", "email"),
        (new_user(password="short"), "WEAK_PASSWORD", "password"),
        (new_user(role="COMPANY_REP"), "COMPANY_REQUIRED", "companyId"),
        (new_user(companyId=str(company.pk)), "COMPANY_NOT_ALLOWED", "companyId"),
        (new_user(role="COMPANY_REP", companyId="999"), "UNKNOWN_COMPANY", "companyId"),
        (new_user(name=""), "INVALID", "name"),
    ]
    for user_input, code, field in cases:
        data = await factory.execute(USER_CREATE, {"input": user_input}, user=admin)
        assert (data["userCreate"]["code"], data["userCreate"]["field"]) == (code, field), user_input
    assert await User.all().count() == 1


async def test_only_admins_manage_users(factory: Factory) -> None:
    supervisor = await factory.user(Role.SUPERVISOR)
    agent = await factory.user(Role.AGENT)
    for actor in (supervisor, agent):
        data = await factory.execute(USER_CREATE, {"input": new_user()}, user=actor)
        assert data["userCreate"]["code"] == "FORBIDDEN"
        data = await factory.execute(USER_DEACTIVATE, {"id": str(agent.pk)}, user=actor)
        assert data["userDeactivate"]["code"] == "FORBIDDEN"
    assert await User.all().count() == 2


async def test_update_changes_role_and_company(factory: Factory) -> None:
    admin = await factory.user(Role.ADMIN)
    rep = await factory.user(Role.COMPANY_REP)
    data = await factory.execute(
        USER_UPDATE, {"id": str(rep.pk), "input": {"role": "AGENT", "companyId": None}}, user=admin
    )
    assert data["userUpdate"]["role"] == "AGENT"
    assert data["userUpdate"]["company"] is None
    refused = await factory.execute(USER_UPDATE, {"id": str(rep.pk), "input": {"role": "COMPANY_REP"}}, user=admin)
    assert refused["userUpdate"]["code"] == "COMPANY_REQUIRED"
    missing = await factory.execute(USER_UPDATE, {"id": "777", "input": {"name": "x"}}, user=admin)
    assert missing["userUpdate"]["code"] == "NOT_FOUND"


async def test_new_password_ends_existing_sessions(factory: Factory) -> None:
    admin = await factory.user(Role.ADMIN)
    agent = await factory.user(Role.AGENT)
    token = issue_token(agent, factory.settings).token
    await factory.execute(USER_UPDATE, {"id": str(agent.pk), "input": {"password": "another long password"}}, user=admin)
    try:
        await authenticate_token(token, factory.settings)
    except TokenRejected:
        pass
    else:
        raise AssertionError("old token still works after a password change")


async def test_deactivation_stops_tokens_at_once(factory: Factory) -> None:
    admin = await factory.user(Role.ADMIN)
    agent = await factory.user(Role.AGENT)
    token = issue_token(agent, factory.settings).token
    assert (await authenticate_token(token, factory.settings)).pk == agent.pk
    data = await factory.execute(USER_DEACTIVATE, {"id": str(agent.pk)}, user=admin)
    assert data["userDeactivate"]["active"] is False
    try:
        await authenticate_token(token, factory.settings)
    except TokenRejected as rejected:
        assert "no longer valid" in str(rejected)
    else:
        raise AssertionError("token of a deactivated user still works")
    own = await factory.execute(USER_DEACTIVATE, {"id": str(admin.pk)}, user=admin)
    assert own["userDeactivate"]["code"] == "CANNOT_DEACTIVATE_SELF"


async def test_agents_list_only_themselves(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    supervisor = await factory.user(Role.SUPERVISOR)
    mine = await factory.execute(USERS, user=agent)
    assert [edge["node"]["email"] for edge in mine["users"]["edges"]] == [agent.email]
    everyone = await factory.execute(USERS, user=supervisor)
    assert len(everyone["users"]["edges"]) == 2


async def test_users_are_found_by_name_or_email(factory: Factory) -> None:
    # found by the fuzzer: a text filter used to fail with an unexpected error
    admin = await factory.user(Role.ADMIN, email="boss@test.dev")
    await factory.user(Role.AGENT, email="maria@test.dev")
    query = "query($text: String) { users(text: $text) { edges { node { email } } } }"
    by_email = await factory.execute(query, {"text": "MARIA@"}, user=admin)
    by_name = await factory.execute(query, {"text": "Admin"}, user=admin)
    assert [edge["node"]["email"] for edge in by_email["users"]["edges"]] == ["maria@test.dev"]
    assert [edge["node"]["email"] for edge in by_name["users"]["edges"]] == ["boss@test.dev"]
