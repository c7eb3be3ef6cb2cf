"""Typed errors returned as data, and the one place that maps domain exceptions to them."""

from __future__ import annotations

from typing import Any

import strawberry

from resolvers import errors as domain


@strawberry.interface(description="An expected failure: what went wrong, and the input field at fault.")
class Error:
    message: str
    field: str | None = strawberry.field(description="The input field at fault, in GraphQL spelling.")


AuthErrorCode = strawberry.enum(domain.AuthErrorCode, name="AuthErrorCode")
UserErrorCode = strawberry.enum(domain.UserErrorCode, name="UserErrorCode")
CompanyErrorCode = strawberry.enum(domain.CompanyErrorCode, name="CompanyErrorCode")
PersonErrorCode = strawberry.enum(domain.PersonErrorCode, name="PersonErrorCode")


@strawberry.type
class LoginError(Error):
    code: AuthErrorCode  # type: ignore[valid-type]
    retry_after_seconds: int | None = None


@strawberry.type
class UserError(Error):
    code: UserErrorCode  # type: ignore[valid-type]


@strawberry.type
class CompanyError(Error):
    code: CompanyErrorCode  # type: ignore[valid-type]


@strawberry.type
class PersonError(Error):
    code: PersonErrorCode  # type: ignore[valid-type]


class DomainErrorHandler(strawberry.ExceptionHandler):
    """Maps one family of domain exceptions to its typed error; register it in EXCEPTION_HANDLERS."""

    def __init__(self, exception_type: type[domain.DomainError], error_type: type[Any]) -> None:
        self.exception_type = exception_type
        self.error_type = error_type

    def handle(self, exception: domain.DomainError, *, field: Any, info: Any) -> Any:
        return self.error_type(message=exception.message, field=exception.field, code=exception.code)


class _LoginErrorHandler(strawberry.ExceptionHandler[domain.LoginFailed, LoginError]):
    def handle(self, exception: domain.LoginFailed, *, field: Any, info: Any) -> LoginError:
        return LoginError(
            message=exception.message,
            field=exception.field,
            code=exception.code,
            retry_after_seconds=exception.retry_after_seconds,
        )


EXCEPTION_HANDLERS = [
    _LoginErrorHandler(),
    DomainErrorHandler(domain.UserError, UserError),
    DomainErrorHandler(domain.CompanyError, CompanyError),
    DomainErrorHandler(domain.PersonError, PersonError),
]
