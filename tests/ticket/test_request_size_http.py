"""Request body caps on /graphql, over HTTP: the whole multipart request, and JSON bodies.

A body over its cap is answered 413 with a JSON error before anything is parsed: at once when its
Content-Length says so, otherwise as soon as the streamed bytes pass the cap (the rest is never
read, so a client cannot make the server spool an endless upload to disk).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from contato.app import create_app
from contato.graphql_view import JSON_MAX_BYTES
from contato.settings import (
    UPLOAD_REQUEST_FILES,
    UPLOAD_REQUEST_OVERHEAD,
    Settings,
    SettingsError,
)
from models.event import Event
from models.ticket import Attachment, Ticket
from models.user import Role, User
from resolvers.auth import issue_token
from tests.factories import Factory
from tests.ticket_factories import TicketFactory

TICKET_OPEN = """
mutation TicketOpen($input: TicketOpenInput!) {
  ticketOpen(input: $input) {
    __typename
    ... on Ticket { id messages { edges { node { attachments { fileName size } } } } }
    ... on TicketError { code field }
  }
}
"""

BOUNDARY = "contato-test-boundary"
CHUNK = 64 * 1024
# 64 KiB of room: the smallest cap the settings accept for files of UPLOAD_MAX_BYTES (1 KiB here).
REQUEST_CAP = 1024 + 64 * 1024


@pytest.fixture
def capped(settings: Settings) -> Settings:
    return replace(settings, upload_max_request_bytes=REQUEST_CAP)


@pytest.fixture
async def client(capped: Settings, db: None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(capped)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://contato.test"
    ) as http:
        yield http


def headers(user: User, settings: Settings, **extra: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {issue_token(user, settings).token}",
        "GraphQL-Require-Preflight": "1",
        **extra,
    }


def operations(classification_id: int, files: int) -> bytes:
    variables = {
        "input": {
            "subject": "Contrato",
            "body": "Segue o contrato.",
            "contactName": "Rita",
            "contactPhone": "+5511999990000",
            "contactEmail": "rita@acme.test",
            "classificationId": str(classification_id),
            "files": [None] * files,
        }
    }
    return json.dumps({"query": TICKET_OPEN, "variables": variables}).encode()


def part(name: str, content: bytes, file_name: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"'
    if file_name is not None:
        disposition += f'; filename="{file_name}"\r\nContent-Type: application/pdf'
    return (
        f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    )


def multipart(classification_id: int, files: list[bytes]) -> bytes:
    file_map = {str(index): [f"variables.input.files.{index}"] for index in range(len(files))}
    body = part("operations", operations(classification_id, len(files)))
    body += part("map", json.dumps(file_map).encode())
    for index, content in enumerate(files):
        body += part(str(index), content, f"f{index}.pdf")
    return body + f"--{BOUNDARY}--\r\n".encode()


MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


class EndlessUpload:
    """A valid multipart request whose one file goes on for `total` bytes, produced lazily."""

    def __init__(self, classification_id: int, total: int) -> None:
        self.classification_id = classification_id
        self.total = total
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        head = part("operations", operations(self.classification_id, 1))
        head += part("map", json.dumps({"0": ["variables.input.files.0"]}).encode())
        head += (
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="0"; filename="big.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        yield head
        self.sent += len(head)
        while self.sent < self.total:
            yield b"%" * CHUNK
            self.sent += CHUNK
        yield f"\r\n--{BOUNDARY}--\r\n".encode()


def assert_too_large(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/json"
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "REQUEST_TOO_LARGE", "maxBytes": limit}
    assert str(limit) in error["message"]


async def assert_nothing_written() -> None:
    assert await Ticket.all().count() == 0
    assert await Attachment.all().count() == 0
    assert await Event.all().count() == 0


async def test_files_under_the_request_cap_are_accepted(
    client: httpx.AsyncClient, factory: Factory, tickets: TicketFactory, capped: Settings
) -> None:
    # given: several files of the largest size, together just under the cap
    rep = await factory.user(Role.COMPANY_REP)
    await tickets.status("Novo", initial=True)
    root = await tickets.classification()
    body = multipart(root.pk, [b"%PDF-" + b"%" * (capped.upload_max_bytes - 5)] * 3)  # PDFs by their first bytes
    assert len(body) <= REQUEST_CAP
    # when
    response = await client.post(
        "/graphql", content=body, headers=headers(rep, capped, **MULTIPART)
    )
    # then
    assert response.status_code == 200, response.text
    ticket = response.json()["data"]["ticketOpen"]
    assert len(ticket["messages"]["edges"][0]["node"]["attachments"]) == 3


async def test_a_multipart_request_declared_over_the_cap_is_refused_before_it_is_read(
    client: httpx.AsyncClient, factory: Factory, tickets: TicketFactory, capped: Settings
) -> None:
    # given: files each within UPLOAD_MAX_BYTES, but too many of them together
    rep = await factory.user(Role.COMPANY_REP)
    await tickets.status("Novo", initial=True)
    root = await tickets.classification()
    files = [b"%" * capped.upload_max_bytes] * 10 + [b"%" * (REQUEST_CAP // 2)] * 2
    body = multipart(root.pk, files)
    assert len(body) > REQUEST_CAP
    # when: httpx declares the Content-Length
    response = await client.post(
        "/graphql", content=body, headers=headers(rep, capped, **MULTIPART)
    )
    # then
    assert_too_large(response, REQUEST_CAP)
    assert "UPLOAD_MAX_REQUEST_BYTES" in response.json()["errors"][0]["message"]
    await assert_nothing_written()


async def test_a_streamed_multipart_request_is_cut_off_at_the_cap(
    client: httpx.AsyncClient, factory: Factory, tickets: TicketFactory, capped: Settings
) -> None:
    # given: a chunked upload (no Content-Length) of 16 MiB, far over the cap
    rep = await factory.user(Role.COMPANY_REP)
    await tickets.status("Novo", initial=True)
    root = await tickets.classification()
    upload = EndlessUpload(root.pk, 16 * 1024 * 1024)
    # when
    response = await client.post(
        "/graphql", content=upload, headers=headers(rep, capped, **MULTIPART)
    )
    # then: refused once the cap was passed; the rest of the stream was never read
    assert_too_large(response, REQUEST_CAP)
    assert response.headers["connection"] == "close"
    assert upload.sent <= REQUEST_CAP + 2 * CHUNK
    await assert_nothing_written()
    upload_dir = capped.upload_dir
    assert not upload_dir.exists() or [p for p in upload_dir.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_json_body_over_its_cap_is_refused(
    client: httpx.AsyncClient, factory: Factory, capped: Settings, streamed: bool
) -> None:
    # given: a JSON operation with an oversized variable
    agent = await factory.user(Role.AGENT)
    payload = {"query": "{ __typename }", "variables": {"padding": "x" * JSON_MAX_BYTES}}
    body = json.dumps(payload).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), CHUNK):
            yield body[start : start + CHUNK]

    # when
    response = await client.post(
        "/graphql",
        content=chunks() if streamed else body,
        headers=headers(agent, capped, **{"Content-Type": "application/json"}),
    )
    # then
    assert_too_large(response, JSON_MAX_BYTES)


async def test_a_json_body_under_its_cap_is_answered(
    client: httpx.AsyncClient, factory: Factory, capped: Settings
) -> None:
    agent = await factory.user(Role.AGENT)
    payload = {"query": "{ __typename }", "variables": {"padding": "x" * (JSON_MAX_BYTES - 100)}}
    response = await client.post("/graphql", json=payload, headers=headers(agent, capped))
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"__typename": "Query"}


def test_the_request_cap_is_derived_from_the_file_size_unless_set() -> None:
    # given / when
    derived = Settings.from_env({"UPLOAD_MAX_BYTES": "2048"})
    explicit = Settings.from_env({"UPLOAD_MAX_BYTES": "2048", "UPLOAD_MAX_REQUEST_BYTES": "99999"})
    # then
    assert derived.effective_upload_max_request_bytes == (
        2048 * UPLOAD_REQUEST_FILES + UPLOAD_REQUEST_OVERHEAD
    )
    assert explicit.effective_upload_max_request_bytes == 99999


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("0", "UPLOAD_MAX_REQUEST_BYTES=0 must be >= 1"),
        ("lots", "is not a whole number"),
        ("4096", "so one file of the largest size fits"),
    ],
)
def test_a_request_cap_that_cannot_hold_one_file_is_refused_at_start(
    value: str, complaint: str
) -> None:
    with pytest.raises(SettingsError, match=complaint):
        Settings.from_env({"UPLOAD_MAX_BYTES": "2048", "UPLOAD_MAX_REQUEST_BYTES": value})


async def test_an_oversized_or_malformed_multipart_request_is_a_json_error(
    settings: Settings, db: None, factory: Factory
) -> None:
    # given: the default caps, and an operations part bigger than a non-file part may be
    rep = await factory.user(Role.COMPANY_REP)
    headers = {"Authorization": f"Bearer {issue_token(rep, settings).token}", "GraphQL-Require-Preflight": "1"}
    operations = json.dumps({"query": "{ me { email } }", "variables": {"x": "a" * JSON_MAX_BYTES}})
    too_many = {f"field{i}": (None, "x") for i in range(1001)}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://contato.test"
    ) as http:
        # when
        big = await http.post(
            "/graphql", headers=headers, files={"operations": (None, operations), "map": (None, "{}")}
        )
        many = await http.post("/graphql", headers=headers, files={
            **too_many, "operations": (None, json.dumps({"query": "{ me { email } }"})), "map": (None, "{}"),
        })
    # then: JSON errors a GraphQL client reads, never Starlette's plain text
    assert big.status_code == 413 and big.headers["content-type"].startswith("application/json")
    assert big.json()["errors"][0]["extensions"] == {"code": "REQUEST_TOO_LARGE", "maxBytes": JSON_MAX_BYTES}
    assert many.status_code == 400 and many.headers["content-type"].startswith("application/json")
    assert "Too many fields" in many.json()["errors"][0]["message"]
    assert await Event.all().count() == 0
