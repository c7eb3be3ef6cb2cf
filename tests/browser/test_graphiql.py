"""GraphiQL with no way out of the machine: every request that is not to the loopback fails, and
the page still loads, runs a query, and runs a subscription over graphql-transport-ws with the token."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.browser.test_dashboard import subscriptions_active, until_subscribed
from tests.servers import LiveServer

LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
ME = "query Me { me { name role } }"
UPDATES = """subscription Thread($ticketId: ID) {
  ticketUpdates(ticketId: $ticketId) { ... on TicketEvent { newMessage { body } } }
}"""


async def open_graphiql(browser: Any, api: LiveServer, query: str, token: str, variables: str = "") -> tuple[Any, list[str]]:
    """GraphiQL's page with `query` and the token, its outside requests failed; returns the page and
    the requests that were blocked."""
    page = await browser.new_page()
    blocked: list[str] = []

    async def offline(route: Any) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK or route.request.url.startswith("data:"):
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort("internetdisconnected")

    await page.route("**/*", offline)
    params = {"q": query, "headers": json.dumps({"Authorization": f"Bearer {token}"})}
    if variables:
        params["variables"] = variables
    await page.goto(f"{api.url}/graphql?{urlencode(params)}")
    await page.locator(".graphiql-execute-button").wait_for(timeout=30_000)
    return page, blocked


async def result_text(page: Any) -> str:
    return str(await page.locator(".result-window").inner_text())


async def test_graphiql_runs_a_query_and_a_subscription_offline(browser: Any, api: LiveServer) -> None:
    token = api.login("rep@acme.dev")
    # a query
    page, blocked = await open_graphiql(browser, api, ME, token)
    await page.locator(".graphiql-execute-button").click()
    await page.locator(".result-window", has_text="COMPANY_REP").wait_for(timeout=10_000)
    assert '"name": "Rita Acme"' in await result_text(page)

    # a subscription, then a message sent elsewhere shows up on the page
    ticket = api.graphql("{ tickets(first: 1, filter: {state: OPEN}) { edges { node { id } } } }", token=token)
    ticket_id = ticket.json()["data"]["tickets"]["edges"][0]["node"]["id"]
    page, more_blocked = await open_graphiql(browser, api, UPDATES, token, json.dumps({"ticketId": ticket_id}))
    active = subscriptions_active(api)
    await page.locator(".graphiql-execute-button").click()
    await until_subscribed(api, active + 1)
    added = api.graphql(
        "mutation($input: TicketMessageAddInput!) { ticketMessageAdd(input: $input) { __typename } }",
        {"input": {"ticketId": ticket_id, "body": "Mensagem ao vivo"}},
        token=token,
    )
    assert added.json()["data"]["ticketMessageAdd"]["__typename"] == "TicketMessage", added.text
    await page.locator(".result-window", has_text="Mensagem ao vivo").wait_for(timeout=10_000)
    assert blocked == [] and more_blocked == []  # nothing tried to leave the machine
