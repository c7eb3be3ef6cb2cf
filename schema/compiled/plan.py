"""Compiling an operation into a plan: the rows to load, level by level, and the shape of the answer.

The compiler follows the GraphQL spec's field collection (aliases, fragments, inline fragments,
@skip / @include, merging of fields with the same response key) over the types of types.py, and
raises Uncovered for anything else: a field, type, directive or argument it does not know. A plan
is made once per document, operation and @skip / @include outcome, and then serves every request.
Each scalar column gets one conversion (scalars.py); each edges selection one generated function
(emit.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_abstract_type,
)

from resolvers.rows import decoder
from schema.compiled.emit import (
    CURSOR,
    DERIVED,
    EDGES,
    NODE,
    ONE,
    PAGE_INFO,
    PAGES,
    TOTAL_COUNT,
    TYPENAME,
    NullInNonNull,
    edge_builder,
)
from schema.compiled.scalars import ORM, RAW, Uncovered, scalar_output
from schema.compiled.spec import Derived, FastType, One, Pages, RootConnection

PAGE_INFO_FIELDS = ("hasNextPage", "hasPreviousPage", "startCursor", "endCursor")

__all__ = ["NullInNonNull", "Uncovered"]  # what the extension catches


@dataclass(eq=False)
class ObjectPlan:
    type: FastType
    source: str
    fixed_layout: tuple[str, ...] | None  # rows a Pages fetch lays out; else the type's layout
    needs: list[tuple[str, str, Any]] = field(default_factory=list)  # (key, what, detail), compiling
    outputs: list[tuple[str, int, Any, Any]] = field(default_factory=list)
    ones: list[tuple[int, int, ObjectPlan]] = field(default_factory=list)  # (fk index, slot, target)
    pages: list[tuple[int, int, PagesPlan]] = field(default_factory=list)  # (id index, slot, plan)
    # (indexes of id and the columns, their decoders, slot, spec)
    derived: list[tuple[tuple[int, ...], tuple[Any, ...], int, Derived]] = field(default_factory=list)

    @property
    def loads(self) -> bool:
        return bool(self.ones or self.pages or self.derived)


@dataclass(eq=False)
class Arguments:
    """A field's arguments, coerced as graphql-core does and converted as Strawberry does."""

    definition: GraphQLField
    node: FieldNode


@dataclass(eq=False)
class ConnectionPlan:
    outputs: list[tuple[str, int, Any]]  # EDGES: an EdgeBuilder; PAGE_INFO: (key, field); TYPENAME
    nodes: list[ObjectPlan]  # every node plan under the edges, for loading
    counts: bool = False  # totalCount or totalCountIsExact is selected (root connections only)


@dataclass(eq=False)
class PagesPlan:
    spec: Pages
    arguments: Arguments
    connection: ConnectionPlan


@dataclass(eq=False)
class RootPlan:
    key: str
    spec: RootConnection
    arguments: Arguments
    connection: ConnectionPlan


@dataclass(eq=False)
class OperationPlan:
    outputs: list[tuple[str, RootPlan | str]]  # a root field, or the constant of __typename
    roots: list[RootPlan]
    slots: int
    layouts: Mapping[str, tuple[str, ...]]


class Registry:
    """The FastTypes and root fields of types.py, checked against one schema (and, before the first
    compilation, against the models)."""

    def __init__(
        self, schema: GraphQLSchema, types: tuple[FastType, ...], roots: Mapping[str, RootConnection]
    ) -> None:
        self.schema = schema
        self.types = {fast_type.name: fast_type for fast_type in types}
        self.roots = dict(roots)
        for name, fast_type in self.types.items():
            graphql_type = schema.get_type(name)
            if not isinstance(graphql_type, GraphQLObjectType):
                raise TypeError(f"compiled path: {name} is not an object type of the schema")
            for field_name in (*fast_type.scalars, *fast_type.relations, *fast_type.derived):
                if field_name not in graphql_type.fields:
                    raise TypeError(f"compiled path: {name}.{field_name} is not in the schema")
                arguments = graphql_type.fields[field_name].args
                if arguments and not isinstance(fast_type.relations.get(field_name), Pages):  # derived too
                    raise TypeError(f"compiled path: {name}.{field_name} takes arguments the compiler would drop")
            for field_name, relation in fast_type.relations.items():
                if relation.target not in self.types:
                    raise TypeError(f"compiled path: {name}.{field_name} leads to {relation.target}, not compiled")
        query = schema.query_type
        for name, root in self.roots.items():
            if query is None or name not in query.fields or root.target not in self.types:
                raise TypeError(f"compiled path: Query.{name} is not a root field of the schema")
        self.models_checked = False

    def check_models(self) -> None:
        """Every column read is a column of its model (once Tortoise has made the `<fk>_id` fields)."""
        for name, fast_type in self.types.items():
            columns = fast_type.model._meta.fields_map
            for field_name in fast_type.scalars:
                if self.column(fast_type, field_name) not in columns:
                    raise TypeError(f"compiled path: {name}.{field_name} reads no column of {fast_type.model}")
            for field_name, relation in fast_type.relations.items():
                if isinstance(relation, One) and relation.column not in columns:
                    raise TypeError(f"compiled path: {name}.{field_name} joins on {relation.column}, not a column")
                if isinstance(relation, Pages) and "id" not in relation.columns:
                    raise TypeError(f"compiled path: {name}.{field_name}'s rows have no id")
            for field_name, derived in fast_type.derived.items():
                for column in derived.columns:
                    if column not in columns:
                        raise TypeError(f"compiled path: {name}.{field_name} reads {column}, not a column")
            for column in fast_type.visible_columns:
                if column not in columns:
                    raise TypeError(f"compiled path: {name}'s visibility reads {column}, not a column")
        self.models_checked = True

    def column(self, fast_type: FastType, field_name: str) -> str:
        if field_name in fast_type.columns:
            return fast_type.columns[field_name]
        graphql_type = self.schema.get_type(fast_type.name)
        assert isinstance(graphql_type, GraphQLObjectType)
        definition = _strawberry_field(graphql_type.fields[field_name])
        return str(definition.python_name) if definition is not None else field_name


def _strawberry_field(definition: GraphQLField) -> Any:
    return (definition.extensions or {}).get("strawberry-definition")


def _plain_field(definition: GraphQLField) -> bool:
    """Nothing runs around the field's resolver that the compiled path would skip."""
    strawberry_field = _strawberry_field(definition)
    return strawberry_field is None or not (
        getattr(strawberry_field, "extensions", None) or getattr(strawberry_field, "permission_classes", None)
    )


def directive_variables(document: DocumentNode, operation: OperationDefinitionNode) -> tuple[str, ...]:
    """The variables @skip / @include read anywhere in the operation or the document's fragments."""
    names: list[str] = []

    def walk(selection_set: SelectionSetNode | None) -> None:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            for directive in selection.directives or ():
                for argument in directive.arguments or ():
                    if isinstance(argument.value, VariableNode) and argument.value.name.value not in names:
                        names.append(argument.value.name.value)
            walk(getattr(selection, "selection_set", None))

    walk(operation.selection_set)
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            walk(definition.selection_set)
    return tuple(names)


class Compiler:
    """Compiles one operation for given @skip / @include variable values."""

    def __init__(
        self, registry: Registry, document: DocumentNode, operation: OperationDefinitionNode,
        directive_values: Mapping[str, Any],
    ) -> None:
        self.registry = registry
        self.schema = registry.schema
        self.operation = operation
        self.directive_values = directive_values
        self.fragments = {
            node.name.value: node for node in document.definitions if isinstance(node, FragmentDefinitionNode)
        }
        self.slots = 0
        self.object_plans: list[ObjectPlan] = []
        self.connection_plans: list[ConnectionPlan] = []
        self.columns: dict[str, list[str]] = {}

    def compile(self) -> OperationPlan:
        if not self.registry.models_checked:
            self.registry.check_models()
        if self.operation.operation != OperationType.QUERY or self.operation.directives:
            raise Uncovered("not a plain query")
        query = self.schema.query_type
        assert query is not None
        outputs: list[tuple[str, RootPlan | str]] = []
        roots: list[RootPlan] = []
        for key, nodes in self.collect(self.operation.selection_set, query).items():
            name = nodes[0].name.value
            if name == "__typename":
                outputs.append((key, query.name))
                continue
            spec = self.registry.roots.get(name)
            definition = query.fields.get(name)
            if spec is None or definition is None or not _plain_field(definition):
                raise Uncovered(f"Query.{name}")
            self.need_columns(spec.target, spec.cursor_columns)
            connection = self.connection(
                definition, nodes, spec.target, RAW if spec.raw_rows else ORM, None, root=True
            )
            root = RootPlan(key, spec, Arguments(definition, nodes[0]), connection)
            outputs.append((key, root))
            roots.append(root)
        layouts = {name: tuple(columns) for name, columns in self.columns.items()}
        for plan in self.object_plans:
            self.finish(plan, layouts)
        for connection in self.connection_plans:
            connection.outputs = [
                (key, kind, edge_builder(detail) if kind == EDGES else detail)
                for key, kind, detail in connection.outputs
            ]
        return OperationPlan(outputs, roots, self.slots, layouts)

    # ------------------------------------------------------------------ field collection (spec 6.3.2)

    def collect(self, selection_set: SelectionSetNode | None, parent: GraphQLObjectType) -> dict[str, list[FieldNode]]:
        fields: dict[str, list[FieldNode]] = {}
        self._collect(selection_set, parent, fields, set())
        return fields

    def collect_all(self, nodes: list[FieldNode], parent: GraphQLObjectType) -> dict[str, list[FieldNode]]:
        fields: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()
        for node in nodes:
            self._collect(node.selection_set, parent, fields, visited)
        return fields

    def _collect(
        self, selection_set: SelectionSetNode | None, parent: GraphQLObjectType,
        fields: dict[str, list[FieldNode]], visited: set[str],
    ) -> None:
        if selection_set is None:
            raise Uncovered("a selection set is missing")
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if self.included(selection.directives):
                    key = selection.alias.value if selection.alias else selection.name.value
                    fields.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self.included(selection.directives) and self.applies(selection.type_condition, parent):
                    self._collect(selection.selection_set, parent, fields, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited or not self.included(selection.directives):
                    continue
                visited.add(name)
                fragment = self.fragments.get(name)
                if fragment is None or getattr(fragment, "variable_definitions", None):
                    raise Uncovered(f"fragment {name}")
                if self.applies(fragment.type_condition, parent):
                    self._collect(fragment.selection_set, parent, fields, visited)
            else:
                raise Uncovered(type(selection).__name__)

    def included(self, directives: tuple[DirectiveNode, ...] | None) -> bool:
        for directive in directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                raise Uncovered(f"@{name}")
            condition = None
            for argument in directive.arguments or ():
                if argument.name.value == "if":
                    value = argument.value
                    if isinstance(value, BooleanValueNode):
                        condition = value.value
                    elif isinstance(value, VariableNode):
                        condition = self.directive_values.get(value.name.value)
            if not isinstance(condition, bool):
                raise Uncovered(f"@{name} without a boolean")
            if condition == (name == "skip"):
                return False
        return True

    def applies(self, condition: NamedTypeNode | None, parent: GraphQLObjectType) -> bool:
        if condition is None or condition.name.value == parent.name:
            return True
        named = self.schema.get_type(condition.name.value)
        return named is not None and is_abstract_type(named) and self.schema.is_sub_type(named, parent)  # type: ignore[arg-type]

    # ------------------------------------------------------------------------------------------- plans

    def need_columns(self, type_name: str, columns: tuple[str, ...]) -> None:
        known = self.columns.setdefault(type_name, ["id"])
        for column in columns:
            if column not in known:
                known.append(column)

    def object_plan(
        self, type_name: str, nodes: list[FieldNode], source: str, fixed_layout: tuple[str, ...] | None
    ) -> ObjectPlan:
        fast_type = self.registry.types[type_name]
        graphql_type = self.schema.get_type(type_name)
        assert isinstance(graphql_type, GraphQLObjectType)
        plan = ObjectPlan(fast_type, source, fixed_layout)
        self.object_plans.append(plan)
        columns: list[str] = []
        for key, field_nodes in self.collect_all(nodes, graphql_type).items():
            name = field_nodes[0].name.value
            if name == "__typename":
                plan.needs.append((key, "__typename", graphql_type.name))
                continue
            definition = graphql_type.fields.get(name)
            if definition is None or not _plain_field(definition):
                raise Uncovered(f"{type_name}.{name}")
            if name in fast_type.scalars:
                if field_nodes[0].selection_set is not None:
                    raise Uncovered(f"{type_name}.{name} with a selection")
                column = self.registry.column(fast_type, name)
                columns.append(column)
                plan.needs.append((key, "scalar", (column, definition)))
                continue
            derived = fast_type.derived.get(name)
            if derived is not None:
                if field_nodes[0].selection_set is not None:
                    raise Uncovered(f"{type_name}.{name} with a selection")
                columns.extend(derived.columns)
                plan.needs.append((key, "derived", derived))
                continue
            relation = fast_type.relations.get(name)
            if isinstance(relation, One):
                columns.append(relation.column)
                child_source = RAW
                self.need_columns(relation.target, ())
                child = self.object_plan(relation.target, field_nodes, child_source, None)
                plan.needs.append((key, "one", (relation, definition, child)))
            elif isinstance(relation, Pages):
                connection = self.connection(definition, field_nodes, relation.target, RAW, relation.columns)
                plan.needs.append((key, "pages", PagesPlan(relation, Arguments(definition, field_nodes[0]), connection)))
            else:
                raise Uncovered(f"{type_name}.{name}")
        # Rows loaded by id (the type's own layout) go through `visible`, which reads these.
        self.need_columns(type_name, fast_type.visible_columns)
        if fixed_layout is None:
            self.need_columns(type_name, tuple(columns))
        elif any(column not in fixed_layout for column in columns):
            raise Uncovered(f"{type_name} rows lack a column")
        return plan

    def connection(
        self, definition: GraphQLField, nodes: list[FieldNode], node_type: str, source: str,
        fixed_layout: tuple[str, ...] | None, root: bool = False,
    ) -> ConnectionPlan:
        connection_type = _connection_type(definition.type)
        outputs: list[tuple[str, int, Any]] = []
        node_plans: list[ObjectPlan] = []
        counts = False
        for key, field_nodes in self.collect_all(nodes, connection_type).items():
            name = field_nodes[0].name.value
            if name == "__typename":
                outputs.append((key, TYPENAME, connection_type.name))
            elif name == "edges":
                edge_type = _object_type(connection_type.fields["edges"].type)
                edge_outputs: list[tuple[str, int, Any]] = []
                for edge_key, edge_nodes in self.collect_all(field_nodes, edge_type).items():
                    edge_field = edge_nodes[0].name.value
                    if edge_field == "__typename":
                        edge_outputs.append((edge_key, TYPENAME, edge_type.name))
                    elif edge_field == "cursor":
                        edge_outputs.append((edge_key, CURSOR, None))
                    elif edge_field == "node" and _object_type(edge_type.fields["node"].type).name == node_type:
                        node_plan = self.object_plan(node_type, edge_nodes, source, fixed_layout)
                        node_plans.append(node_plan)
                        edge_outputs.append((edge_key, NODE, node_plan))
                    else:
                        raise Uncovered(f"{edge_type.name}.{edge_field}")
                outputs.append((key, EDGES, edge_outputs))  # made a function once every plan is finished
            elif name == "pageInfo":
                page_info_type = _object_type(connection_type.fields["pageInfo"].type)
                wanted: list[tuple[str, str]] = []
                for info_key, info_nodes in self.collect_all(field_nodes, page_info_type).items():
                    info_field = info_nodes[0].name.value
                    if info_field == "__typename":
                        wanted.append((info_key, page_info_type.name))
                    elif info_field in PAGE_INFO_FIELDS:
                        wanted.append((info_key, info_field))
                    else:
                        raise Uncovered(f"{page_info_type.name}.{info_field}")
                outputs.append((key, PAGE_INFO, wanted))
            elif name in ("totalCount", "totalCountIsExact") and root:
                # A root list's one capped COUNT; a nested list's counts (per parent) are left to the normal path.
                outputs.append((key, TOTAL_COUNT, name))
                counts = True
            else:
                raise Uncovered(f"{connection_type.name}.{name}")
        plan = ConnectionPlan(outputs, node_plans, counts)
        self.connection_plans.append(plan)
        return plan

    def finish(self, plan: ObjectPlan, layouts: Mapping[str, tuple[str, ...]]) -> None:
        """Turn the plan's needs into outputs over its rows' layout, now that every layout is known."""
        layout = plan.fixed_layout or layouts[plan.type.name]
        at = layout.index
        for key, what, detail in plan.needs:
            if what == "__typename":
                plan.outputs.append((key, TYPENAME, detail, None))
            elif what == "scalar":
                column, definition = detail
                kind, convert = scalar_output(plan.type, column, definition.type, plan.source)
                plan.outputs.append((key, kind, at(column), convert))
            elif what == "derived":
                slot = self.next_slot()
                names = ("id", *detail.columns)
                decoders = tuple(decoder(plan.type.model, name) if plan.source == RAW else None for name in names)
                plan.derived.append((tuple(at(name) for name in names), decoders, slot, detail))
                plan.outputs.append((key, DERIVED, at("id"), slot))
            elif what == "one":
                relation, definition, child = detail
                slot = self.next_slot()
                plan.ones.append((at(relation.column), slot, child))
                nullable = not isinstance(definition.type, GraphQLNonNull)
                plan.outputs.append((key, ONE, at(relation.column), (slot, child, nullable)))
            else:
                pages_plan = detail
                slot = self.next_slot()
                plan.pages.append((at("id"), slot, pages_plan))
                plan.outputs.append((key, PAGES, at("id"), (slot, pages_plan)))

    def next_slot(self) -> int:
        self.slots += 1
        return self.slots - 1


def _connection_type(graphql_type: Any) -> GraphQLObjectType:
    """A connection, or the connection of a `Connection | Error` union (campaignQueue's): the plan
    answers the connection; a refusal is a domain error, which sends the request to the normal path."""
    named = get_named_type(graphql_type)
    if isinstance(named, GraphQLUnionType):
        connections = [member for member in named.types if "edges" in member.fields]
        if len(connections) == 1:
            return connections[0]
    return _object_type(graphql_type)


def _object_type(graphql_type: Any) -> GraphQLObjectType:
    while isinstance(graphql_type, (GraphQLNonNull, GraphQLList)):
        graphql_type = graphql_type.of_type
    if not isinstance(graphql_type, GraphQLObjectType):
        raise Uncovered(f"{graphql_type} is not an object type")
    return graphql_type
