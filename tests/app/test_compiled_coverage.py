"""Which readable fields the compiled path answers, checked against the schema (issue 14: "no cliff").

A query that selects one field the compiled path does not know runs entirely on the normal path, at
about 8x the CPU (bench/instructions.py: the dashboard document cost 188 M instructions a request
before CampaignMember.campaign was compiled, the plain queue page 22 M). A dashboard cannot know
which fields are fast, so every field a query or a subscription payload can select is either
compiled or listed below with the reason it is not.

The test walks the schema from Query and Subscription, and for every field of every type the
compiled path reaches it compiles a probe document (the shortest way down from a compiled root
field to that field) with the same compiler the server uses. A readable field that compiles must
not be in NOT_COMPILED; one that does not must be. So a new field fails this test until it gets a
FastType entry (schema/compiled/types.py) or a line here saying why not.
"""

from __future__ import annotations

from collections import deque

from graphql import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    parse,
)

from schema import build_schema
from schema.compiled import Plans
from schema.compiled.spec import One, Pages
from tests.factories import Factory

# The normal path's cost for what is listed, as measured with bench/instructions.py on the 20,000-
# person seed (instructions per request, one client): the plain queue page 22 M compiled against
# 152 M on the normal path; a document that reaches any field below pays the normal path's ~7x.
#
# "Type.*": every field of the type. The reasons, by group:
# - ROOT: a root field without a compiled use case yet: it answers a small page (catalogs, one
#   row by id, the caller) or a computed object, not the lists a dashboard refreshes; the compiled
#   path has root connections for campaignQueue and tickets only.
# - COMPUTED: a value computed in Python from several columns or rows (statistics, rules,
#   rendered scripts, awaiting-return flags, calling hours), not a column or a load by id.
# - LIST: a plain list relation (not a connection): the compiler has One and Pages, not yet Many.
# - CHECKED: a relation with an access rule of its own beyond the row visibility the compiled path
#   applies (Ticket.parent/children/actions, TicketMessage.ticket/attachments, history pages).
# - COUNT: a nested connection's totalCount: one count per parent row (a grouped COUNT); the
#   compiled path counts root lists only, once per page.
# - REFUSAL: the typed error of a compiled root field's union (campaignQueue's CampaignError): the use
#   case raises it, and the request takes the normal path, which maps it.
# - STREAM: a subscription payload: it runs once per event and subscriber group (shared streams,
#   contato/shared_streams.py), not once per request.
ROOT = "ROOT"
COMPUTED = "COMPUTED"
LIST = "LIST"
CHECKED = "CHECKED"
COUNT = "COUNT"
REFUSAL = "REFUSAL"
STREAM = "STREAM"
NOT_COMPILED: dict[str, str] = {
    # Query: every root field but campaignQueue and tickets.
    **{f"Query.{name}": ROOT for name in (
        "me", "users", "user", "companies", "company", "persons", "person", "contactChannels",
        "contactResults", "justifications", "scripts", "actionTypes", "noContactReasons", "campaigns",
        "campaign", "campaignMember", "pendingCallbacks", "campaignStatistics", "formRules", "scriptRender",
        "ticketClassifications", "ticketStatuses", "contactTypes", "contactCategories", "ticketSubjects", "products", "occurrences", "myPendingActions", "serviceOrders", "nonConformities",
        "closureReasons", "actionDefinitions",
        "ticket", "ticketsAwaitingReturn", "clientConfig", "doNotCallNumbers", "import",
        "agentProductivity", "campaignResults", "ticketFigures", "ticketCounts", "callbacks", "callback",
        "queueSnapshot",
    )},
    # Reached only through the root fields above.
    **{f"{name}.*": ROOT for name in (
        "UserConnection", "UserEdge", "CompanyConnection", "CompanyEdge", "PersonConnection", "PersonEdge",
        "ContactChannelConnection", "ContactChannelEdge", "ContactResultConnection", "ContactResultEdge",
        "JustificationConnection", "JustificationEdge", "ScriptConnection", "ScriptEdge",
        "ActionTypeConnection", "ActionTypeEdge", "NoContactReasonConnection", "NoContactReasonEdge",
        "CampaignConnection", "CampaignEdge", "CallbackConnection", "CallbackEdge",
        "TicketClassificationConnection", "TicketClassificationEdge", "TicketStatusConnection",
        "TicketStatusEdge", "ContactTypeConnection", "ContactTypeEdge", "ClosureReasonConnection",
        "ClosureReasonEdge", "ActionDefinitionConnection", "ActionDefinitionEdge", "ClientConfig",
        "ClosureReason", "ActionDefinition", "OperationError", "DoNotCallNumberConnection",
        "DoNotCallNumberEdge", "DoNotCallNumber", "DoNotCallNumbersPayload", "DoNotCallError", "Import",
        "ImportColumn", "ImportError", "ImportRowError", "ImportRowErrorConnection", "ImportRowErrorEdge",
        "ReportError", "ContactCategoryConnection", "ContactCategoryEdge",
        "TicketSubjectConnection", "TicketSubjectEdge", "ProductConnection", "ProductEdge", "OccurrenceConnection",
        "OccurrenceEdge", "TicketActionConnection", "TicketActionEdge",
        "NonConformityConnection", "NonConformityEdge",
    )},
    # Reports (issue 18): aggregates computed per request, reached only through their root fields.
    **{f"{name}.*": COMPUTED for name in (
        "AgentProductivity", "AgentHour", "CampaignResults", "CampaignDayResults", "NamedCount",
        "TicketFigures", "TicketWeek",
    )},
    **{f"{name}.*": COMPUTED for name in (
        "CampaignStatistics", "AgentCount", "AttemptsCount", "DayCount", "JustificationCount",
        "ResultCount", "ResultKindCount", "StageCount", "QueueStatusCount", "FormRules", "ResultRule",
        "NoContactRule", "RenderedScript", "CallingHours", "TicketCountGroup",
        # campaignStatistics' handling time (issue 16)
        "HandlingTime", "AgentHandlingTime", "HourHandlingTime", "AgentHourHandlingTime", "NoContactReasonCount",
        "Occupancy", "AgentOccupancy",
        "QueueBoard",
    )},
    # The floor (issue 16): the catalog list and a campaign's agent states, reached only through their
    # root fields; secondsInState is computed at answer time, and a wallboard asks for it alone.
    "Query.agentStates": ROOT,
    "Query.pauseReasons": ROOT,
    **{f"{name}.*": ROOT for name in ("PauseReasonConnection", "PauseReasonEdge", "PauseReason", "AgentStateError")},
    **{f"{name}.*": COMPUTED for name in ("AgentFloor", "AgentStatus")},
    "Campaign.callingHours": COMPUTED,
    # A list of count objects: the compiler's Derived answers values without a selection.
    "Campaign.memberCounts": COMPUTED,
    "Ticket.awaitingReturn": COMPUTED,
    # Plain lists.
    "Campaign.stages": LIST,
    "Campaign.agents": LIST,
    "ContactResult.justifications": LIST,
    "Justification.results": LIST,
    "ContactType.*": LIST,  # reached through Ticket.contactType, itself not compiled: its lists
    "ContactSubtype.*": LIST,
    "ContactCategory.*": LIST,  # reached through ContactType (above) and its own root list
    "TicketClassification.*": LIST,
    "Ticket.contactType": LIST,
    "Ticket.contactSubtype": LIST,
    "Ticket.classification": LIST,
    "Ticket.subclassification": LIST,
    "Ticket.channel": LIST,
    "Ticket.closureReason": LIST,
    # Relations with a rule of their own.
    "Ticket.parent": CHECKED,
    "Ticket.children": CHECKED,
    "Ticket.actions": CHECKED,
    "TicketAction.*": CHECKED,
    "NonConformity.*": CHECKED,
    "TicketMessage.ticket": CHECKED,
    "TicketMessage.attachments": CHECKED,
    "Attachment.*": CHECKED,
    "Person.operations": CHECKED,
    "CampaignMember.history": CHECKED,
    "OperationConnection.*": CHECKED,
    "OperationEdge.*": CHECKED,
    # Person.timeline (issue 15): a keyset merge of six sources in Python, each read with its own
    # access rule (resolvers/person_timeline.py), into a union; the compiler has no merge and no union
    # node. A person screen reads it once per person opened (six statements and the loaders, whatever
    # the page size), not on each refresh of a list, so the normal path's cost is paid by that screen.
    "Person.timeline": CHECKED,
    **{f"{name}.*": CHECKED for name in (
        "TimelineEntryConnection", "TimelineEntryEdge", "OperationEntry", "TicketOpenedEntry",
        "TicketMessageEntry", "TicketStatusEntry", "CallbackEntry", "ConversionEntry",
    )},
    # Counts of nested lists, and refusals.
    "TicketMessageConnection.totalCount": COUNT,
    "TicketMessageConnection.totalCountIsExact": COUNT,
    "TicketHistoryEntryConnection.totalCount": COUNT,
    "TicketHistoryEntryConnection.totalCountIsExact": COUNT,
    "TicketEmailConnection.totalCount": COUNT,
    "TicketEmailConnection.totalCountIsExact": COUNT,
    "MemberEventConnection.totalCount": COUNT,
    "MemberEventConnection.totalCountIsExact": COUNT,
    # An entry's catalog rows, as the ticket's own (Ticket.closureReason, Ticket.classification…).
    "TicketHistoryEntry.closureReason": LIST,
    "TicketHistoryEntry.classification": LIST,
    "TicketHistoryEntry.subclassification": LIST,
    "TicketHistoryEntry.contactType": LIST,
    "TicketHistoryEntry.contactSubtype": LIST,
    "CampaignError.*": REFUSAL,
    # Subscription payloads.
    **{f"{name}.*": STREAM for name in (
        "Subscription", "TicketEvent", "StreamError", "CallbackAlert", "TicketReturnAlert", "QueueSnapshot",
        "AgentQueueActivity", "AgentStateEvent", "TicketViewers", "TicketViewer", "TicketCounts",
    )},
    # Issue 17, saved queue filters: the caller's own list (at most 50 rows), read when the filter
    # menu opens, not on each queue refresh; the filtered queue itself is compiled.
    "Query.savedQueueFilters": ROOT,
    "SavedQueueFilterList.*": ROOT,
    "SavedQueueFilter.*": ROOT,
    "QueueFilterCriteria.*": ROOT,
    # Issue 17, several scripts per campaign and dynamic scripts. Campaign.script and Operation.script
    # are compiled (a load by id); the rest are plain lists (no Many in the compiler): a campaign's
    # scripts (read when the operation screen opens, not per queue refresh), an operation's answers
    # (a history row's detail), and a script's questions, a JSON column made into objects with a
    # selection (the compiler's Derived answers values without one).
    "Campaign.scripts": LIST,
    "Operation.scriptAnswers": LIST,
    "Script.questions": LIST,
    "ScriptAnswer.*": LIST,
    "ScriptQuestion.*": LIST,
    "ScriptBranch.*": LIST,
    # Issue 17, customer e-mail templates: an administrator's settings screen (two dozen rows, defaults
    # computed in Python), read when it opens, never by a dashboard's refresh.
    "Query.emailTemplates": ROOT,
    "EmailTemplateList.*": ROOT,
    "EmailTemplate.*": ROOT,
    "EmailTemplateError.*": ROOT,
}


def _named(graphql_type: object) -> object:
    while isinstance(graphql_type, (GraphQLList, GraphQLNonNull)):
        graphql_type = graphql_type.of_type
    return graphql_type


def readable_fields(schema: GraphQLSchema) -> set[str]:
    """Every "Type.field" of an object type a query or a subscription payload reaches."""
    found: set[str] = set()
    seen: set[str] = set()
    pending: list[object] = [schema.query_type, schema.subscription_type]
    while pending:
        graphql_type = pending.pop()
        name = getattr(graphql_type, "name", "")
        if graphql_type is None or name in seen or name.startswith("__"):
            continue
        seen.add(name)
        if isinstance(graphql_type, GraphQLUnionType):
            pending += graphql_type.types
        elif isinstance(graphql_type, GraphQLInterfaceType):
            pending += schema.get_possible_types(graphql_type)
        elif isinstance(graphql_type, GraphQLObjectType):
            for field_name, definition in graphql_type.fields.items():
                found.add(f"{name}.{field_name}")
                pending.append(_named(definition.type))
    return found


CONNECTION_PROBE = "edges { __typename cursor node { __typename } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
ROOT_PROBES = {
    "campaignQueue": 'campaignQueue(campaignId: "1")',
    "tickets": "tickets",
}


def probes(plans: Plans) -> dict[str, str]:
    """A document for each field the compiled path's types claim, by "Type.field": the shortest way
    to it from a compiled root field."""
    registry, schema = plans.registry, plans.registry.schema
    documents: dict[str, str] = {}
    # (type, the document around a selection on it)
    ways: deque[tuple[str, str, str]] = deque()

    def connection(field_type: object, before: str, after: str, node: str) -> None:
        connection_type = _named(field_type)
        if isinstance(connection_type, GraphQLUnionType):  # `Connection | Error` (campaignQueue): by fragment
            connection_type = next(member for member in connection_type.types if "edges" in member.fields)
            before, after = f"{before} {{ ... on {connection_type.name}", f" }}{after}"
        assert isinstance(connection_type, GraphQLObjectType)
        edge_type = _named(connection_type.fields["edges"].type)
        assert isinstance(edge_type, GraphQLObjectType)
        probe = f"{before} {{ {CONNECTION_PROBE} }}{after}"
        for field_name in connection_type.fields:  # a count is asked by itself: only a root list's compiles
            selection = CONNECTION_PROBE if field_name in ("edges", "pageInfo") else field_name
            documents.setdefault(f"{connection_type.name}.{field_name}", f"{before} {{ {selection} }}{after}")
        for field_name in edge_type.fields:
            documents.setdefault(f"{edge_type.name}.{field_name}", probe)
        for field_name in _named(connection_type.fields["pageInfo"].type).fields:  # type: ignore[union-attr]
            documents.setdefault(f"PageInfo.{field_name}", probe)
        ways.append((node, f"{before} {{ edges {{ node {{ ", f" }} }} }}{after}"))

    query = schema.query_type
    assert query is not None
    for name, root in registry.roots.items():
        call = ROOT_PROBES[name]
        documents[f"Query.{name}"] = f"query {{ {call} {{ __typename }} }}"
        connection(query.fields[name].type, f"query {{ {call}", " }", root.target)
    reached: set[str] = set()
    while ways:
        type_name, before, after = ways.popleft()
        if type_name in reached:
            continue
        reached.add(type_name)
        fast_type = registry.types[type_name]
        graphql_type = schema.get_type(type_name)
        assert isinstance(graphql_type, GraphQLObjectType)
        for field_name in ("__typename", *fast_type.scalars, *fast_type.derived):
            documents.setdefault(f"{type_name}.{field_name}", f"{before}{field_name}{after}")
        for field_name, relation in fast_type.relations.items():
            if isinstance(relation, One):
                documents.setdefault(f"{type_name}.{field_name}", f"{before}{field_name} {{ __typename }}{after}")
                ways.append((relation.target, f"{before}{field_name} {{ ", f" }}{after}"))
            elif isinstance(relation, Pages):
                documents.setdefault(f"{type_name}.{field_name}", f"{before}{field_name} {{ __typename }}{after}")
                connection(graphql_type.fields[field_name].type, f"{before}{field_name}", after, relation.target)
    return {name: document for name, document in documents.items() if not name.endswith(".__typename")}


def compiles(plans: Plans, document: str) -> bool:
    node = parse(document)
    entry = plans.document(node, None)
    return entry is not None and plans.plan(entry, {}) is not None


def listed(field: str) -> bool:
    return field in NOT_COMPILED or f"{field.split('.')[0]}.*" in NOT_COMPILED


async def test_every_readable_field_is_compiled_or_listed_with_its_reason(factory: Factory) -> None:
    # given (the factory has set up the models, whose `<fk>_id` columns the compiler checks)
    schema = build_schema(factory.settings)._schema
    plans = Plans(schema)
    # when
    compiled = {field for field, document in probes(plans).items() if compiles(plans, document)}
    readable = readable_fields(schema)
    # then
    missing = sorted(field for field in readable - compiled if not listed(field))
    assert not missing, f"readable fields neither compiled nor in NOT_COMPILED: {missing}"
    stale = sorted(field for field in compiled if listed(field))
    assert not stale, f"compiled now, take them out of NOT_COMPILED: {stale}"
    unknown = sorted(
        entry for entry in NOT_COMPILED
        if entry not in readable and not any(field.startswith(entry[:-1]) for field in readable if entry.endswith("*"))
    )
    assert not unknown, f"NOT_COMPILED lists what no query can read: {unknown}"


async def test_the_probes_reach_what_the_dashboard_reads(factory: Factory) -> None:
    # given: fields bench/side_by_side.py's dashboard document and sorted ticket list select, and the
    # relations both branches added to Callback
    schema = build_schema(factory.settings)._schema
    plans = Plans(schema)
    compiled = {field for field, document in probes(plans).items() if compiles(plans, document)}
    # then
    for field in ("CampaignMember.campaign", "Campaign.name", "Operation.result", "Callback.status",
                  "CampaignMemberEdge.cursor", "PageInfo.endCursor", "CampaignMemberConnection.totalCount",
                  "TicketConnection.totalCount", "Ticket.messageCount", "Ticket.lastMessageAt",
                  "Ticket.lastMessage", "Callback.operation", "Callback.campaign"):
        assert field in compiled, field
