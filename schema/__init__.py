"""The GraphQL schema: root types as a table of contents, built per settings."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.types import ExecutionContext

from models.availability import database_unreachable
from schema import bulk as bulk_schema
from schema import campaign as campaign_schema
from schema import catalog as catalog_schema
from schema import do_not_call as do_not_call_schema
from schema import email_template as email_template_schema
from schema import exports as exports_schema
from schema import floor as floor_schema
from schema import imports as imports_schema
from schema import operation as operation_schema
from schema import reports as reports_schema
from schema import ticket as ticket_schema
from schema import ticket_catalog as ticket_catalog_schema
from schema.bulk import BulkMutation
from schema.campaign import CampaignMutation, CampaignQuery
from schema.catalog import CatalogMutation, CatalogQuery
from schema.client_config import ClientConfigQuery
from schema.company import CompanyMutation, CompanyQuery
from schema.compiled import CompiledQueries, plans_for
from schema.cost import QueryCostLimiter
from schema.do_not_call import DoNotCallMutation, DoNotCallQuery
from schema.email_template import EmailTemplateMutation, EmailTemplateQuery
from schema.errors import EXCEPTION_HANDLERS
from schema.exports import ExportMutation
from schema.floor import FloorMutation, FloorQuery
from schema.imports import ImportMutation, ImportQuery
from schema.metrics import OperationMetrics
from schema.operation import OperationMutation, OperationQuery
from schema.person import PersonMutation, PersonQuery
from schema.prepared import PinnedDocuments, PinnedParserCache
from schema.realtime import QueueQuery, Subscription
from schema.reports import ReportQuery
from schema.saved_filter import QueueFilterMutation, QueueFilterQuery
from schema.scalars import SCALAR_OVERRIDES
from schema.security import (
    PUBLIC_EXCEPTIONS,
    CachedValidation,
    MaskFaults,
    MutationRateLimit,
    OneLoginPerRequest,
    RejectUnstorableText,
    RequireAuthentication,
    SuggestionFreeExecutor,
    error_code,
    should_mask,
)
from schema.ticket import TicketMutation, TicketQuery
from schema.ticket_catalog import TicketCatalogMutation, TicketCatalogQuery
from schema.user import UserMutation, UserQuery

if TYPE_CHECKING:
    from contato.settings import Settings

logger = logging.getLogger("contato.graphql")


@strawberry.type
class Query(
    UserQuery,
    CompanyQuery,
    PersonQuery,
    CatalogQuery,
    CampaignQuery,
    QueueFilterQuery,
    OperationQuery,
    TicketCatalogQuery,
    TicketQuery,
    EmailTemplateQuery,
    DoNotCallQuery,
    ImportQuery,
    ReportQuery,
    ClientConfigQuery,
    QueueQuery,
    FloorQuery,
):
    pass


@strawberry.type
class Mutation(
    UserMutation,
    CompanyMutation,
    PersonMutation,
    CatalogMutation,
    CampaignMutation,
    QueueFilterMutation,
    OperationMutation,
    TicketCatalogMutation,
    TicketMutation,
    EmailTemplateMutation,
    DoNotCallMutation,
    ImportMutation,
    ExportMutation,
    BulkMutation,
    FloorMutation,
):
    pass


class ContatoSchema(strawberry.Schema):
    # Documents parsed, validated and planned at start (the trusted documents): schema/prepared.py.
    pinned: PinnedDocuments

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        request_id = getattr(getattr(execution_context, "context", None), "request_id", "-")
        for error in errors:
            original = error.original_error
            if isinstance(original, PUBLIC_EXCEPTIONS):
                error.extensions = {**(error.extensions or {}), "code": error_code(original)}
            elif should_mask(error) and database_unreachable(original):
                logger.warning(
                    "database unreachable in %s (request %s): %s", error.path, request_id, _describe(original)
                )
            elif should_mask(error):
                logger.error(
                    "unexpected error in %s (request %s)", error.path, request_id, exc_info=original
                )


def _describe(error: BaseException | None) -> str:
    return f"{type(error).__name__}: {error}" if error is not None else "-"


def build_schema(settings: Settings, *, compiled: bool = True) -> ContatoSchema:
    """`compiled=False` leaves out the compiled path (schema/compiled/): every query then runs
    through graphql-core, as the tests that compare the two need."""
    pinned = PinnedDocuments()
    extensions: list[Any] = [
        RequireAuthentication,
        lambda: PinnedParserCache(pinned, maxsize=256),
        lambda: CachedValidation(hide_suggestions=not settings.introspection),
        lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
        lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        RejectUnstorableText,
        OneLoginPerRequest,
        lambda: MutationRateLimit(per_minute=settings.mutations_per_minute),
        lambda: QueryCostLimiter(max_cost=settings.max_query_cost, max_page_size=settings.max_page_size),
        lambda: MaskFaults(should_mask_error=should_mask, error_message="Unexpected error."),
    ]
    if not settings.introspection:
        extensions.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    # After the refusing extensions: it tells refused operations by the results they set before execution.
    extensions.append(OperationMetrics)
    if compiled:
        # Last: it answers, from a compiled plan, only what every extension above has let through.
        extensions.append(CompiledQueries)
    schema = ContatoSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        scalar_overrides=SCALAR_OVERRIDES,
        # Where the schema is private, variable coercion must not suggest names either (validation's
        # hints are hidden by CachedValidation).
        execution_context_class=None if settings.introspection else SuggestionFreeExecutor,
        exception_handlers=[
            *EXCEPTION_HANDLERS,
            *catalog_schema.HANDLERS,
            *campaign_schema.HANDLERS,
            *bulk_schema.HANDLERS,
            *operation_schema.HANDLERS,
            *ticket_catalog_schema.HANDLERS,
            *ticket_schema.HANDLERS,
            *email_template_schema.HANDLERS,
            *do_not_call_schema.HANDLERS,
            *imports_schema.HANDLERS,
            *exports_schema.HANDLERS,
            *reports_schema.HANDLERS,
            *floor_schema.HANDLERS,
        ],
    )
    schema.pinned = pinned
    if compiled:
        plans_for(schema._schema)  # checks schema/compiled/types.py against this schema, now rather than per request
    return schema
