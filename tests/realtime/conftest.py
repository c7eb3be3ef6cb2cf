"""A real redis-server per test, on a free loopback port, that a test can stop and restart.

CONTATO_TEST_REDIS_SERVER names the binary (default: redis-server on PATH); Redis tests are
skipped only when no binary is found.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REDIS_BINARY_ENV = "CONTATO_TEST_REDIS_SERVER"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One redis-server process; ``stop()`` kills it, ``start()`` restarts it on the same port."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = _free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self, timeout: float = 5.0) -> None:
        assert self._process is None, "redis-server is already running"
        log = self.directory / "redis.log"
        options = {
            "port": str(self.port),
            "bind": "127.0.0.1",
            "save": "",
            "appendonly": "no",
            "dir": str(self.directory),
            "logfile": str(log),
        }
        args = [self.binary]
        for name, value in options.items():
            args += [f"--{name}", value]
        self._process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not self._answers_ping():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise RuntimeError(f"redis-server did not start on port {self.port}:\n{tail}")
            time.sleep(0.01)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        # SIGKILL: a crash is the harsher restart, and SIGTERM waits for serverCron (~100 ms).
        process.kill()
        process.wait()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open but nothing is answered."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False


def _redis_binary() -> str | None:
    return shutil.which(os.environ.get(REDIS_BINARY_ENV) or "redis-server")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A started redis-server; its ``url`` stays valid across ``stop()``/``start()``."""
    binary = _redis_binary()
    if binary is None:
        wanted = os.environ.get(REDIS_BINARY_ENV) or "redis-server on PATH"
        reason = f"no redis-server binary ({wanted}); set {REDIS_BINARY_ENV} to its path"
        if os.environ.get("CONTATO_REQUIRE_SERVERS"):
            pytest.fail(reason)
        pytest.skip(reason)
    server = RedisServer(binary, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url
