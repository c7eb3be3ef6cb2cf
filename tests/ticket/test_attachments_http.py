"""Uploads (GraphQL multipart request spec) and the authenticated download route, over HTTP.

In-process: the app from `create_app` through httpx's ASGI transport, on the test's database
(the ticket tables have no migration yet, so `contato serve` cannot run them; move these to
tests/app/ once the migrations exist).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from contato.app import create_app
from contato.settings import Settings
from models.ticket import Attachment, Ticket
from models.user import Role, User
from resolvers.auth import issue_token
from resolvers.signed_links import attachment_link
from tests.factories import Factory
from tests.ticket_factories import TicketFactory

TICKET_OPEN = """
mutation TicketOpen($input: TicketOpenInput!) {
  ticketOpen(input: $input) {
    __typename
    ... on Ticket { id messages { edges { node { attachments { id fileName downloadUrl } } } } }
    ... on TicketError { code field }
  }
}
"""

MESSAGE_ADD = """
mutation MessageAdd($input: TicketMessageAddInput!) {
  ticketMessageAdd(input: $input) {
    __typename
    ... on TicketMessage { attachments { id downloadUrl } }
    ... on TicketError { code }
  }
}
"""

PDF = b"%PDF-1.4 contrato"


@pytest.fixture
async def client(settings: Settings, db: None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://contato.test"
    ) as http:
        yield http


def bearer(user: User, settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(user, settings).token}"}


async def upload_ticket(
    client: httpx.AsyncClient,
    user: User,
    settings: Settings,
    classification_id: int,
    headers: dict[str, str],
) -> httpx.Response:
    variables = {
        "input": {
            "subject": "Contrato",
            "body": "Segue o contrato.",
            "contactName": "Rita",
            "contactPhone": "+5511999990000",
            "contactEmail": "rita@acme.test",
            "classificationId": str(classification_id),
            "files": [None],
        }
    }
    data = {
        "operations": json.dumps({"query": TICKET_OPEN, "variables": variables}),
        "map": json.dumps({"0": ["variables.input.files.0"]}),
    }
    files = {"0": ("contrato.pdf", PDF, "application/pdf")}
    return await client.post(
        "/graphql", data=data, files=files, headers={**bearer(user, settings), **headers}
    )


async def test_upload_then_download_with_the_tickets_visibility(
    client: httpx.AsyncClient, factory: Factory, tickets: TicketFactory, settings: Settings
) -> None:
    # given
    rep = await factory.user(Role.COMPANY_REP)
    other_rep = await factory.user(Role.COMPANY_REP)
    alice = await factory.user(Role.AGENT)
    bruno = await factory.user(Role.AGENT)
    supervisor = await factory.user(Role.SUPERVISOR)
    await tickets.status("Novo", initial=True)
    root = await tickets.classification()
    # when: the rep uploads with the preflight header
    response = await upload_ticket(
        client, rep, settings, root.pk, {"GraphQL-Require-Preflight": "1"}
    )
    # then
    assert response.status_code == 200, response.text
    ticket = response.json()["data"]["ticketOpen"]
    [attachment] = ticket["messages"]["edges"][0]["node"]["attachments"]
    assert attachment["fileName"] == "contrato.pdf"
    # the bearer route: the same path without the signed link's query
    url = f"/attachments/{attachment['id']}"
    download = await client.get(url, headers=bearer(rep, settings))
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment;")
    # visibility: the ticket is unassigned, so every agent sees it; once Alice takes it, Bruno does not
    for user, status in ((other_rep, 404), (alice, 200), (bruno, 200), (supervisor, 200)):
        assert (await client.get(url, headers=bearer(user, settings))).status_code == status, (
            user.role
        )
    await Ticket.filter(id=int(ticket["id"])).update(assignee_id=alice.pk)
    for user, status in ((alice, 200), (bruno, 404), (supervisor, 200), (rep, 200)):
        assert (await client.get(url, headers=bearer(user, settings))).status_code == status, (
            user.role
        )
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers={"Authorization": "Bearer garbage"})).status_code == 401
    assert (
        await client.get("/attachments/999", headers=bearer(supervisor, settings))
    ).status_code == 404


async def test_files_on_internal_notes_are_not_for_reps(
    client: httpx.AsyncClient, factory: Factory, tickets: TicketFactory, settings: Settings
) -> None:
    rep = await factory.user(Role.COMPANY_REP)
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    ticket = await tickets.ticket(rep, new, company=await rep.company)
    variables = {
        "input": {"ticketId": str(ticket.pk), "body": "Nota", "internal": True, "files": [None]}
    }
    response = await client.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": MESSAGE_ADD, "variables": variables}),
            "map": json.dumps({"0": ["variables.input.files.0"]}),
        },
        files={"0": ("nota.txt", b"interno", "text/plain")},
        headers={**bearer(agent, settings), "Apollo-Require-Preflight": "true"},
    )
    [attachment] = response.json()["data"]["ticketMessageAdd"]["attachments"]
    url = f"/attachments/{attachment['id']}"
    assert (await client.get(url, headers=bearer(agent, settings))).status_code == 200
    assert (await client.get(url, headers=bearer(rep, settings))).status_code == 404


async def test_multipart_without_the_preflight_header_and_form_posts_are_refused(
    client: httpx.AsyncClient, factory: Factory, tickets: TicketFactory, settings: Settings
) -> None:
    rep = await factory.user(Role.COMPANY_REP)
    await tickets.status("Novo", initial=True)
    root = await tickets.classification()
    response = await upload_ticket(client, rep, settings, root.pk, {})
    assert response.status_code == 400
    assert "GraphQL-Require-Preflight" in response.text
    form = await client.post(
        "/graphql", data={"query": "mutation { __typename }"}, headers=bearer(rep, settings)
    )
    assert form.status_code == 415
    plain = await client.post(
        "/graphql",
        content=json.dumps({"query": "{ __typename }"}),
        headers={**bearer(rep, settings), "Content-Type": "text/plain"},
    )
    assert plain.status_code == 415
    assert await Ticket.all().count() == 0 and await Attachment.all().count() == 0


async def _uploaded(
    client: httpx.AsyncClient, rep: User, settings: Settings, tickets: TicketFactory
) -> tuple[int, dict[str, str]]:
    """A ticket with one attachment, opened by `rep`: its id and the attachment as `rep` gets it."""
    await tickets.status("Novo", initial=True)
    root = await tickets.classification()
    response = await upload_ticket(client, rep, settings, root.pk, {"GraphQL-Require-Preflight": "1"})
    ticket = response.json()["data"]["ticketOpen"]
    [attachment] = ticket["messages"]["edges"][0]["node"]["attachments"]
    return int(ticket["id"]), attachment


def _with(url: str, **changes: str) -> str:
    parsed = httpx.URL(url)
    return str(parsed.copy_merge_params(changes)) if changes else url


async def test_download_url_is_a_signed_link_that_needs_no_token(
    client: httpx.AsyncClient, factory: Factory, tickets: TicketFactory, settings: Settings
) -> None:
    # given
    rep = await factory.user(Role.COMPANY_REP)
    _, attachment = await _uploaded(client, rep, settings, tickets)
    # when: fetched as an <img> or <a href> would, with no Authorization header
    url = attachment["downloadUrl"]
    download = await client.get(url)
    # then
    assert url.startswith(f"http://contato.test/attachments/{attachment['id']}?")
    assert httpx.URL(url).params["user"] == str(rep.pk)
    assert download.status_code == 200, download.text
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["cache-control"] == "private, no-store"


async def test_expired_and_tampered_links_are_refused(
    client: httpx.AsyncClient, factory: Factory, tickets: TicketFactory, settings: Settings
) -> None:
    # given
    rep = await factory.user(Role.COMPANY_REP)
    colleague = await factory.user(Role.COMPANY_REP, company=await rep.company)
    _, attachment = await _uploaded(client, rep, settings, tickets)
    url = attachment["downloadUrl"]
    signature = httpx.URL(url).params["signature"]
    expires = int(httpx.URL(url).params["expires"])
    ttl = settings.attachment_link_ttl_seconds
    expired = "http://contato.test" + attachment_link(
        settings, int(attachment["id"]), rep, now=time.time() - ttl - 1
    )
    # when / then
    answer = await client.get(expired)
    assert answer.status_code == 403 and "expired" in answer.json()["error"]
    for tampered in (
        _with(url, expires=str(expires + 3600)),  # a longer life
        _with(url, user=str(colleague.pk)),  # someone else's (same visibility, still refused)
        _with(url, signature=("0" if signature[0] != "0" else "1") + signature[1:]),
        _with(url, signature=""),
        _with(url, user="not-a-number"),
        url.replace(f"/attachments/{attachment['id']}?", f"/attachments/{int(attachment['id']) + 1}?"),
    ):
        answer = await client.get(tampered)
        assert answer.status_code == 403, tampered
        assert "not valid" in answer.json()["error"]
    assert (await client.get(url)).status_code == 200  # the untouched link still works


async def test_a_link_carries_its_viewers_visibility_checked_at_download(
    client: httpx.AsyncClient, factory: Factory, tickets: TicketFactory, settings: Settings
) -> None:
    # given: a rep's ticket, unassigned, so every agent sees it
    rep = await factory.user(Role.COMPANY_REP)
    other_rep = await factory.user(Role.COMPANY_REP)
    alice = await factory.user(Role.AGENT)
    bruno = await factory.user(Role.AGENT)
    ticket_id, attachment = await _uploaded(client, rep, settings, tickets)
    attachment_id = int(attachment["id"])

    def link(user: User) -> str:
        return "http://contato.test" + attachment_link(settings, attachment_id, user)

    # then: another company's rep cannot see it, by a link of their own or by the rep's with their id
    assert (await client.get(link(other_rep))).status_code == 404
    assert (await client.get(_with(attachment["downloadUrl"], user=str(other_rep.pk)))).status_code == 403
    # when: Alice takes the ticket, Bruno's link (made while he could see it) stops working
    bruno_link = link(bruno)
    assert (await client.get(bruno_link)).status_code == 200
    await Ticket.filter(id=ticket_id).update(assignee_id=alice.pk)
    assert (await client.get(bruno_link)).status_code == 404
    assert (await client.get(link(alice))).status_code == 200
    # and a changed password (a new token version) or a deactivation ends the viewer's links
    alice_link = link(alice)
    await User.filter(id=alice.pk).update(token_version=alice.token_version + 1)
    assert (await client.get(alice_link)).status_code == 403
    rep_link = attachment["downloadUrl"]
    await User.filter(id=rep.pk).update(active=False)
    assert (await client.get(rep_link)).status_code == 403


async def test_an_attachment_id_past_the_database_is_not_found(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    # Starlette's int convertor takes any run of digits; SQLite cannot bind one past 64 bits (was a 500)
    supervisor = await factory.user(Role.SUPERVISOR)
    for attachment_id in ("99999999999999999999", "2147483648", "0"):
        response = await client.get(f"/attachments/{attachment_id}", headers=bearer(supervisor, settings))
        assert (response.status_code, response.json()) == (404, {"error": "No such attachment."}), attachment_id
