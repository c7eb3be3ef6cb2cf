"""Ticket fixtures, and a real SMTP server on loopback (aiosmtpd) for the mail tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from contato.settings import Settings
from resolvers.mail import MailSender
from tests.factories import Factory
from tests.servers import free_port
from tests.ticket_factories import TicketFactory


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The suite's test settings, with uploads in the test's own directory."""
    return Settings(
        environment="test",
        password_hash_profile="CHEAPEST",
        login_max_failures=3,
        upload_dir=tmp_path / "uploads",
        upload_max_bytes=1024,
    )


@pytest.fixture
async def tickets(factory: Factory) -> TicketFactory:
    return TicketFactory(factory)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"

    def bodies(self) -> list[str]:
        return [message.get_payload() for _, message in self.messages]


class Refusing:
    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return "550 no such mailbox"


@pytest.fixture
def smtp_port() -> int:
    return free_port()


def smtp_server(port: int, handler: Any) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


@pytest.fixture
def inbox(smtp_port: int) -> Iterator[Inbox]:
    handler = Inbox()
    controller = smtp_server(smtp_port, handler)
    try:
        yield handler
    finally:
        controller.stop()


def mail_settings(settings: Settings, port: int) -> Settings:
    return replace(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_from="contato@test.dev")


async def deliver(settings: Settings, port: int) -> int:
    """Run the outbox sender once against the loopback server; returns how many mails it delivered."""
    return await MailSender(mail_settings(settings, port)).run_once()
