from datetime import UTC, datetime, timedelta

import jwt

from models.user import LoginThrottle, Role
from resolvers.auth import TOKEN_ALGORITHM
from tests.factories import PASSWORD, Factory

LOGIN = """
mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    __typename
    ... on LoginPayload { token expiresAt user { id email role } }
    ... on LoginError { code message field retryAfterSeconds }
  }
}
"""

ME = "query { me { id email role } }"


async def test_login_returns_a_token_that_authenticates(factory: Factory) -> None:
    # given
    user = await factory.user(Role.SUPERVISOR, email="sup@test.dev")
    # when
    data = await factory.execute(LOGIN, {"email": " SUP@test.dev ", "password": PASSWORD})
    # then
    payload = data["login"]
    assert payload["__typename"] == "LoginPayload"
    assert payload["user"] == {"id": str(user.pk), "email": "sup@test.dev", "role": "SUPERVISOR"}
    claims = jwt.decode(payload["token"], factory.settings.secret_key, algorithms=[TOKEN_ALGORITHM])
    assert claims["sub"] == str(user.pk)
    expires_at = datetime.fromisoformat(payload["expiresAt"])
    assert expires_at.utcoffset() is not None
    assert timedelta(hours=11) < expires_at - datetime.now(UTC) <= timedelta(hours=12)


async def test_wrong_password_and_unknown_email_get_the_same_answer(factory: Factory) -> None:
    await factory.user(email="known@test.dev")
    wrong = await factory.execute(LOGIN, {"email": "known@test.dev", "password": "nope"})
    unknown = await factory.execute(LOGIN, {"email": "ghost@test.dev", "password": "nope"})
    assert wrong == unknown
    assert wrong["login"]["code"] == "INVALID_CREDENTIALS"


async def test_deactivated_user_cannot_log_in(factory: Factory) -> None:
    user = await factory.user(email="gone@test.dev")
    user.active = False
    await user.save()
    data = await factory.execute(LOGIN, {"email": "gone@test.dev", "password": PASSWORD})
    assert data["login"]["code"] == "INVALID_CREDENTIALS"


async def test_repeated_failures_lock_the_account_for_a_while(factory: Factory) -> None:
    # given: the test settings lock after 3 failures
    await factory.user(email="target@test.dev")
    for _ in range(3):
        data = await factory.execute(LOGIN, {"email": "target@test.dev", "password": "guess"})
        assert data["login"]["code"] == "INVALID_CREDENTIALS"
    # when: even the right password is refused while locked
    locked = await factory.execute(LOGIN, {"email": "target@test.dev", "password": PASSWORD})
    # then
    assert locked["login"]["code"] == "TOO_MANY_ATTEMPTS"
    assert 0 < locked["login"]["retryAfterSeconds"] <= factory.settings.login_lockout_seconds + 1
    # and once the lock has passed, the right password works and clears the count
    await LoginThrottle.filter(key="target@test.dev").update(
        locked_until=datetime.now(UTC) - timedelta(seconds=1)
    )
    ok = await factory.execute(LOGIN, {"email": "target@test.dev", "password": PASSWORD})
    assert ok["login"]["__typename"] == "LoginPayload"
    assert not await LoginThrottle.filter(key="target@test.dev").exists()


async def test_unknown_accounts_are_throttled_too(factory: Factory) -> None:
    for _ in range(3):
        await factory.execute(LOGIN, {"email": "ghost@test.dev", "password": "guess"})
    data = await factory.execute(LOGIN, {"email": "ghost@test.dev", "password": "guess"})
    assert data["login"]["code"] == "TOO_MANY_ATTEMPTS"


async def test_failures_on_one_account_do_not_lock_another(factory: Factory) -> None:
    await factory.user(email="other@test.dev")
    for _ in range(3):
        await factory.execute(LOGIN, {"email": "target@test.dev", "password": "guess"})
    ok = await factory.execute(LOGIN, {"email": "other@test.dev", "password": PASSWORD})
    assert ok["login"]["__typename"] == "LoginPayload"


async def test_everything_but_login_needs_a_token(factory: Factory) -> None:
    result = await factory.execute_raw(ME)
    assert result.data is None
    assert result.errors[0].extensions["code"] == "UNAUTHENTICATED"
    mixed = await factory.execute_raw(
        'mutation { login(email: "a@b.c", password: "x") { __typename } personConvert(id: "1") { __typename } }'
    )
    assert mixed.data is None
    assert mixed.errors[0].extensions["code"] == "UNAUTHENTICATED"
