"""Outgoing e-mail: an outbox row written in the transaction that caused it, delivered by a sender.

The sender claims a due mail with a conditional UPDATE (a lease in `locked_until`), so several
server processes never send the same mail at once. A failed delivery is retried with exponential
backoff: while the SMTP server is unreachable nothing is lost, mails wait in the outbox. Only a
permanent refusal (a 5xx answer) counts towards giving up, after `mail_max_rejections` of them.
Delivery is at least once: a process that dies between sending and marking may send a mail twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING

import aiosmtplib
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F, Q

from models.ticket import MailStatus, OutboxMail
from realtime import commit
from realtime.periodic import Periodic

if TYPE_CHECKING:
    from contato.settings import Settings

logger = logging.getLogger("contato.mail")

BATCH = 50
LEASE = timedelta(minutes=5)
SMTP_TIMEOUT_SECONDS = 15

_senders: set[Periodic] = set()  # this process's running senders, woken when a mail is queued


async def enqueue(
    connection: BaseDBAsyncClient,
    *,
    to: str,
    subject: str,
    body: str,
    ticket_id: int | None,
    event: str | None = None,
    locale: str | None = None,
) -> OutboxMail:
    """Write a mail inside the caller's transaction; call `wake_senders()` after it commits."""
    return await OutboxMail.create(
        ticket_id=ticket_id,
        to_address=to,
        subject=subject[:255],
        body=body,
        next_attempt_at=datetime.now(UTC),
        event=event,
        locale=locale,
        using_db=connection,
    )


async def pending_count() -> int:
    """Mails waiting in the outbox: not sent yet and not given up on (the backlog)."""
    return await OutboxMail.filter(status=MailStatus.PENDING).count()


def wake_senders() -> None:
    """Tell this process's sender there is mail, so it does not wait for its next poll (after the
    surrounding transaction commits, when the caller's block was a savepoint of a longer one)."""
    if not commit.defer(_wake_now):
        _wake_all()


async def _wake_now() -> None:
    _wake_all()


def _wake_all() -> None:
    for sender in list(_senders):
        sender.wake()


def retry_delay(settings: Settings, attempts: int) -> timedelta:
    seconds = settings.mail_retry_base_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.mail_retry_max_seconds))


class MailSender:
    def __init__(self, settings: Settings, interval: float = 2.0) -> None:
        self.settings = settings
        self.interval = interval
        self._periodic = Periodic("mail-sender", self.run_once, interval)

    async def start(self) -> None:
        _senders.add(self._periodic)
        self._periodic.start()

    async def stop(self) -> None:
        _senders.discard(self._periodic)
        await self._periodic.stop()

    async def run_once(self, now: datetime | None = None) -> int:
        """Try every due mail once; returns how many were delivered."""
        now = now or datetime.now(UTC)
        free = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
        due = await (
            OutboxMail.filter(status=MailStatus.PENDING, next_attempt_at__lte=now)
            .filter(free)
            .order_by("id")
            .limit(BATCH)
            .values_list("id", flat=True)
        )
        delivered = 0
        for mail_id in due:
            claimed = (
                await OutboxMail.filter(id=mail_id, status=MailStatus.PENDING)
                .filter(free)
                .update(locked_until=now + LEASE)
            )
            if not claimed:
                continue  # another process has it
            mail = await OutboxMail.get(id=mail_id)
            if await self._deliver(mail, now):
                delivered += 1
        return delivered

    async def _deliver(self, mail: OutboxMail, now: datetime) -> bool:
        try:
            await self.send(mail)
        except aiosmtplib.SMTPRecipientsRefused as refused:
            codes = [recipient.code for recipient in refused.recipients]
            detail = "; ".join(f"{r.code} {r.message}" for r in refused.recipients)
            await self._failed(mail, now, detail, permanent=all(code >= 500 for code in codes))
            return False
        except aiosmtplib.SMTPResponseException as refused:
            permanent = refused.code >= 500
            await self._failed(mail, now, f"{refused.code} {refused.message}", permanent)
            return False
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as error:
            await self._failed(mail, now, f"{type(error).__name__}: {error}", permanent=False)
            return False
        await OutboxMail.filter(id=mail.pk).update(
            status=MailStatus.SENT,
            sent_at=now,
            attempts=F("attempts") + 1,
            locked_until=None,
            last_error=None,
        )
        return True

    async def _failed(self, mail: OutboxMail, now: datetime, error: str, permanent: bool) -> None:
        attempts = mail.attempts + 1
        rejections = self.settings.mail_max_rejections
        give_up = permanent and attempts >= rejections
        logger.warning(
            "mail %s to %s not delivered (attempt %s): %s",
            mail.pk,
            mail.to_address,
            attempts,
            error,
        )
        await OutboxMail.filter(id=mail.pk).update(
            attempts=attempts,
            status=MailStatus.FAILED if give_up else MailStatus.PENDING,
            next_attempt_at=now + retry_delay(self.settings, attempts),
            locked_until=None,
            last_error=error[:2000],
        )

    async def send(self, mail: OutboxMail) -> None:
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = mail.to_address
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        await aiosmtplib.send(
            message,
            hostname=self.settings.smtp_host,
            port=self.settings.smtp_port,
            username=self.settings.smtp_username or None,
            password=self.settings.smtp_password or None,
            start_tls=self.settings.smtp_starttls,
            use_tls=False,
            timeout=SMTP_TIMEOUT_SECONDS,
        )
