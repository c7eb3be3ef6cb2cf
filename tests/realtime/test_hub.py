"""The event hub: every event once, in cursor order, whatever the broadcast delivers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.event import Event
from realtime.broadcast import Broadcast
from realtime.events import EventSpec, publish, record
from realtime.hub import CursorExpired, EventHub, LiveEvent, stream


async def write(entity_id: int, *, broadcast: Broadcast | None) -> Event:
    async with in_transaction() as connection:
        event = await record(connection, EventSpec(kind="TEST", entity="test", entity_id=entity_id))
    if broadcast is not None:
        await publish(broadcast, [event])
    return event


async def take(events: AsyncIterator[LiveEvent], count: int, timeout: float = 5.0) -> list[int]:
    async def collect() -> list[int]:
        return [(await anext(events)).cursor for _ in range(count)]

    return await asyncio.wait_for(collect(), timeout)


def everything() -> tuple[Q, object]:
    return Q(entity="test"), lambda event: event.entity == "test"


async def test_live_events_arrive_in_order(hub: EventHub) -> None:
    events = stream(hub, None, *everything())  # type: ignore[arg-type]
    first = asyncio.ensure_future(take(events, 3))
    await asyncio.sleep(0)
    written = [await write(n, broadcast=hub.broadcast) for n in (1, 2, 3)]
    assert await first == [event.cursor for event in written]


async def test_replay_then_live_without_duplicates(hub: EventHub) -> None:
    # given: three events before the client (re)connects, published or not
    written = [await write(n, broadcast=hub.broadcast if n != 2 else None) for n in (1, 2, 3)]
    # when: it resumes after the first
    events = stream(hub, written[0].cursor, *everything())  # type: ignore[arg-type]
    replayed = await take(events, 2)
    later = await write(4, broadcast=hub.broadcast)
    # then
    assert replayed == [written[1].cursor, written[2].cursor]
    assert await take(events, 1) == [later.cursor]


async def test_an_event_published_late_is_delivered_first(hub: EventHub) -> None:
    events = stream(hub, None, *everything())  # type: ignore[arg-type]
    pending = asyncio.ensure_future(take(events, 2))
    await asyncio.sleep(0)
    early = await write(1, broadcast=None)
    late = await write(2, broadcast=None)
    await publish(hub.broadcast, [late])
    await publish(hub.broadcast, [early])
    assert await pending == [early.cursor, late.cursor]


async def test_an_event_never_published_is_caught_up_by_the_poll(hub: EventHub) -> None:
    events = stream(hub, None, *everything())  # type: ignore[arg-type]
    pending = asyncio.ensure_future(take(events, 1))
    await asyncio.sleep(0)
    lost = await write(1, broadcast=None)
    assert await pending == [lost.cursor]


async def test_filters_apply_to_replay_and_live_alike(hub: EventHub) -> None:
    mine = (Q(entity="test", entity_id=7), lambda event: event.entity_id == 7)
    await write(7, broadcast=hub.broadcast)
    await write(8, broadcast=hub.broadcast)
    events = stream(hub, 0, *mine)  # type: ignore[arg-type]
    first = await take(events, 1)
    await write(8, broadcast=hub.broadcast)
    again = await write(7, broadcast=hub.broadcast)
    assert first == [1]
    assert await take(events, 1) == [again.cursor]


async def test_a_pruned_cursor_is_refused(hub: EventHub) -> None:
    for n in range(4):
        await write(n, broadcast=hub.broadcast)
    await Event.filter(cursor__lte=2).delete()
    with pytest.raises(CursorExpired):
        await anext(stream(hub, 1, *everything()))  # type: ignore[arg-type]
    resumed = stream(hub, 2, *everything())  # type: ignore[arg-type]
    assert await take(resumed, 2) == [3, 4]
