"""Running a plan: the root page, then the related rows level by level, then the answer's dicts."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from graphql.execution.values import VariableValues, get_argument_values
from strawberry.types.arguments import convert_arguments
from tortoise import connections
from tortoise.transactions import in_transaction

from resolvers.context import Context
from resolvers.rows import rows_by_id
from schema.compiled.emit import connection
from schema.compiled.plan import (
    Arguments,
    ObjectPlan,
    OperationPlan,
    PagesPlan,
    RootPlan,
    Uncovered,
)
from schema.compiled.spec import FastType, RowsById

DEFAULT_CONNECTION = "default"  # the only connection of models/__init__.py's configuration
Store = list[Any]  # by slot: {id: row} for a One relation, {parent id: RowsPage} for Pages


class Runner:
    def __init__(
        self, plan: OperationPlan, context: Context, strawberry_schema: Any, variables: VariableValues
    ) -> None:
        self.plan = plan
        self.context = context
        self.strawberry_schema = strawberry_schema
        self.variables = variables

    async def data(self) -> dict[str, Any]:
        if connections.get(DEFAULT_CONNECTION).capabilities.dialect == "postgres":
            # One pooled connection for all the plan's statements: asyncpg resets a connection each
            # time it goes back to the pool (a round trip, and much of a small query's CPU), and a
            # transaction is how Tortoise lets its querysets share one.
            async with in_transaction(DEFAULT_CONNECTION):
                return await self.answer()
        return await self.answer()

    async def answer(self) -> dict[str, Any]:
        answers = {id(root): await self.root(root) for root in self.plan.roots}
        return {
            key: output if isinstance(output, str) else answers[id(output)]
            for key, output in self.plan.outputs
        }

    def arguments(self, arguments: Arguments) -> dict[str, Any]:
        """What the field's Strawberry resolver would be called with."""
        values = get_argument_values(arguments.definition, arguments.node, self.variables)
        strawberry_field = (arguments.definition.extensions or {}).get("strawberry-definition")
        if strawberry_field is None:
            return values
        converter = self.strawberry_schema.schema_converter
        return convert_arguments(
            values, strawberry_field.arguments, scalar_registry=converter.scalar_registry,
            config=self.strawberry_schema.config,
        )

    def visible(self, fast_type: FastType, rows: RowsById) -> RowsById:
        """What the caller sees of rows loaded by id: the rules every Loader applies (resolvers/scope.py)."""
        if fast_type.visible is None:
            return rows
        keep = fast_type.visible(self.context.scope, self.plan.layouts[fast_type.name])
        return rows if keep is None else keep(rows)

    async def root(self, root: RootPlan) -> dict[str, Any]:
        columns = self.plan.layouts[root.spec.target]
        page = await root.spec.fetch(self.context, self.arguments(root.arguments), columns)
        if root.connection.counts:
            if page.counter is None:
                raise Uncovered(f"Query.{root.key} cannot count")
            page = replace(page, total=await page.counter(self.context.settings.count_limit))
        store: Store = [None] * self.plan.slots
        await self.load([(node, page.rows) for node in root.connection.nodes], store)
        return connection(root.connection, page, store)

    async def load(self, level: list[tuple[ObjectPlan, Any]], store: Store) -> None:
        """Each level's relations: one query per table, and one per nested connection."""
        level = [(plan, rows) for plan, rows in level if plan.loads and rows]
        while level:
            wanted: dict[str, tuple[FastType, set[Any]]] = {}
            nested: list[tuple[int, PagesPlan, list[int]]] = []
            for plan, rows in level:
                for indexes, decoders, slot, derived in plan.derived:
                    values = [
                        tuple(value if decode is None or value is None else decode(value)
                              for value, decode in zip((row[at] for at in indexes), decoders, strict=True))
                        for row in rows
                    ]
                    store[slot] = await derived.fetch(self.context, values)
                for fk, _, target in plan.ones:
                    ids = wanted.setdefault(target.type.name, (target.type, set()))[1]
                    ids.update(row[fk] for row in rows)
                for id_index, slot, pages in plan.pages:
                    nested.append((slot, pages, [row[id_index] for row in rows]))
            # One after the other: they share one connection (see `data`), or SQLite's only one.
            found = {
                name: self.visible(fast_type, await rows_by_id(fast_type.model, self.plan.layouts[name], ids - {None}))
                for name, (fast_type, ids) in wanted.items()
            }
            following: list[tuple[ObjectPlan, Any]] = []
            for plan, rows in level:
                for fk, slot, target in plan.ones:
                    by_id = store[slot] = found[target.type.name]
                    if target.loads:
                        keys = {row[fk] for row in rows}
                        following.append((target, [by_id[key] for key in keys if key in by_id]))
            for slot, pages, parents in nested:
                by_parent = store[slot] = await pages.spec.fetch(
                    self.context, self.arguments(pages.arguments), parents
                )
                children = [row for page in by_parent.values() for row in page.rows]
                following += [(node, children) for node in pages.connection.nodes]
            level = [(plan, rows) for plan, rows in following if plan.loads and rows]
