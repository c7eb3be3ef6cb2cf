"""CORS for browser clients on the origins of ALLOWED_ORIGINS: /graphql (uploads too) and /attachments/."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from contato.app import create_app
from contato.settings import Settings
from tests.conftest import with_settings

DASHBOARD = "http://localhost:5173"
FOREIGN = "https://evil.example"
CLIENT_HEADERS = "authorization,content-type,graphql-require-preflight,x-request-id"


@pytest.fixture
async def client(settings: Settings, db: None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(with_settings(settings, allowed_origins=(DASHBOARD,)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as http:
        yield http


def preflight(origin: str, headers: str = CLIENT_HEADERS) -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": headers}


@pytest.mark.parametrize("path", ["/graphql", "/attachments/1"])
async def test_preflight_from_an_allowed_origin(client: httpx.AsyncClient, path: str) -> None:
    # when
    response = await client.options(path, headers=preflight(DASHBOARD))
    # then
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == DASHBOARD
    assert {"GET", "POST"} <= set(response.headers["access-control-allow-methods"].split(", "))
    allowed = {name.strip().lower() for name in response.headers["access-control-allow-headers"].split(",")}
    assert set(CLIENT_HEADERS.split(",")) <= allowed
    assert response.headers["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in response.headers


async def test_responses_to_an_allowed_origin_expose_the_request_id_and_retry_after(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": DASHBOARD, "X-Request-ID": "abc123"}
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}
    assert response.headers["access-control-allow-origin"] == DASHBOARD
    exposed = {name.strip().lower() for name in response.headers["access-control-expose-headers"].split(",")}
    assert {"x-request-id", "retry-after"} <= exposed
    assert response.headers["x-request-id"] == "abc123"
    assert "origin" in response.headers["vary"].lower()
    assert "access-control-allow-credentials" not in response.headers


async def test_a_foreign_origin_gets_no_cors_headers(client: httpx.AsyncClient) -> None:
    refused = await client.options("/graphql", headers=preflight(FOREIGN))
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    answered = await client.post("/graphql", json={"query": "{ __typename }"}, headers={"Origin": FOREIGN})
    assert "access-control-allow-origin" not in answered.headers
    # and a header clients do not send is not allowed either
    odd = await client.options("/graphql", headers=preflight(DASHBOARD, "x-something-else"))
    assert odd.status_code == 400


@pytest.mark.parametrize("path", ["/metrics", "/healthz"])
async def test_operations_paths_are_not_for_browsers(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, headers={"Origin": DASHBOARD})
    assert "access-control-allow-origin" not in response.headers


async def test_without_allowed_origins_there_is_no_cors(settings: Settings, db: None) -> None:
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as http:
        response = await http.options("/graphql", headers=preflight(DASHBOARD))
    assert response.status_code == 405
    assert "access-control-allow-origin" not in response.headers
