"""The outbox and its sender against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from models.ticket import MailStatus, OutboxMail
from models.user import Role
from resolvers.mail import MailSender
from tests.factories import Factory
from tests.ticket.conftest import Inbox, Refusing, mail_settings, smtp_server
from tests.ticket_factories import TicketFactory

STATUS_CHANGE = """
mutation StatusChange($ticketId: ID!, $statusId: ID!) {
  ticketStatusChange(ticketId: $ticketId, statusId: $statusId, notifyCustomer: true) { __typename }
}
"""


async def queue_mail(factory: Factory, tickets: TicketFactory) -> None:
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    billed = await tickets.status("Faturado", email_on_enter=True)
    ticket = await tickets.ticket(agent, new)
    data = await factory.execute(
        STATUS_CHANGE, {"ticketId": str(ticket.pk), "statusId": str(billed.pk)}, user=agent
    )
    assert data["ticketStatusChange"]["__typename"] == "Ticket"


async def test_a_queued_mail_arrives(
    factory: Factory, tickets: TicketFactory, inbox: Inbox, smtp_port: int
) -> None:
    # given
    await queue_mail(factory, tickets)
    sender = MailSender(mail_settings(factory.settings, smtp_port))
    # when
    delivered = await sender.run_once()
    # then
    assert delivered == 1
    [(recipients, message)] = inbox.messages
    assert recipients == ["rita@acme.test"]
    assert message["From"] == "contato@test.dev"
    assert "Faturado" in message.get_payload()
    mail = await OutboxMail.get()
    assert (mail.status, mail.attempts, mail.locked_until) == (MailStatus.SENT, 1, None)
    assert await sender.run_once() == 0


async def test_a_server_outage_loses_nothing(
    factory: Factory, tickets: TicketFactory, smtp_port: int
) -> None:
    # given: nothing listens on the SMTP port
    await queue_mail(factory, tickets)
    settings = mail_settings(factory.settings, smtp_port)
    sender = MailSender(settings)
    now = datetime.now(UTC)
    # when: two attempts fail, each waiting twice as long as the one before
    assert await sender.run_once(now) == 0
    first = await OutboxMail.get()
    assert (first.status, first.attempts) == (MailStatus.PENDING, 1)
    assert first.next_attempt_at == now + timedelta(seconds=settings.mail_retry_base_seconds)
    assert first.last_error
    assert await sender.run_once(now + timedelta(seconds=1)) == 0  # not due yet: not even tried
    assert (await OutboxMail.get()).attempts == 1
    later = first.next_attempt_at
    assert await sender.run_once(later) == 0
    second = await OutboxMail.get()
    assert second.attempts == 2
    assert second.next_attempt_at == later + timedelta(seconds=2 * settings.mail_retry_base_seconds)
    # when: the server comes back
    handler = Inbox()
    controller = smtp_server(smtp_port, handler)
    try:
        assert await sender.run_once(second.next_attempt_at) == 1
    finally:
        controller.stop()
    # then
    assert len(handler.messages) == 1
    assert (await OutboxMail.get()).status == MailStatus.SENT


async def test_permanent_refusals_give_up_after_the_limit(
    factory: Factory, tickets: TicketFactory, smtp_port: int
) -> None:
    await queue_mail(factory, tickets)
    settings = replace(mail_settings(factory.settings, smtp_port), mail_max_rejections=2)
    sender = MailSender(settings)
    controller = smtp_server(smtp_port, Refusing())
    try:
        now = datetime.now(UTC)
        await sender.run_once(now)
        assert (await OutboxMail.get()).status == MailStatus.PENDING
        await sender.run_once(now + timedelta(days=1))
    finally:
        controller.stop()
    mail = await OutboxMail.get()
    assert (mail.status, mail.attempts) == (MailStatus.FAILED, 2)
    assert mail.last_error is not None and mail.last_error.startswith("550")


async def test_a_claimed_mail_is_not_sent_by_another_sender(
    factory: Factory, tickets: TicketFactory, inbox: Inbox, smtp_port: int
) -> None:
    await queue_mail(factory, tickets)
    now = datetime.now(UTC)
    await OutboxMail.all().update(locked_until=now + timedelta(minutes=1))
    sender = MailSender(mail_settings(factory.settings, smtp_port))
    assert await sender.run_once(now) == 0
    assert inbox.messages == []
