"""GraphiQL's page loads nothing from outside: every script and stylesheet is served by Contato,
with the integrity hash the page pins (contato/static/graphiql/README.md)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from contato.app import create_app
from contato.settings import Settings
from tests.conftest import with_settings

ASSET = re.compile(r'<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"[^>]*?integrity="([^"]+)"', re.DOTALL)
ANY_URL = re.compile(r'(?:src|href)="([^"]+)"')


@pytest.fixture
async def client(settings: Settings, db: None) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://api.test"
    ) as http:
        yield http


async def test_the_page_and_every_asset_it_loads_are_served_here(client: httpx.AsyncClient) -> None:
    # when
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    # then
    assert page.status_code == 200
    assert "graphiql/graphiql.min.js" in page.text
    assets = ASSET.findall(page.text)
    assert len(assets) == 4  # React, ReactDOM, GraphiQL's script and stylesheet
    assert {url for url in ANY_URL.findall(page.text) if not url.startswith("data:")} == {url for url, _ in assets}
    for url, integrity in assets:
        assert not url.startswith(("http:", "https:", "//")), url
        asset = await client.get(httpx.URL("http://api.test/graphql").join(url))
        assert asset.status_code == 200, url
        digest = base64.b64encode(hashlib.sha384(asset.content).digest()).decode()
        assert integrity == f"sha384-{digest}", url
    licences = await client.get("/graphiql/LICENSE.graphiql")
    assert licences.status_code == 200 and "MIT License" in licences.text


async def test_without_graphiql_neither_page_nor_assets(settings: Settings, db: None) -> None:
    app = create_app(with_settings(settings, graphiql=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as http:
        assert (await http.get("/graphql", headers={"Accept": "text/html"})).status_code == 404
        assert (await http.get("/graphiql/graphiql.min.js")).status_code == 404
