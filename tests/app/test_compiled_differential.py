"""Generated documents: the compiled path answers exactly as the normal path, errors included (issue 14).

Documents are drawn from the compiled path's types (schema/compiled/types.py) with a fixed seed:
random fields and relations down to three levels, aliases, named fragments and inline fragments,
fields repeated for the spec's merging, `__typename` anywhere, `@include` / `@skip` on literals and
variables, and variables for the root fields' arguments (page sizes out of bounds, broken cursors,
queue statuses, ticket filters and orders, pages forward and back, totalCount), now and then with a field the compiled path does not know. Each
runs for every caller of the world in test_compiled_queries.py through the server's schema and
through one without the compiled path; the JSON of `data` and `errors` must be identical.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import replace
from typing import Any

from graphql import GraphQLObjectType

from schema import ContatoSchema
from schema.compiled import STATS, Plans, plans_for
from schema.compiled.spec import One, Pages
from tests.app.test_compiled_queries import World, normal, twice, world  # noqa: F401 - fixtures
from tests.factories import Factory
from tests.outbound_factories import clock, outbound  # noqa: F401 - fixtures

SEED = 1414
DOCUMENTS = 24
MAX_DEPTH = 3
# Fields of compiled types the compiled path does not know: a document with one runs on the normal
# path whole, and must still answer the same.
UNKNOWN = {"Ticket": "awaitingReturn", "Campaign": "callingHours { weekdayStart }", "Person": "operations { __typename }"}
BROKEN_CURSOR = "bm90IGEgY3Vyc29y"


class Documents:
    """One generated document and the variables it declares."""

    def __init__(self, rng: random.Random, plans: Plans) -> None:
        self.rng = rng
        self.registry = plans.registry
        self.fragments: list[str] = []
        self.variables: dict[str, str] = {}  # name: GraphQL type
        self.aliases = itertools.count()
        self.unknown = rng.random() < 0.15

    def variable(self, name: str, graphql_type: str) -> str:
        self.variables[name] = graphql_type
        return f"${name}"

    def directive(self) -> str:
        roll = self.rng.random()
        if roll < 0.12:
            return f" @include(if: {self.variable(f'f{len(self.variables)}', 'Boolean!')})"
        if roll < 0.22:
            return f" @skip(if: {self.variable(f'f{len(self.variables)}', 'Boolean!')})"
        if roll < 0.27:
            return self.rng.choice((" @include(if: true)", " @skip(if: false)", " @skip(if: true)"))
        return ""

    def key(self, name: str) -> str:
        return f"a{next(self.aliases)}: {name}" if self.rng.random() < 0.3 else name

    def object(self, type_name: str, depth: int) -> str:
        fast_type = self.registry.types[type_name]
        graphql_type = self.registry.schema.get_type(type_name)
        assert isinstance(graphql_type, GraphQLObjectType)
        rng = self.rng
        parts = [self.key(name) + self.directive()
                 for name in rng.sample(fast_type.scalars, rng.randint(1, min(4, len(fast_type.scalars))))]
        if rng.random() < 0.3:
            parts.append("__typename")
        if rng.random() < 0.2:  # the same field twice: merged
            parts.append(rng.choice(fast_type.scalars))
        relations = list(fast_type.relations.items())
        if depth < MAX_DEPTH and relations:
            for name, relation in rng.sample(relations, rng.randint(0, min(2, len(relations)))):
                if isinstance(relation, One):
                    parts.append(f"{self.key(name)}{self.directive()} {{ {self.object(relation.target, depth + 1)} }}")
                elif isinstance(relation, Pages):
                    size = rng.choice(("1", "2", "$messages"))
                    if size == "$messages":
                        self.variable("messages", "Int")
                    parts.append(f"a{next(self.aliases)}: {name}(first: {size}){self.directive()} "
                                 f"{{ {self.connection(relation.target, depth + 1)} }}")
        if self.unknown and type_name in UNKNOWN and rng.random() < 0.5:
            parts.append(UNKNOWN[type_name])
        rng.shuffle(parts)
        cut = rng.randint(0, len(parts))
        inner, outer = parts[:cut], parts[cut:]
        if inner and rng.random() < 0.4:
            if rng.random() < 0.5:
                name = f"F{len(self.fragments)}"
                self.fragments.append(f"fragment {name} on {type_name} {{ {' '.join(inner)} }}")
                outer.append(f"...{name}{self.directive()}")
            else:
                outer.append(f"... on {type_name}{self.directive()} {{ {' '.join(inner)} }}")
        else:
            outer += inner
        return " ".join(outer)

    def connection(self, node_type: str, depth: int, root: bool = False) -> str:
        rng = self.rng
        edge = [f"node {{ {self.object(node_type, depth)} }}"]
        if rng.random() < 0.4:
            edge.append(self.key("cursor"))
        if rng.random() < 0.2:
            edge.append("__typename")
        rng.shuffle(edge)
        parts = [f"{self.key('edges')} {{ {' '.join(edge)} }}"]
        if rng.random() < 0.6:
            info = rng.sample(("hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename"),
                              rng.randint(1, 3))
            parts.append(f"{self.key('pageInfo')}{self.directive()} {{ {' '.join(info)} }}")
        if root and rng.random() < 0.3:  # a root list's count (a nested one's takes the normal path)
            parts.append(self.key(rng.choice(("totalCount", "totalCountIsExact"))))
        if rng.random() < 0.2:
            parts.append("__typename")
        rng.shuffle(parts)
        return " ".join(parts)

    def root(self) -> str:
        rng = self.rng
        fields = []
        for root_name in rng.sample(("campaignQueue", "tickets"), rng.randint(1, 2)):
            arguments = []
            if root_name == "campaignQueue":
                arguments.append(f"campaignId: {self.variable('campaignId', 'ID!')}")
                if rng.random() < 0.4:
                    arguments.append(f"status: {self.variable('status', 'QueueStatus')}")
            elif rng.random() < 0.25:
                arguments.append("filter: {state: OPEN}")
            elif rng.random() < 0.3:
                arguments.append(f"filter: {self.variable('filter', 'TicketFilter')}")
            if root_name == "tickets" and rng.random() < 0.4:
                arguments.append(f"orderBy: {self.variable('orderBy', 'TicketOrder')}")
            if rng.random() < 0.25:  # from the end, back
                arguments.append(f"last: {self.variable('last', 'Int')}")
                if rng.random() < 0.3:
                    arguments.append(f"before: {self.variable('before', 'String')}")
            else:
                if rng.random() < 0.7:
                    first = rng.choice(("3", "50", "$first"))
                    arguments.append(f"first: {first}")
                    if first == "$first":
                        self.variable("first", "Int")
                if rng.random() < 0.2:
                    arguments.append(f"after: {self.variable('after', 'String')}")
            target = self.registry.roots[root_name].target
            call = f"{root_name}({', '.join(arguments)})" if arguments else root_name
            selection = self.connection(target, 1, root=True)
            if root_name == "campaignQueue":  # a union: the connection, or the refusal
                refusal = " ... on CampaignError { code field }" if rng.random() < 0.5 else ""
                selection = f"... on CampaignMemberConnection {{ {selection} }}{refusal}"
            fields.append(f"{self.key(call)} {{ {selection} }}")
        if rng.random() < 0.2:
            fields.append("__typename")
        declared = ", ".join(f"${name}: {graphql_type}" for name, graphql_type in self.variables.items())
        head = f"query Generated({declared})" if declared else "query Generated"
        return "\n".join((f"{head} {{ {' '.join(fields)} }}", *self.fragments))

    def values(self, callers: World) -> dict[str, Any]:
        rng = self.rng
        choices: dict[str, Any] = {
            "campaignId": lambda: str(rng.choice((callers.campaign, callers.other_campaign, callers.empty_campaign)).pk),
            "status": lambda: rng.choice((None, "SCHEDULED", "NOT_ACTED", "CONCLUDED")),
            "filter": lambda: rng.choice((None, {"state": "ALL"}, {"state": "CLOSED"}, {"unassigned": True})),
            "first": lambda: rng.choice((None, 1, 2, 3, 50, 100, 0, 1000)),
            "after": lambda: rng.choice((None, None, None, BROKEN_CURSOR)),
            "last": lambda: rng.choice((None, 1, 2, 3, 50, 0)),
            "before": lambda: rng.choice((None, None, None, BROKEN_CURSOR)),
            "orderBy": lambda: rng.choice((
                None, {"field": "LAST_MESSAGE_AT", "direction": "DESC"}, {"field": "NUMBER", "direction": "ASC"},
                {"field": "RETURN_DUE_AT", "direction": "DESC"}, {"field": "CREATED_AT", "direction": "ASC"},
            )),
            "messages": lambda: rng.choice((None, 1, 3, 0)),
        }
        return {name: choices[name]() if name in choices else rng.random() < 0.5 for name in self.variables}


async def test_generated_documents_answer_the_same_on_both_paths_for_every_caller(
    factory: Factory, normal: ContatoSchema, world: World  # noqa: F811 - fixtures
) -> None:
    # given
    rng = random.Random(SEED)
    plans = plans_for(factory.schema._schema)
    before = replace(STATS)
    runs = 0
    for _ in range(DOCUMENTS):
        documents = Documents(rng, plans)
        document = documents.root()
        for role, user in world.callers().items():
            variables = documents.values(world)
            # when
            fast, slow, _ = await twice(factory, normal, document, variables, user)
            # then
            assert fast == slow, f"{role}, {json.dumps(variables)}:\n{document}"
            runs += 1
    # and the compiled path did answer a good share of them (the rest: unknown fields, and errors the
    # normal path reports: page sizes, cursors, `first` with `last`, and campaignQueue's typed refusal
    # of the rep and the unassigned agent, two callers in five)
    compiled = STATS.compiled - before.compiled
    assert compiled * 5 >= runs * 2, (compiled, runs)
