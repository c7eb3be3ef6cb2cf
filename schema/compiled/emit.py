"""Building the answer: a Python function made from the plan of each edges selection, building an
edge, its node and the node's to-one relations in one expression (the last step of compilation:
several times faster than loops over plans' outputs, which matters at fifty rows of a dozen fields
with nested objects).

This module also names the kinds of output a plan is made of."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from schema.compiled.plan import ConnectionPlan, ObjectPlan
    from schema.compiled.spec import RowsPage

# Output kinds of an object plan.
PLAIN = 0  # the column's value as it is, null allowed
PLAIN_NON_NULL = 1  # the column's value as it is, never null
CONVERT = 2  # a function of the column's value (it checks for null)
TYPENAME = 3
ONE = 4
PAGES = 5
DERIVED = 10  # a Derived field's answer, by the row's id
# Output kinds of a connection and of its edges.
EDGES = 6
PAGE_INFO = 7
CURSOR = 8
NODE = 9
TOTAL_COUNT = 10  # detail: "totalCount" or "totalCountIsExact", from the page's one count


class NullInNonNull(Exception):
    """A value the schema declares non-null is null: the normal path will report it."""


EdgeBuilder = Callable[[Any, list[Any], Callable[[Any], str]], dict[str, Any]]


def _null(where: str) -> None:
    raise NullInNonNull(f"{where} is null")


class _Source:
    """The names a generated function refers to, and the store slots it reads."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {"_null": _null, "connection": connection}
        self.slots: set[int] = set()

    def name(self, value: Any) -> str:
        name = f"n{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def function(self, name: str, parameters: str, body: str, label: str) -> Any:
        prologue = "".join(f"    s{slot} = store[{slot}]\n" for slot in sorted(self.slots))
        source = f"def {name}({parameters}):\n{prologue}    return {body}\n"
        self.namespace["__source__"] = source  # for a reader: edge.__globals__["__source__"]
        exec(compile(source, f"<compiled {label}>", "exec"), self.namespace)  # noqa: S102 - our own source
        return self.namespace[name]


def _object(plan: ObjectPlan, row: str, depth: int, source: _Source) -> str:
    """One dict display for `plan` over the row in variable `row`, its to-one children inlined."""
    entries: list[str] = []
    for key, kind, index, detail in plan.outputs:
        where = repr(f"{plan.type.name}.{key}")
        if kind == PLAIN:
            value = f"{row}[{index}]"
        elif kind == PLAIN_NON_NULL:
            value = f"(_v if (_v := {row}[{index}]) is not None else _null({where}))"
        elif kind == CONVERT:
            value = f"{source.name(detail)}({row}[{index}])"
        elif kind == ONE:
            slot, child, nullable = detail
            source.slots.add(slot)
            child_row = f"r{depth + 1}"
            missing = "None" if nullable else f"_null({where})"
            inner = _object(child, child_row, depth + 1, source)
            value = f"({inner} if ({child_row} := s{slot}.get({row}[{index}])) is not None else {missing})"
        elif kind == PAGES:
            slot, pages = detail
            source.slots.add(slot)
            value = f"connection({source.name(pages.connection)}, s{slot}[{row}[{index}]], store)"
        elif kind == DERIVED:
            source.slots.add(detail)
            value = f"s{detail}[{row}[{index}]]"
        else:  # TYPENAME
            value = repr(index)
        entries.append(f"{key!r}: {value}")
    return "{" + ", ".join(entries) + "}"


def edge_builder(outputs: list[tuple[str, int, Any]]) -> EdgeBuilder:
    """`edge(row, store, cursor)` for an edges selection (cursor, __typename, and the node with all
    its to-one relations inlined), once every plan below it is finished."""
    source = _Source()
    entries: list[str] = []
    for key, kind, detail in outputs:
        if kind == NODE:
            value = _object(detail, "row", 0, source)
        elif kind == CURSOR:
            value = "cursor(row)"
        else:  # TYPENAME
            value = repr(detail)
        entries.append(f"{key!r}: {value}")
    label = next((f"{detail.type.name} edge" for _, kind, detail in outputs if kind == NODE), "edge")
    return source.function("edge", "row, store, cursor", "{" + ", ".join(entries) + "}", label)  # type: ignore[no-any-return]


def connection(plan: ConnectionPlan, page: RowsPage, store: list[Any]) -> dict[str, Any]:
    answer: dict[str, Any] = {}
    for key, kind, detail in plan.outputs:
        if kind == EDGES:
            cursor = page.cursor
            answer[key] = [detail(row, store, cursor) for row in page.rows]
        elif kind == PAGE_INFO:
            answer[key] = page_info(detail, page)
        elif kind == TOTAL_COUNT:
            assert page.total is not None  # counted by the runner, as the plan asks
            answer[key] = page.total.value if detail == "totalCount" else page.total.exact
        else:  # TYPENAME
            answer[key] = detail
    return answer


def page_info(wanted: Sequence[tuple[str, str]], page: RowsPage) -> dict[str, Any]:
    rows = page.rows
    info: dict[str, Any] = {}
    for key, name in wanted:
        if name == "hasNextPage":
            info[key] = page.has_next_page
        elif name == "hasPreviousPage":
            info[key] = page.has_previous_page
        elif name == "startCursor":
            info[key] = page.cursor(rows[0]) if rows else None
        elif name == "endCursor":
            info[key] = page.cursor(rows[-1]) if rows else None
        else:
            info[key] = name  # the constant of __typename
    return info
