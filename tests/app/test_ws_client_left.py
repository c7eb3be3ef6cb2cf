"""A client leaving while its stream sends is not a server fault: no ERROR, no traceback.

Strawberry's graphql-transport-ws handler logs every exception of an operation's task as "Exception
in worker task" at ERROR, the client's own disconnect (`WebSocketDisconnected` from a `next` sent as
it closed) included: every subscriber reconnecting put a traceback in the log (bench/soak.py). Real
faults are still logged as errors.
"""

from __future__ import annotations

import logging

import pytest
from strawberry.http.exceptions import WebSocketDisconnected

from contato.graphql_view import ContatoTransportWSHandler


def handler() -> ContatoTransportWSHandler:
    return ContatoTransportWSHandler.__new__(ContatoTransportWSHandler)  # only its logging is used


async def test_a_client_leaving_while_its_stream_sends_logs_no_error(caplog: pytest.LogCaptureFixture) -> None:
    # given
    caplog.set_level(logging.DEBUG)

    # when
    await handler().handle_task_exception(WebSocketDisconnected())

    # then
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


async def test_a_fault_in_a_stream_task_is_still_logged_as_an_error(caplog: pytest.LogCaptureFixture) -> None:
    # when
    await handler().handle_task_exception(RuntimeError("a fault of ours"))

    # then
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == [
        "Exception in worker task"
    ]
