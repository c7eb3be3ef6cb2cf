"""A graphql-transport-ws client for tests against live servers: `gql` with its websockets transport.

Each subscription is pumped in its own task into a queue, so a test can wait for the next item or
check that nothing else arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Self

from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport

_END = object()


class WsClient:
    def __init__(self, url: str, token: str) -> None:
        transport = WebsocketsTransport(
            url=url,
            init_payload={"authToken": token},
            subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
            ping_interval=None,
        )
        self._client = Client(transport=transport, fetch_schema_from_transport=False)
        self._session: Any = None
        self._queues: dict[str, asyncio.Queue[Any]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Self:
        self._session = await self._client.connect_async()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._client.close_async()

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        operation_id = str(len(self._queues) + 1)
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self._queues[operation_id] = queue
        started = asyncio.Event()

        async def pump() -> None:
            try:
                source = self._session.subscribe(GraphQLRequest(query, variable_values=variables or {}))
                started.set()
                async for data in source:
                    queue.put_nowait(data)
            except Exception as error:  # noqa: BLE001 - surfaced by next()
                queue.put_nowait(error)
            finally:
                started.set()
                queue.put_nowait(_END)

        self._tasks.append(asyncio.create_task(pump()))
        await started.wait()
        return operation_id

    async def next(self, operation_id: str, timeout: float = 10.0) -> dict[str, Any]:
        item = await asyncio.wait_for(self._queues[operation_id].get(), timeout)
        assert item is not _END, "the subscription completed"
        if isinstance(item, Exception):
            raise AssertionError(f"the subscription failed: {item!r}")  # noqa: TRY004 - a test failure
        return item

    async def quiet(self, operation_id: str, wait: float = 1.5) -> list[Any]:
        await asyncio.sleep(wait)
        extra = []
        queue = self._queues[operation_id]
        while not queue.empty():
            item = queue.get_nowait()
            if item is not _END:
                extra.append(item)
        return extra
