import asyncio
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from starlette.requests import Request

from contato.settings import Settings
from models.user import LoginThrottle, Role
from resolvers.auth import TOKEN_ALGORITHM, client_address
from resolvers.context import Context
from tests.conftest import with_settings
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


WRONG = {"email": "target@test.dev", "password": "guess"}


def _codes(results: list[dict]) -> list[str]:
    return [result["login"].get("code") or result["login"]["__typename"] for result in results]


async def test_concurrent_wrong_passwords_get_no_more_guesses_than_the_limit(factory: Factory) -> None:
    # given: the test settings lock after 3 failures
    await factory.user(email="target@test.dev")
    # when: 12 wrong passwords arrive at once
    results = await asyncio.gather(*(factory.execute(LOGIN, WRONG) for _ in range(12)))
    # then: each attempt took its place in the window before hashing: only 3 were checked
    assert sorted(_codes(results)) == ["INVALID_CREDENTIALS"] * 3 + ["TOO_MANY_ATTEMPTS"] * 9


async def test_a_right_password_among_concurrent_guesses_neither_slips_through_nor_clears_them(
    factory: Factory,
) -> None:
    # given
    await factory.user(email="target@test.dev")
    attempts = [WRONG] * 5 + [{"email": "target@test.dev", "password": PASSWORD}] + [WRONG] * 4
    # when: 9 wrong and 1 right arrive together
    results = await asyncio.gather(*(factory.execute(LOGIN, variables) for variables in attempts))
    # then: no more than 3 were checked, and the account is still locked afterwards
    codes = _codes(results)
    assert codes.count("INVALID_CREDENTIALS") + codes.count("LoginPayload") <= 3
    assert codes.count("TOO_MANY_ATTEMPTS") >= 7
    after = await factory.execute(LOGIN, {"email": "target@test.dev", "password": PASSWORD})
    assert after["login"]["code"] == "TOO_MANY_ATTEMPTS"


async def test_a_right_password_clears_the_failures_before_it(factory: Factory) -> None:
    # given: two typos
    await factory.user(email="target@test.dev")
    for _ in range(2):
        await factory.execute(LOGIN, WRONG)
    # when
    ok = await factory.execute(LOGIN, {"email": "target@test.dev", "password": PASSWORD})
    # then: the count starts again: three more typos before the lock
    assert ok["login"]["__typename"] == "LoginPayload"
    codes = _codes([await factory.execute(LOGIN, WRONG) for _ in range(4)])
    assert codes == ["INVALID_CREDENTIALS"] * 3 + ["TOO_MANY_ATTEMPTS"]


MANY_LOGINS = "mutation {\n" + "\n".join(
    f'  l{index}: login(email: "target@test.dev", password: "guess{index}") {{ __typename }}' for index in range(14)
) + "\n}"


async def test_one_login_per_request(factory: Factory) -> None:
    # given
    await factory.user(email="target@test.dev")
    # when: one anonymous request asks for 14 logins
    result = await factory.execute_raw(MANY_LOGINS)
    # then: refused as a whole, before any password was checked or counted
    assert result.data is None
    assert result.errors[0].extensions["code"] == "BAD_USER_INPUT"
    assert "one login per request" in result.errors[0].message.lower()
    assert not await LoginThrottle.exists()


async def test_logins_spread_through_fragments_count_and_skipped_ones_do_not(factory: Factory) -> None:
    # given
    user = await factory.user(email="target@test.dev")
    spread = """mutation { ...A ... on Mutation { b: login(email: "target@test.dev", password: "x") { __typename } } }
    fragment A on Mutation { a: login(email: "target@test.dev", password: "y") { __typename } }"""
    skipped = """mutation($skip: Boolean!) { a: login(email: "target@test.dev", password: "x") { __typename }
      b: login(email: "target@test.dev", password: "y") @skip(if: $skip) { __typename } }"""
    # when
    refused = await factory.execute_raw(spread, user=user)
    allowed = await factory.execute_raw(skipped, {"skip": True})
    # then
    assert refused.data is None and refused.errors[0].extensions["code"] == "BAD_USER_INPUT"
    assert allowed.errors is None and allowed.data == {"a": {"__typename": "LoginError"}}


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "trusted", "expected"),
    [
        ("203.0.113.5", ["198.51.100.1"], (), "203.0.113.5"),  # no trusted proxy: the header is ignored
        ("10.0.0.2", ["198.51.100.1"], ("203.0.113.0/24",), "10.0.0.2"),  # the peer is not a trusted proxy
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1"], ("10.0.0.0/8",), "198.51.100.1"),  # right-most untrusted hop
        ("10.0.0.2", ["6.6.6.6", "198.51.100.1, 10.0.0.9"], ("10.0.0.0/8",), "198.51.100.1"),  # headers join
        ("10.0.0.2", ["10.0.0.7, 10.0.0.9"], ("10.0.0.0/8",), "10.0.0.7"),  # every hop a proxy
        ("10.0.0.2", [], ("10.0.0.0/8",), "10.0.0.2"),
        ("10.0.0.2", ["198.51.100.1:4431"], ("10.0.0.0/8",), "198.51.100.1"),
        ("10.0.0.2", ["[2001:db8:1:2::7]:4431"], ("10.0.0.0/8",), "2001:db8:1:2::/64"),
        ("2001:db8:1:2:aaaa::1", [], (), "2001:db8:1:2::/64"),  # an IPv6 client's /64
        ("::ffff:203.0.113.5", [], (), "203.0.113.5"),
        (None, ["198.51.100.1"], (), None),
    ],
)
def test_the_client_address_comes_from_the_connection_or_a_trusted_proxy(
    peer: str | None, forwarded_for: list[str], trusted: tuple[str, ...], expected: str | None
) -> None:
    networks = Settings(trusted_proxies=trusted).trusted_proxy_networks
    assert client_address(peer, forwarded_for, networks) == expected


def _from(address: str, settings: Settings) -> Context:
    return Context(settings=settings, request=Request({"type": "http", "client": (address, 5000), "headers": []}))


async def test_failures_from_one_address_lock_it_across_accounts(factory: Factory) -> None:
    # given: four failures per address allowed, three per account
    settings = with_settings(factory.settings, login_max_failures_per_address=4)
    await factory.user(email="target@test.dev")

    async def attempt(email: str, password: str, address: str) -> dict:
        variables = {"email": email, "password": password}
        result = await factory.schema.execute(LOGIN, variables, context_value=_from(address, settings))
        assert result.errors is None and result.data is not None
        return dict(result.data["login"])

    # when: four wrong passwords from one address, on four accounts
    for index in range(4):
        assert (await attempt(f"a{index}@test.dev", "guess", "203.0.113.5"))["code"] == "INVALID_CREDENTIALS"
    locked = await attempt("target@test.dev", PASSWORD, "203.0.113.5")
    elsewhere = await attempt("target@test.dev", PASSWORD, "203.0.113.6")
    # then
    assert locked["code"] == "TOO_MANY_ATTEMPTS"
    assert 0 < locked["retryAfterSeconds"] <= settings.login_lockout_seconds + 1
    assert "address" in locked["message"]
    assert elsewhere["__typename"] == "LoginPayload"


async def test_a_locked_account_does_not_use_up_the_address(factory: Factory) -> None:
    # given: a locked account, and an address that tried it six times (no password was checked)
    settings = with_settings(factory.settings, login_max_failures_per_address=4)
    await factory.user(email="target@test.dev")
    for _ in range(3):
        await factory.execute(LOGIN, WRONG, settings=settings)
    for _ in range(6):
        result = await factory.schema.execute(LOGIN, WRONG, context_value=_from("203.0.113.5", settings))
        assert result.data["login"]["code"] == "TOO_MANY_ATTEMPTS"
    # when: that address tries other accounts
    codes = []
    for index in range(5):
        result = await factory.schema.execute(
            LOGIN, {"email": f"a{index}@test.dev", "password": "x"}, context_value=_from("203.0.113.5", settings)
        )
        codes.append(result.data["login"]["code"])
    # then: it still had its four failures to make
    assert codes == ["INVALID_CREDENTIALS"] * 4 + ["TOO_MANY_ATTEMPTS"]


async def test_an_address_key_cannot_be_reached_through_an_email(factory: Factory) -> None:
    # Account keys are casefolded e-mails: logging in "as" an address key counts elsewhere.
    settings = with_settings(factory.settings, login_max_failures_per_address=4)
    for _ in range(4):
        await factory.execute(LOGIN, {"email": "ADDRESS 203.0.113.5", "password": "x"}, settings=settings)
    result = await factory.schema.execute(LOGIN, WRONG, context_value=_from("203.0.113.5", settings))
    assert result.data["login"]["code"] == "INVALID_CREDENTIALS"
