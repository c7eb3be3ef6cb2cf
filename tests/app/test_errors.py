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


async def test_the_faults_of_a_database_that_cannot_be_reached_are_told_apart() -> None:
    import sqlite3

    import asyncpg
    from tortoise.exceptions import OperationalError

    from models.availability import database_unreachable
    from tests.servers import free_port

    # a PostgreSQL port nobody listens on
    with pytest.raises(OSError) as refused:
        await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", timeout=5)
    assert database_unreachable(refused.value)
    # SQLite cannot open its file; Tortoise wraps the driver's error in its own
    with pytest.raises(sqlite3.OperationalError) as unopenable:
        sqlite3.connect("/nonexistent-folder/contato.sqlite3")
    assert database_unreachable(unopenable.value)
    try:
        raise OperationalError(unopenable.value)
    except OperationalError as wrapped:
        assert database_unreachable(wrapped)
    # a fault of the SQL itself is not "unreachable": it stays masked as unexpected
    with pytest.raises(sqlite3.OperationalError) as bad_sql:
        sqlite3.connect(":memory:").execute("SELECT * FROM no_such_table")
    assert not database_unreachable(bad_sql.value)
    assert not database_unreachable(ValueError("boom"))
