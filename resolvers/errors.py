"""Domain exceptions. Resolvers raise them; the schema maps each family to a typed error once."""

from __future__ import annotations

from enum import Enum


class NotAuthenticated(Exception):
    """No valid token: surfaces as a GraphQL error with code UNAUTHENTICATED."""

    def __init__(self, message: str = "Authentication required: send a valid Bearer token.") -> None:
        super().__init__(message)
        self.message = message


class BadUserInput(Exception):
    """Input outside what the API accepts at all (page size, cursor): a GraphQL error, not data."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DomainError(Exception):
    """An expected failure that the client gets as data: a code, a message and the field at fault."""

    def __init__(self, code: Enum, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class AuthErrorCode(str, Enum):
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"


class LoginFailed(DomainError):
    def __init__(self, code: AuthErrorCode, message: str, retry_after_seconds: int | None = None):
        super().__init__(code, message, None)
        self.retry_after_seconds = retry_after_seconds


class UserErrorCode(str, Enum):
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    INVALID = "INVALID"
    INVALID_EMAIL = "INVALID_EMAIL"
    DUPLICATE_EMAIL = "DUPLICATE_EMAIL"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    UNKNOWN_COMPANY = "UNKNOWN_COMPANY"
    COMPANY_REQUIRED = "COMPANY_REQUIRED"
    COMPANY_NOT_ALLOWED = "COMPANY_NOT_ALLOWED"
    CANNOT_DEACTIVATE_SELF = "CANNOT_DEACTIVATE_SELF"


class UserError(DomainError):
    pass


class CompanyErrorCode(str, Enum):
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    INVALID = "INVALID"
    INVALID_CNPJ = "INVALID_CNPJ"
    DUPLICATE_CNPJ = "DUPLICATE_CNPJ"


class CompanyError(DomainError):
    pass


class PersonErrorCode(str, Enum):
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    INVALID = "INVALID"
    INVALID_DOCUMENT = "INVALID_DOCUMENT"
    DUPLICATE_DOCUMENT = "DUPLICATE_DOCUMENT"
    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_PHONE = "INVALID_PHONE"
    UNKNOWN_COMPANY = "UNKNOWN_COMPANY"
    INVALID_STAGE_CHANGE = "INVALID_STAGE_CHANGE"
    NOT_A_SUSPECT = "NOT_A_SUSPECT"
    DELETE_SUSPECT_REQUIRED = "DELETE_SUSPECT_REQUIRED"


class PersonError(DomainError):
    pass
