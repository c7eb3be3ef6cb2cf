from __future__ import annotations

import logging

import pytest
from tortoise import connections

from contato.settings import Settings
from models.user import Role
from tests.factories import Factory


async def test_unexpected_errors_are_masked_and_logged_with_the_request_id(
    factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    # given: a database fault the code cannot expect
    agent = await factory.user(Role.AGENT)
    connection = connections.get("default")
    await connection.execute_script("ALTER TABLE person RENAME TO person_gone")
    # when
    try:
        with caplog.at_level(logging.ERROR, logger="contato.graphql"):
            result = await factory.execute_raw("query { persons { edges { node { id } } } }", user=agent)
    finally:
        await connection.execute_script("ALTER TABLE person_gone RENAME TO person")
    # then: the client learns nothing of the internals, the log has the cause
    assert [error.message for error in result.errors] == ["Unexpected error."]
    assert result.errors[0].formatted == {
        "message": "Unexpected error.",
        "locations": [{"line": 1, "column": 9}],
        "path": ["persons"],
    }
    assert any("unexpected error" in record.message for record in caplog.records)
    assert caplog.records[0].exc_info is not None


async def test_production_schema_hides_introspection(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    production = Settings(environment="production", introspection=False, password_hash_profile="CHEAPEST")
    result = await factory.execute_raw("query { __schema { types { name } } }", user=agent, settings=production)
    assert result.data is None
    assert "introspection" in result.errors[0].message.lower()
    dev = await factory.execute_raw("query { __schema { queryType { name } } }", user=agent)
    assert dev.data == {"__schema": {"queryType": {"name": "Query"}}}
