"""`clientConfig`: the server's settings a client builds its forms and checks from.

Not on the compiled path (schema/compiled/): it reads no rows, and its root kinds are connections
of rows. Fetch it once when the client starts, in a query of its own; a document that selects it
beside `tickets` or `campaignQueue` runs whole on graphql-core's path.
"""

from __future__ import annotations

from enum import Enum

import strawberry

from resolvers import client_config as use_cases
from schema.base import Info


@strawberry.enum(description="How tickets are classified (TICKET_CLASSIFICATION_SCHEME).")
class TicketClassificationScheme(Enum):
    CLASSIFICATION = "CLASSIFICATION"
    CONTACT_TYPE = "CONTACT_TYPE"


@strawberry.enum(description="What personConvert does with the suspect (SUSPECT_CONVERSION).")
class SuspectConversionPolicy(Enum):
    DELETE = "DELETE"
    KEEP = "KEEP"
    ASK = "ASK"


@strawberry.type(name="ClientConfig")
class ClientConfigType:
    classification_scheme: TicketClassificationScheme = strawberry.field(
        description="CLASSIFICATION: a classification tree (classificationId, subclassificationId); "
        "CONTACT_TYPE: contact type and subtype."
    )
    time_zone: str = strawberry.field(
        description="The operation's IANA time zone: plain dates and calling hours are local to it."
    )
    upload_max_bytes: int = strawberry.field(description="Largest attachment, per file.")
    upload_max_request_bytes: int = strawberry.field(description="Largest multipart request, all files together.")
    upload_allowed_types: list[str] = strawberry.field(description="Content types accepted for attachments.")
    upload_max_files: int = strawberry.field(description="Files one message may carry.")
    max_page_size: int = strawberry.field(description="The largest `first` a connection accepts.")
    suspect_conversion: SuspectConversionPolicy | None = strawberry.field(
        description="ASK: personConvert needs deleteSuspect. Null for company reps, who do not convert."
    )
    token_ttl_seconds: int = strawberry.field(description="How long a login token lasts.")
    attachment_link_ttl_seconds: int = strawberry.field(description="How long an Attachment.downloadUrl works.")
    server_version: str


@strawberry.type
class ClientConfigQuery:
    @strawberry.field(description="The server's settings a client needs for its forms and checks.")
    def client_config(self, info: Info) -> ClientConfigType:
        config = use_cases.client_config(info.context)
        return ClientConfigType(
            classification_scheme=TicketClassificationScheme(config.classification_scheme),
            time_zone=config.time_zone,
            upload_max_bytes=config.upload_max_bytes,
            upload_max_request_bytes=config.upload_max_request_bytes,
            upload_allowed_types=list(config.upload_allowed_types),
            upload_max_files=config.upload_max_files,
            max_page_size=config.max_page_size,
            suspect_conversion=(
                SuspectConversionPolicy(config.suspect_conversion) if config.suspect_conversion else None
            ),
            token_ttl_seconds=config.token_ttl_seconds,
            attachment_link_ttl_seconds=config.attachment_link_ttl_seconds,
            server_version=config.server_version,
        )
