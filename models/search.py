"""The full-text index of ticket messages, which `tickets(filter: {text})` searches (issue 15).

Neither engine's index is a model: PostgreSQL indexes an expression (a GIN index on the body's
tsvector in `contato_pt`, Portuguese stemming over unaccent), SQLite keeps an FTS5 table in step with
ticket_message by triggers (unicode61 without diacritics: accents fold, words are not stemmed). The
migration 0013 creates them (`create_message_search`); so do the SQLite test databases, which are
built from the models.
"""

from __future__ import annotations

from typing import Any

SEARCH_CONFIG = "contato_pt"
SQLITE_TABLE = "ticket_message_search"

POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    f"""DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = '{SEARCH_CONFIG}') THEN
    CREATE TEXT SEARCH CONFIGURATION {SEARCH_CONFIG} (COPY = portuguese);
    ALTER TEXT SEARCH CONFIGURATION {SEARCH_CONFIG}
      ALTER MAPPING FOR hword, hword_part, word WITH unaccent, portuguese_stem;
  END IF;
END $$""",
    (f"CREATE INDEX IF NOT EXISTS ticket_message_body_search ON ticket_message "
    f"USING gin (to_tsvector('{SEARCH_CONFIG}', body))"),
]

_COLUMNS = "rowid, body, ticket_id, internal"
_NEW = "new.id, new.body, new.ticket_id, new.internal"
_OLD = "'delete', old.id, old.body, old.ticket_id, old.internal"
SQLITE = [
    (f"CREATE VIRTUAL TABLE IF NOT EXISTS {SQLITE_TABLE} USING fts5(body, ticket_id UNINDEXED, internal UNINDEXED, "
    "content='ticket_message', content_rowid='id', tokenize='unicode61 remove_diacritics 2')"),
    (f"CREATE TRIGGER IF NOT EXISTS {SQLITE_TABLE}_insert AFTER INSERT ON ticket_message BEGIN "
    f"INSERT INTO {SQLITE_TABLE}({_COLUMNS}) VALUES ({_NEW}); END"),
    (f"CREATE TRIGGER IF NOT EXISTS {SQLITE_TABLE}_delete AFTER DELETE ON ticket_message BEGIN "
    f"INSERT INTO {SQLITE_TABLE}({SQLITE_TABLE}, {_COLUMNS}) VALUES ({_OLD}); END"),
    (f"CREATE TRIGGER IF NOT EXISTS {SQLITE_TABLE}_update AFTER UPDATE ON ticket_message BEGIN "
    f"INSERT INTO {SQLITE_TABLE}({SQLITE_TABLE}, {_COLUMNS}) VALUES ({_OLD}); "
    f"INSERT INTO {SQLITE_TABLE}({_COLUMNS}) VALUES ({_NEW}); END"),
    f"INSERT INTO {SQLITE_TABLE}({SQLITE_TABLE}) VALUES ('rebuild')",
]


def dialect_of(connection: Any) -> str:
    return str(connection.capabilities.dialect)


async def create_message_search(connection: Any) -> None:
    """Create the message index on `connection` (a Tortoise client), for its engine."""
    statements = POSTGRES if dialect_of(connection) == "postgres" else SQLITE
    for statement in statements:
        await connection.execute_script(statement)
