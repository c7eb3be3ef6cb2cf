"""Each agent's saved queue filters ("filtros personalizados"): list, create, update, delete."""

from __future__ import annotations

from typing import Annotated

import strawberry

from models.campaign import SavedQueueFilter
from resolvers.campaign import filters
from schema.base import Info
from schema.campaign import CampaignError, CampaignType
from schema.ids import optional_pk, to_pk
from schema.queue_filter import QueueFilterCriteria, QueueFilterInput, queue_filter


@strawberry.type(name="SavedQueueFilter", description="A queue filter an agent keeps under a name.")
class SavedQueueFilterType:
    id: strawberry.ID
    name: str
    filter: QueueFilterCriteria
    campaign_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: SavedQueueFilter) -> SavedQueueFilterType:
        return cls(
            id=strawberry.ID(str(row.pk)), name=row.name,
            filter=QueueFilterCriteria.from_filter(filters.QueueFilter.from_criteria(row.criteria)),
            campaign_id=row.campaign_id,
        )

    @strawberry.field(description="The campaign it is for; null: every campaign.")
    async def campaign(self, info: Info) -> CampaignType | None:
        if self.campaign_id is None:
            return None
        row = await info.context.loaders.campaign_by_id.load(self.campaign_id)
        return CampaignType.from_row(row) if row else None


@strawberry.type(description="The caller's saved queue filters.")
class SavedQueueFilterList:
    items: list[SavedQueueFilterType]


SavedQueueFilterResult = Annotated[
    SavedQueueFilterType | CampaignError,
    strawberry.union("SavedQueueFilterResult"),
]
SavedQueueFiltersResult = Annotated[
    SavedQueueFilterList | CampaignError,
    strawberry.union("SavedQueueFiltersResult"),
]


@strawberry.input
class SavedQueueFilterCreateInput:
    name: str
    filter: QueueFilterInput
    campaign_id: strawberry.ID | None = strawberry.field(default=None, description="Null: every campaign.")


@strawberry.input
class SavedQueueFilterUpdateInput:
    name: str | None = None
    filter: QueueFilterInput | None = None


@strawberry.type
class QueueFilterQuery:
    @strawberry.field(
        description="The caller's saved queue filters, by name; with campaignId, those for it and for every campaign."
    )
    async def saved_queue_filters(self, info: Info, campaign_id: strawberry.ID | None = None) -> SavedQueueFiltersResult:
        rows = await filters.list_saved(info.context, optional_pk(campaign_id))
        return SavedQueueFilterList(items=[SavedQueueFilterType.from_row(row) for row in rows])


@strawberry.type
class QueueFilterMutation:
    @strawberry.mutation(description="Save a queue filter under a name (unique per agent; at most 50 each).")
    async def saved_queue_filter_create(self, info: Info, input: SavedQueueFilterCreateInput) -> SavedQueueFilterResult:
        where = queue_filter(input.filter)
        assert where is not None
        row = await filters.create_saved(info.context, input.name, optional_pk(input.campaign_id), where)
        return SavedQueueFilterType.from_row(row)

    @strawberry.mutation(description="Rename a saved filter or replace its criteria (the caller's own only).")
    async def saved_queue_filter_update(
        self, info: Info, id: strawberry.ID, input: SavedQueueFilterUpdateInput
    ) -> SavedQueueFilterResult:
        row = await filters.update_saved(info.context, to_pk(id), input.name, queue_filter(input.filter))
        return SavedQueueFilterType.from_row(row)

    @strawberry.mutation(description="Delete one of the caller's saved filters; returns it as it was.")
    async def saved_queue_filter_delete(self, info: Info, id: strawberry.ID) -> SavedQueueFilterResult:
        return SavedQueueFilterType.from_row(await filters.delete_saved(info.context, to_pk(id)))
