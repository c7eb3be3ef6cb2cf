"""The customer e-mail's enums, shared by companies (their language), tickets (their kept mails) and
the templates."""

from __future__ import annotations

import strawberry

from models.mail_template import MailEvent as MailEventModel
from models.mail_template import MailLocale as MailLocaleModel
from models.ticket import MailStatus as MailStatusModel

MailLocale = strawberry.enum(MailLocaleModel, name="MailLocale", description="A customer e-mail's language.")
CustomerEmailEvent = strawberry.enum(
    MailEventModel,
    name="CustomerEmailEvent",
    description="Why a ticket e-mailed its customer: each use case that can mail has its own template.",
)
MailStatus = strawberry.enum(
    MailStatusModel,
    name="MailStatus",
    description="PENDING: in the outbox (retried while the server is unreachable); SENT; FAILED: refused for good.",
)
