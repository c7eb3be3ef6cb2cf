"""One DataLoader per relation, built per request (and per subscription event)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from strawberry.dataloader import DataLoader
from tortoise.models import Model

from models.company import Company
from models.person import Person
from models.user import User

M = TypeVar("M", bound=Model)


async def _by_id(model: type[M], keys: Sequence[int]) -> list[M | None]:
    rows = await model.filter(id__in=set(keys))
    found = {row.pk: row for row in rows}
    return [found.get(key) for key in keys]


def _loader(model: type[M]) -> DataLoader[int, M | None]:
    async def load(keys: list[int]) -> list[M | None]:
        return await _by_id(model, keys)

    return DataLoader(load_fn=load)


class Loaders:
    def __init__(self) -> None:
        self.company_by_id = _loader(Company)
        self.person_by_id = _loader(Person)
        self.user_by_id = _loader(User)

    def prime(self, rows: Iterable[Model]) -> None:
        """Seed loaders with rows a resolver already fetched, so children don't fetch them again."""
        for row in rows:
            if isinstance(row, Company):
                self.company_by_id.prime(row.pk, row)
            elif isinstance(row, Person):
                self.person_by_id.prime(row.pk, row)
            elif isinstance(row, User):
                self.user_by_id.prime(row.pk, row)
