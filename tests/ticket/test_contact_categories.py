"""Contact types: the "Observação" notes and a category from the catalog the administrator keeps."""

import sqlite3
from pathlib import Path

from tortoise import Tortoise
from tortoise.migrations.api import migrate as run_migrations

from contato.db import migrate
from contato.settings import Settings
from models import tortoise_config
from models.ticket_catalog import ContactCategory, ContactType
from models.user import Role
from tests.factories import Factory
from tests.ticket_factories import TicketFactory

CATEGORY_CREATE = """
mutation Create($name: String!) {
  contactCategoryCreate(input: {name: $name}) {
    __typename
    ... on ContactCategory { id name active }
    ... on TicketCatalogError { code field }
  }
}
"""

CATEGORY_DEACTIVATE = """
mutation Deactivate($id: ID!) {
  contactCategoryDeactivate(id: $id) {
    __typename ... on ContactCategory { active } ... on TicketCatalogError { code field }
  }
}
"""

CATEGORIES = """
query Categories($includeInactive: Boolean! = false) {
  contactCategories(includeInactive: $includeInactive) { edges { node { name active } } }
}
"""

CONTACT_TYPE_CREATE = """
mutation Create($input: ContactTypeCreateInput!) {
  contactTypeCreate(input: $input) {
    __typename
    ... on ContactType { id name notes category { id name } }
    ... on TicketCatalogError { code field }
  }
}
"""

CONTACT_TYPE_UPDATE = """
mutation Update($id: ID!, $input: ContactTypeUpdateInput!) {
  contactTypeUpdate(id: $id, input: $input) {
    __typename
    ... on ContactType { notes category { name } }
    ... on TicketCatalogError { code field }
  }
}
"""

CONTACT_TYPES = "query { contactTypes { edges { node { name notes category { name } } } } }"


async def test_the_administrator_keeps_the_category_list(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given
    admin = await factory.user(Role.ADMIN)
    supervisor = await factory.user(Role.SUPERVISOR)
    agent = await factory.user(Role.AGENT)
    # when
    sac = (await factory.execute(CATEGORY_CREATE, {"name": "SAC"}, user=admin))["contactCategoryCreate"]
    old = (await factory.execute(CATEGORY_CREATE, {"name": "Antiga"}, user=admin))["contactCategoryCreate"]
    # then: admins only, names unique, everyone reads the active ones
    assert sac["__typename"] == "ContactCategory" and sac["active"] is True
    refused = await factory.execute(CATEGORY_CREATE, {"name": "Vendas"}, user=supervisor)
    assert refused["contactCategoryCreate"] == {
        "__typename": "TicketCatalogError",
        "code": "FORBIDDEN",
        "field": None,
    }
    again = await factory.execute(CATEGORY_CREATE, {"name": "SAC"}, user=admin)
    assert again["contactCategoryCreate"]["code"] == "DUPLICATE_NAME"
    await factory.execute(CATEGORY_DEACTIVATE, {"id": old["id"]}, user=admin)
    listed = await factory.execute(CATEGORIES, user=agent)
    assert [edge["node"]["name"] for edge in listed["contactCategories"]["edges"]] == ["SAC"]
    everything = await factory.execute(CATEGORIES, {"includeInactive": True}, user=admin)
    assert len(everything["contactCategories"]["edges"]) == 2
    assert await ContactCategory.all().count() == 2


async def test_a_contact_type_has_notes_and_a_category_from_the_catalog(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given
    admin = await factory.user(Role.ADMIN)
    supervisor = await factory.user(Role.SUPERVISOR)
    sac = await ContactCategory.create(name="SAC")
    retired = await ContactCategory.create(name="Antiga", active=False)
    # when
    data = await factory.execute(
        CONTACT_TYPE_CREATE,
        {"input": {"name": "Reclamação", "notes": "Só para clientes", "categoryId": str(sac.pk)}},
        user=supervisor,
    )
    # then
    created = data["contactTypeCreate"]
    assert (created["notes"], created["category"]) == (
        "Só para clientes",
        {"id": str(sac.pk), "name": "SAC"},
    )
    # an unknown or inactive category is a typed error, and nothing is written
    for category_id in ("999", str(retired.pk)):
        refused = await factory.execute(
            CONTACT_TYPE_CREATE, {"input": {"name": "Elogio", "categoryId": category_id}}, user=admin
        )
        assert (refused["contactTypeCreate"]["code"], refused["contactTypeCreate"]["field"]) == (
            "UNKNOWN_CATEGORY",
            "categoryId",
        )
    assert await ContactType.all().count() == 1
    # null clears the category, notes change
    updated = await factory.execute(
        CONTACT_TYPE_UPDATE,
        {"id": created["id"], "input": {"categoryId": None, "notes": "Todos"}},
        user=admin,
    )
    assert updated["contactTypeUpdate"] == {
        "__typename": "ContactType",
        "notes": "Todos",
        "category": None,
    }
    listed = await factory.execute(CONTACT_TYPES, user=await factory.user(Role.AGENT))
    assert listed["contactTypes"]["edges"] == [
        {"node": {"name": "Reclamação", "notes": "Todos", "category": None}}
    ]


async def test_the_migration_moves_free_text_categories_into_the_catalog(tmp_path: Path) -> None:
    # given: a database as migration 0015 left it, contact types with free-text categories
    path = tmp_path / "before.sqlite3"
    url = f"sqlite://{path}"
    try:
        await run_migrations(config=tortoise_config(url), target="models.0015_floor")
    finally:
        await Tortoise.close_connections()
    with sqlite3.connect(path) as connection:
        connection.executemany(
            "INSERT INTO contact_type (name, category, active, created_at, updated_at) "
            "VALUES (?, ?, 1, '2026-01-01', '2026-01-01')",
            [("Reclamação", "SAC"), ("Elogio", " SAC "), ("Dúvida", "Vendas"), ("Outro", None), ("Vazio", "  ")],
        )
    # when
    await migrate(Settings(database_url=url))
    # then: one catalog row per distinct text, every type pointed at its row
    with sqlite3.connect(path) as connection:
        categories = dict(connection.execute("SELECT name, id FROM contact_category").fetchall())
        types = dict(connection.execute("SELECT name, category_id FROM contact_type").fetchall())
        notes = {row[0] for row in connection.execute("SELECT notes FROM contact_type")}
    assert set(categories) == {"SAC", "Vendas"}
    assert types == {
        "Reclamação": categories["SAC"],
        "Elogio": categories["SAC"],
        "Dúvida": categories["Vendas"],
        "Outro": None,
        "Vazio": None,
    }
    assert notes == {""}
