"""Customer e-mail templates on the GraphQL surface (resolvers/mail_templates.py): read and edited
by administrators."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from resolvers import errors as domain
from resolvers import mail_templates as use_cases
from schema.base import Info
from schema.errors import DomainErrorHandler, Error
from schema.ids import optional_pk
from schema.mail_enums import CustomerEmailEvent, MailLocale
from schema.ticket_catalog import TicketStatusType
from schema.user import UserType

EmailTemplateErrorCode = strawberry.enum(domain.EmailTemplateErrorCode, name="EmailTemplateErrorCode")


@strawberry.type
class EmailTemplateError(Error):
    code: EmailTemplateErrorCode  # type: ignore[valid-type]


@strawberry.type(
    name="EmailTemplate",
    description="What a ticket mails its customer on an event, in one language: `{{ticket.number}}`-style "
    "placeholders (see `placeholders`) are filled from the ticket when the mail is written.",
)
class EmailTemplateType:
    event: CustomerEmailEvent  # type: ignore[valid-type]
    locale: MailLocale  # type: ignore[valid-type]
    subject: str
    body: str
    customized: bool = strawberry.field(description="An administrator's text; false: the default.")
    updated_at: datetime | None = strawberry.field(description="When an administrator last saved it.")
    placeholders: list[str] = strawberry.field(description="The names this event's templates may use.")
    status_id: strawberry.Private[int | None]
    updated_by_id: strawberry.Private[int | None]

    @classmethod
    def from_view(cls, view: use_cases.TemplateView) -> EmailTemplateType:
        row = view.row
        return cls(
            event=view.event,
            locale=view.locale,
            subject=view.subject,
            body=view.body,
            customized=row is not None,
            updated_at=row.updated_at if row else None,
            placeholders=list(use_cases.placeholders(view.event)),
            status_id=view.status_id,
            updated_by_id=row.updated_by_id if row else None,
        )

    @strawberry.field(description="Only for tickets in this status; null: every status without its own.")
    async def status(self, info: Info) -> TicketStatusType | None:
        if self.status_id is None:
            return None
        row = await info.context.loaders.ticket_status_by_id.load(self.status_id)
        return TicketStatusType.from_row(row) if row else None

    @strawberry.field
    async def updated_by(self, info: Info) -> UserType | None:
        if self.updated_by_id is None:
            return None
        row = await info.context.loaders.user_by_id.load(self.updated_by_id)
        return UserType.from_row(row) if row else None


@strawberry.type
class EmailTemplateList:
    templates: list[EmailTemplateType]


@strawberry.input
class EmailTemplateUpdateInput:
    event: CustomerEmailEvent  # type: ignore[valid-type]
    locale: MailLocale  # type: ignore[valid-type]
    subject: str
    body: str
    status_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only for tickets in this status (the event's text for the others stays)."
    )


EmailTemplatesResult = Annotated[EmailTemplateList | EmailTemplateError, strawberry.union("EmailTemplatesResult")]
EmailTemplateResult = Annotated[EmailTemplateType | EmailTemplateError, strawberry.union("EmailTemplateResult")]


@strawberry.type
class EmailTemplateQuery:
    @strawberry.field(
        description="Administrators: every event's template in each language (the default where none was "
        "saved), then the per-status ones."
    )
    async def email_templates(
        self, info: Info, locale: MailLocale | None = None, event: CustomerEmailEvent | None = None  # type: ignore[valid-type]
    ) -> EmailTemplatesResult:
        views = await use_cases.list_templates(info.context, locale, event)
        return EmailTemplateList(templates=[EmailTemplateType.from_view(view) for view in views])


@strawberry.type
class EmailTemplateMutation:
    @strawberry.mutation(
        description="Administrators: save an event's template in one language (for one status with statusId); "
        "the next mail uses it. A placeholder the event cannot fill is refused here (UNKNOWN_PLACEHOLDER)."
    )
    async def email_template_update(self, info: Info, input: EmailTemplateUpdateInput) -> EmailTemplateResult:
        view = await use_cases.update_template(
            info.context,
            use_cases.TemplateInput(
                event=input.event,
                locale=input.locale,
                subject=input.subject,
                body=input.body,
                status_id=optional_pk(input.status_id),
            ),
        )
        return EmailTemplateType.from_view(view)


HANDLERS = [DomainErrorHandler(domain.EmailTemplateError, EmailTemplateError)]
