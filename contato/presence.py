"""Where agents are connected, in the database: presence that holds across processes and crashes.

Each accepted WebSocket of an agent is a row (`agent_socket`, models/floor.py) naming this process
(`worker`: its pid and a random tag). The process pushes its rows' `alive_until` forward every
`PRESENCE_HEARTBEAT_SECONDS` by `PRESENCE_TTL_SECONDS`; a socket that closes sets it to the closing
time. So a row stops being alive when its socket closes, or when its process stops beating (killed,
frozen, cut off from the database). The floor's sweeper (realtime/floor.py, run by the alert
scheduler in any process) turns an agent OFFLINE once every row of theirs has been dead for
`PRESENCE_GRACE_SECONDS`: a reconnect within the grace (a page reload, a network blip, a worker
restarted by uvicorn) keeps the agent's state.

Only agents are tracked (the floor is theirs); presence never makes anyone READY, it only ends it.
"""

from __future__ import annotations

import logging
import os
import uuid
from datetime import UTC, datetime, timedelta

from models.floor import AgentSocket
from models.user import Role, User
from realtime.periodic import Periodic

logger = logging.getLogger("contato.presence")


class Presence:
    def __init__(self, heartbeat_seconds: int, ttl_seconds: int) -> None:
        self.worker = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.heartbeat = heartbeat_seconds
        self.ttl = timedelta(seconds=ttl_seconds)
        self._periodic = Periodic("presence-heartbeat", self.beat, heartbeat_seconds, wait_first=True)

    async def opened(self, user: User) -> int | None:
        """A socket of `user` was accepted: its row, or None (not an agent, or the database failed:
        the agent is then not tracked by this socket, which is logged)."""
        if user.role != Role.AGENT:
            return None
        now = datetime.now(UTC)
        try:
            row = await AgentSocket.create(
                user_id=user.pk, worker=self.worker, opened_at=now, alive_until=now + self.ttl
            )
        except Exception as error:  # noqa: BLE001 - the socket works without presence
            logger.warning("presence: could not record agent %s's socket: %s", user.pk, type(error).__name__)
            return None
        return row.pk

    async def closed(self, socket_id: int | None) -> None:
        if socket_id is None:
            return
        try:
            await AgentSocket.filter(id=socket_id).update(closed=True, alive_until=datetime.now(UTC))
        except Exception as error:  # noqa: BLE001 - the row dies by its TTL instead
            logger.warning("presence: could not close socket row %s: %s", socket_id, type(error).__name__)

    async def beat(self) -> int:
        """Keep this process's open sockets alive for another TTL; returns how many."""
        return await AgentSocket.filter(worker=self.worker, closed=False).update(
            alive_until=datetime.now(UTC) + self.ttl
        )

    async def start(self) -> None:
        self.worker = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"  # the serving process's, whoever built the app
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()
