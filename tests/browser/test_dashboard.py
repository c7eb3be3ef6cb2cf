"""A dashboard on another origin, in a real Chromium, against a real server: what issue 13 asked.

Log in, query, subscribe and receive a pushed message, send a mutation, upload a picture (multipart,
CSRF header) and show it through its signed link in an <img>; the same page from an origin that is
not in ALLOWED_ORIGINS gets nowhere.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.browser.conftest import StaticSite
from tests.servers import LiveServer

REP = ("rep@acme.dev", "contato-demo")


def subscriptions_active(server: LiveServer) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "contato_graphql_subscriptions_active"
    )


async def until_subscribed(server: LiveServer, count: float, timeout: float = 10.0) -> None:
    """The server has registered the subscription (so an event sent now reaches it)."""
    deadline = time.monotonic() + timeout
    while (current := await asyncio.to_thread(subscriptions_active, server)) < count:
        assert time.monotonic() < deadline, f"{current} subscriptions active, expected {count}"
        await asyncio.sleep(0.05)


async def test_a_dashboard_on_another_origin_works_end_to_end(
    browser: Any, api: LiveServer, sites: tuple[StaticSite, StaticSite]
) -> None:
    page = await browser.new_page()
    failures: list[str] = []
    page.on("pageerror", lambda error: failures.append(str(error)))
    await page.goto(f"{sites[0].origin}/dashboard.html?api={api.url}")
    assert page.url.startswith(sites[0].origin) and not api.url.startswith(sites[0].origin)

    # log in and query (CORS: a preflighted POST with Authorization; X-Request-ID readable)
    user = await page.evaluate("([email, password]) => dashboard.login(email, password)", list(REP))
    assert user["role"] == "COMPANY_REP"
    answer = await page.evaluate("() => dashboard.tickets()")
    assert answer["requestId"] == "dashboard1"  # an exposed header
    ticket = answer["tickets"][0]
    await page.locator("#tickets li").first.wait_for()
    assert f"#{ticket['number']}" in await page.locator("#tickets").inner_text()

    # subscribe, then a mutation from the page is pushed back to it
    active = await asyncio.to_thread(subscriptions_active, api)
    assert await page.evaluate("(id) => dashboard.subscribe(id)", ticket["id"]) == "subscribed"
    await until_subscribed(api, active + 1)
    added = await page.evaluate("([id, body]) => dashboard.addMessage(id, body)", [ticket["id"], "Olá do painel"])
    assert added["__typename"] == "TicketMessage", added
    await page.locator("#messages li", has_text="Olá do painel").wait_for(timeout=10_000)

    # upload a picture made in the page; it comes back on the stream and shows through its signed link
    uploaded = await page.evaluate("([id, body]) => dashboard.upload(id, body)", [ticket["id"], "Captura de tela"])
    assert uploaded["__typename"] == "TicketMessage", uploaded
    [attachment] = uploaded["attachments"]
    assert attachment["contentType"] == "image/png"
    assert attachment["downloadUrl"].startswith(f"{api.url}/attachments/")
    await page.locator("#messages li", has_text="Captura de tela").wait_for(timeout=10_000)
    assert await page.evaluate("(alt) => dashboard.imageWidth(alt)", "screen.png") == 32
    assert failures == []


async def test_the_same_page_from_a_foreign_origin_is_refused(
    browser: Any, api: LiveServer, sites: tuple[StaticSite, StaticSite]
) -> None:
    page = await browser.new_page()
    await page.goto(f"{sites[1].origin}/dashboard.html?api={api.url}")
    login = await page.evaluate(
        """([email, password]) => dashboard.login(email, password).then(
             () => "logged in", (error) => `${error.name}: ${error.message}`)""",
        list(REP),
    )
    assert login.startswith("TypeError: Failed to fetch"), login  # the browser's CORS refusal
    # a token got elsewhere does not help: the WebSocket handshake is refused for this origin too
    token = api.login(*REP)
    subscribed = await page.evaluate(
        """(token) => { dashboard.token = token;
             return dashboard.subscribe(null).then(() => "subscribed", (error) => error.message); }""",
        token,
    )
    assert subscribed != "subscribed", subscribed
