from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import broadcaster
import pytest
from broadcaster._backends.memory import MemoryBackend
from redis.asyncio import Redis

from realtime.broadcast import (
    Broadcast,
    BroadcastState,
    BroadcastUnavailable,
    Event,
    Subscriber,
    create_broadcast,
)
from realtime.redis_backend import RedisBackend
from tests.realtime.conftest import RedisServer


async def receive(subscriber: Subscriber, timeout: float = 2.0) -> Event:
    async with asyncio.timeout(timeout):
        return await subscriber.get()


async def wait_for_state(hub: Broadcast, state: BroadcastState, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while hub.state != state:
            await asyncio.sleep(0.01)


@pytest.fixture(params=["memory", "redis"])
def broadcast_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url


@pytest.fixture
async def broadcast(broadcast_url: str) -> AsyncIterator[Broadcast]:
    hub = create_broadcast(broadcast_url)
    await hub.connect()
    try:
        yield hub
    finally:
        await hub.disconnect()


async def test_publish_reaches_subscriber_of_that_channel_only(broadcast: Broadcast) -> None:
    async with broadcast.subscribe("ticket:1") as subscriber:
        await broadcast.publish("ticket:1", "opened")
        await broadcast.publish("ticket:2", "elsewhere")
        await broadcast.publish("ticket:1", "assigned")
        assert await receive(subscriber) == Event("ticket:1", "opened")
        assert await receive(subscriber) == Event("ticket:1", "assigned")


async def test_readiness_while_connected(broadcast: Broadcast) -> None:
    assert broadcast.state == "connected"
    assert await broadcast.ping()


async def test_concurrent_first_subscribers_both_receive(broadcast: Broadcast) -> None:
    for i in range(50):
        async with AsyncExitStack() as stack:
            first, second = await asyncio.gather(
                stack.enter_async_context(broadcast.subscribe("queue:race")),
                stack.enter_async_context(broadcast.subscribe("queue:race")),
            )
            await broadcast.publish("queue:race", f"event {i}")
            assert await receive(first) == Event("queue:race", f"event {i}")
            assert await receive(second) == Event("queue:race", f"event {i}")


async def test_resubscribe_after_last_unsubscribe(broadcast: Broadcast) -> None:
    async with broadcast.subscribe("ticket:9") as subscriber:
        await broadcast.publish("ticket:9", "one")
        assert await receive(subscriber) == Event("ticket:9", "one")
    async with broadcast.subscribe("ticket:9") as subscriber:
        await broadcast.publish("ticket:9", "two")
        assert await receive(subscriber) == Event("ticket:9", "two")


async def test_new_subscriber_racing_last_unsubscribe_receives(broadcast: Broadcast) -> None:
    for i in range(20):
        leaving = broadcast.subscribe("ticket:9")
        await leaving.__aenter__()
        arriving = broadcast.subscribe("ticket:9")
        _, subscriber = await asyncio.gather(
            leaving.__aexit__(None, None, None), arriving.__aenter__()
        )
        try:
            await broadcast.publish("ticket:9", f"event {i}")
            assert await receive(subscriber) == Event("ticket:9", f"event {i}")
        finally:
            await arriving.__aexit__(None, None, None)


async def test_exiting_subscription_ends_iteration(broadcast: Broadcast) -> None:
    async with broadcast.subscribe("ticket:3") as subscriber:
        await broadcast.publish("ticket:3", "only")
        assert await receive(subscriber) == Event("ticket:3", "only")
    async with asyncio.timeout(2):
        # broadcaster annotates Subscriber.__aiter__ as possibly returning None.
        assert [event async for event in subscriber] == []  # type: ignore[union-attr]


async def test_disconnect_leaves_no_tasks_behind(broadcast: Broadcast) -> None:
    async with broadcast.subscribe("ticket:4"):
        pass
    await broadcast.disconnect()
    assert broadcast.state == "disconnected"
    assert asyncio.all_tasks() == {asyncio.current_task()}


@pytest.mark.parametrize(
    "url", ["kafka://localhost:9092", "postgres://db/contato", "redis-stream://h", "h:6379", ""]
)
def test_factory_rejects_unknown_scheme(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported broadcast URL scheme"):
        create_broadcast(url)


@pytest.mark.parametrize(
    ("url", "backend_type"),
    [
        ("memory://", MemoryBackend),
        ("redis://localhost:6379/0", RedisBackend),
        ("rediss://:secret@cache.example:6380", RedisBackend),
    ],
)
def test_factory_picks_backend(url: str, backend_type: type) -> None:
    hub = create_broadcast(url)
    assert isinstance(hub, Broadcast)
    assert isinstance(hub._backend, backend_type)
    assert hub.state == "disconnected"


async def test_stock_redis_backend_delivers_nothing_with_redis_py_8(
    redis_server: RedisServer,
) -> None:
    """Why realtime.redis_backend exists; if this fails, broadcaster's backend works again."""
    stock = broadcaster.Broadcast(redis_server.url)
    probe = Redis.from_url(redis_server.url)
    await stock.connect()
    try:
        async with stock.subscribe("ticket:1") as subscriber:
            async with asyncio.timeout(2):
                while (await probe.pubsub_numsub("ticket:1"))[0][1] != 1:
                    await asyncio.sleep(0.01)
            await stock.publish("ticket:1", "lost")
            with pytest.raises(TimeoutError):
                await receive(subscriber, timeout=0.3)
    finally:
        await stock.disconnect()
        await probe.aclose()


async def test_two_instances_share_events_through_redis(redis_url: str) -> None:
    api, worker = create_broadcast(redis_url), create_broadcast(redis_url)
    await api.connect()
    await worker.connect()
    try:
        async with api.subscribe("queue:7") as subscriber:
            await worker.publish("queue:7", "call waiting")
            assert await receive(subscriber) == Event("queue:7", "call waiting")
    finally:
        await api.disconnect()
        await worker.disconnect()


async def test_subscribe_returns_once_redis_confirmed_it(redis_server: RedisServer) -> None:
    """What lets callers publish right after subscribe() without sleeping first."""
    hub = create_broadcast(redis_server.url)
    await hub.connect()
    try:
        async with AsyncExitStack() as stack:
            redis_server.pause()
            entering = asyncio.create_task(stack.enter_async_context(hub.subscribe("queue:5")))
            done, _ = await asyncio.wait([entering], timeout=0.2)
            redis_server.resume()
            assert not done, "subscribe() returned while Redis could not have confirmed it"
            subscriber = await asyncio.wait_for(entering, 2)
            await hub.publish("queue:5", "confirmed")
            assert await receive(subscriber) == Event("queue:5", "confirmed")
    finally:
        await hub.disconnect()


async def test_subscriber_resumes_after_redis_restart(redis_server: RedisServer) -> None:
    hub = create_broadcast(redis_server.url)
    other = create_broadcast(redis_server.url)
    await hub.connect()
    await other.connect()
    try:
        async with hub.subscribe("queue:1") as subscriber:
            await other.publish("queue:1", "before")
            assert await receive(subscriber) == Event("queue:1", "before")

            redis_server.stop()
            await wait_for_state(hub, "reconnecting")
            assert not await hub.ping()
            with pytest.raises(BroadcastUnavailable):
                await hub.publish("queue:1", "while down")

            redis_server.start()
            await wait_for_state(hub, "connected")
            assert await hub.ping()
            await hub.publish("queue:1", "after")
            await other.publish("queue:1", "after, from elsewhere")
            assert await receive(subscriber) == Event("queue:1", "after")
            assert await receive(subscriber) == Event("queue:1", "after, from elsewhere")
    finally:
        await hub.disconnect()
        await other.disconnect()


async def test_unresponsive_redis_is_detected_and_survived(redis_server: RedisServer) -> None:
    backend = RedisBackend(redis_server.url, timeout=0.3, keepalive=0.2, backoff_max=0.2)
    hub = Broadcast(backend=backend)
    await hub.connect()
    try:
        async with hub.subscribe("queue:2") as subscriber:
            redis_server.pause()
            await wait_for_state(hub, "reconnecting")
            assert not await hub.ping()
            with pytest.raises(BroadcastUnavailable):
                await hub.publish("queue:2", "timed out")

            redis_server.resume()
            await wait_for_state(hub, "connected")
            await hub.publish("queue:2", "after")
            # The timed-out PUBLISH sat in the frozen server's socket buffer and may run on
            # resume: BroadcastUnavailable means "not confirmed", not "never delivered".
            event = await receive(subscriber)
            if event.message == "timed out":
                event = await receive(subscriber)
            assert event == Event("queue:2", "after")
    finally:
        await hub.disconnect()


async def test_starting_while_redis_is_down(redis_server: RedisServer) -> None:
    redis_server.stop()
    hub = create_broadcast(redis_server.url)
    await hub.connect()
    try:
        await wait_for_state(hub, "reconnecting")
        assert not await hub.ping()
        with pytest.raises(BroadcastUnavailable):
            await hub.publish("queue:3", "nobody")
        async with hub.subscribe("queue:3") as subscriber:
            redis_server.start()
            await wait_for_state(hub, "connected")
            await hub.publish("queue:3", "up")
            assert await receive(subscriber) == Event("queue:3", "up")
    finally:
        await hub.disconnect()
    assert hub.state == "disconnected"
