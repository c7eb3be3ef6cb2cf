"""What a client must know to build its forms and checks without hard-coding the server's settings."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from models.user import Role
from resolvers.attachment import MAX_FILES_PER_MESSAGE
from resolvers.context import Context


@dataclass(frozen=True)
class ClientConfig:
    classification_scheme: str
    time_zone: str
    upload_max_bytes: int
    upload_max_request_bytes: int
    upload_allowed_types: tuple[str, ...]
    upload_max_files: int
    max_page_size: int
    suspect_conversion: str | None
    token_ttl_seconds: int
    attachment_link_ttl_seconds: int
    server_version: str


def server_version() -> str:
    try:
        return version("contato")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def client_config(ctx: Context) -> ClientConfig:
    """For any signed-in user; a company rep never converts persons, so gets no conversion policy."""
    user = ctx.require_user()
    settings = ctx.settings
    return ClientConfig(
        classification_scheme=settings.ticket_scheme.value,
        time_zone=settings.timezone,
        upload_max_bytes=settings.upload_max_bytes,
        upload_max_request_bytes=settings.effective_upload_max_request_bytes,
        upload_allowed_types=settings.upload_allowed_types,
        upload_max_files=MAX_FILES_PER_MESSAGE,
        max_page_size=settings.max_page_size,
        suspect_conversion=None if user.role == Role.COMPANY_REP else settings.suspect_conversion.value,
        token_ttl_seconds=settings.token_ttl_seconds,
        attachment_link_ttl_seconds=settings.attachment_link_ttl_seconds,
        server_version=server_version(),
    )
