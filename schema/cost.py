"""Query cost: refuse, before execution, an operation that would fetch too much.

Every field costs 1; a field with a `first` argument (a connection page) multiplies the cost of
what is selected under it by its page size (`first` or `last`; the default page size when both are
left out), so
`tickets(first: 50) { ... messages(first: 10) { ... } }` costs about 50 × 10 × the message fields.
Depth, alias and token limits bound the shape of a document; this bounds the rows it can reach.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import SchemaExtension

from resolvers.pagination import DEFAULT_PAGE_SIZE
from schema.security import public_error, refuse


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    max_page_size: int,
) -> int:
    fragments = {node.name.value: node for node in document.definitions if isinstance(node, FragmentDefinitionNode)}
    operations = [
        node
        for node in document.definitions
        if isinstance(node, OperationDefinitionNode)
        and (operation_name is None or (node.name is not None and node.name.value == operation_name))
    ]
    if not operations:
        return 0
    root = schema.get_root_type(operations[0].operation)
    walk = _Walk(schema, fragments, variables or {}, max_page_size)
    return walk.cost(operations[0].selection_set, root, frozenset())


class _Walk:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        max_page_size: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.max_page_size = max_page_size

    def cost(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None, visiting: frozenset[str]) -> int:
        total = 0
        for field, field_parent in self._fields(selection_set, parent, visiting):
            definition = None
            if isinstance(field_parent, (GraphQLObjectType, GraphQLInterfaceType)):
                definition = field_parent.fields.get(field.name.value)
            child = get_named_type(definition.type) if definition is not None else None
            children = self.cost(field.selection_set, child, visiting)
            pages = definition is not None and "first" in definition.args
            total += 1 + (self._page_size(field) if pages else 1) * children
        return total

    def _fields(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None, visiting: frozenset[str]
    ) -> Iterator[tuple[FieldNode, GraphQLNamedType | None]]:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition is not None else parent
                yield from self._fields(selection.selection_set, inner, visiting)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in visiting:  # validation refuses cycles; stay safe anyway
                    inner = self.schema.get_type(fragment.type_condition.name.value)
                    yield from self._fields(fragment.selection_set, inner, visiting | {name})

    def _page_size(self, field: FieldNode) -> int:
        for argument in field.arguments or ():
            if argument.name.value not in ("first", "last"):
                continue
            value = argument.value
            given: Any = None
            if isinstance(value, IntValueNode):
                given = int(value.value)
            elif isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
            if isinstance(given, int):
                return max(1, min(given, self.max_page_size))
        return DEFAULT_PAGE_SIZE


class QueryCostLimiter(SchemaExtension):
    def __init__(self, *, max_cost: int, max_page_size: int) -> None:
        self.max_cost = max_cost
        self.max_page_size = max_page_size

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.result is None:
            cost = query_cost(
                context.schema._schema, context.graphql_document, context.operation_name, context.variables,
                self.max_page_size,
            )
            if cost > self.max_cost:
                message = (
                    f"This query could fetch too much (cost {cost}, limit {self.max_cost}): "
                    "ask for smaller pages or fewer nested lists."
                )
                refuse(context, public_error(message, "QUERY_TOO_COSTLY"))
        yield
