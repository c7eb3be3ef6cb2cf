"""`clientConfig`: the settings a client builds its forms from, per role."""

from __future__ import annotations

import pytest

from contato.settings import SuspectConversion, TicketScheme
from models.user import Role
from resolvers.client_config import server_version
from tests.conftest import with_settings
from tests.factories import Factory

CLIENT_CONFIG = """
query ClientConfig {
  clientConfig {
    classificationScheme timeZone uploadMaxBytes uploadMaxRequestBytes uploadAllowedTypes
    uploadMaxFiles maxPageSize suspectConversion tokenTtlSeconds attachmentLinkTtlSeconds serverVersion
  }
}
"""


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.COMPANY_REP])
async def test_client_config_follows_the_settings_for_each_role(factory: Factory, role: Role) -> None:
    # given
    settings = with_settings(
        factory.settings,
        ticket_scheme=TicketScheme.CONTACT_TYPE,
        timezone="America/Manaus",
        upload_max_bytes=2_000_000,
        upload_allowed_types=("image/png", "application/pdf"),
        max_page_size=50,
        suspect_conversion=SuspectConversion.KEEP,
        token_ttl_seconds=3600,
        attachment_link_ttl_seconds=120,
    )
    user = await factory.user(role)
    # when
    data = await factory.execute(CLIENT_CONFIG, user=user, settings=settings)
    # then
    assert data["clientConfig"] == {
        "classificationScheme": "CONTACT_TYPE",
        "timeZone": "America/Manaus",
        "uploadMaxBytes": 2_000_000,
        "uploadMaxRequestBytes": settings.effective_upload_max_request_bytes,
        "uploadAllowedTypes": ["image/png", "application/pdf"],
        "uploadMaxFiles": 10,
        "maxPageSize": 50,
        # a company rep never converts persons: no policy to follow
        "suspectConversion": None if role == Role.COMPANY_REP else "KEEP",
        "tokenTtlSeconds": 3600,
        "attachmentLinkTtlSeconds": 120,
        "serverVersion": server_version(),
    }
    assert server_version() != "unknown"


async def test_client_config_needs_a_login(factory: Factory) -> None:
    result = await factory.execute_raw(CLIENT_CONFIG)
    assert result.data is None
    assert result.errors[0].extensions["code"] == "UNAUTHENTICATED"
