"""Real servers for the thin end-to-end layer: `contato serve` under uvicorn, in a subprocess."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """`contato serve --demo` on a free port with its own data directory and environment."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory = directory
        self.port = free_port()
        self.env = {
            **os.environ,
            "CONTATO_DATA_DIR": str(directory / "data"),
            "PASSWORD_HASH_PROFILE": "CHEAPEST",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.log_path = directory / f"server-{self.port}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def start(self, *extra: str, timeout: float = 120.0) -> None:
        if "DATABASE_URL" not in self.env:
            # A new data directory starts from the migrated template (the server's own migrate then
            # has nothing to apply): applying every migration costs seconds of CPU per server.
            database = Path(self.env["CONTATO_DATA_DIR"]) / "contato.sqlite3"
            if not database.exists():
                database.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(migrated_sqlite_template(), database)
        log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "contato", "serve", "--demo", "--port", str(self.port), *extra],
            env=self.env,
            cwd=self.directory,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        # One client for the whole wait: each `httpx.get` builds an SSL context (certificates loaded),
        # tens of milliseconds of CPU per poll taken from the server that is starting.
        with httpx.Client(timeout=1) as client:
            while True:
                try:
                    if client.get(f"{self.url}/healthz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"server did not start:\n{self.log()}")
                time.sleep(0.05)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def graphql(self, query: str, variables: dict | None = None, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return httpx.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers, timeout=10
        )

    def login(self, email: str, password: str = "contato-demo") -> str:
        response = self.graphql(
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) "
            "{ ... on LoginPayload { token } ... on LoginError { code } } }",
            {"e": email, "p": password},
        )
        return str(response.json()["data"]["login"]["token"])


_SQLITE_TEMPLATE: list[Path] = []


def migrated_sqlite_template() -> Path:
    """A SQLite database with every committed migration applied, made once per test process by
    `contato migrate` in a subprocess (so that this process never loads SQLite's SQL, which would
    stay cached in a PostgreSQL pass)."""
    if not _SQLITE_TEMPLATE:
        directory = Path(tempfile.mkdtemp(prefix="contato-template-"))
        env = {**os.environ, "CONTATO_DATA_DIR": str(directory)}
        env.pop("DATABASE_URL", None)
        subprocess.run(
            [sys.executable, "-m", "contato", "migrate"], env=env, cwd=directory, check=True, capture_output=True
        )
        _SQLITE_TEMPLATE.append(directory / "contato.sqlite3")
    return _SQLITE_TEMPLATE[0]


def unique_database_name() -> str:
    return f"contato_live_{uuid.uuid4().hex[:12]}"


REDIS_BINARY_ENV = "CONTATO_TEST_REDIS_SERVER"


class RedisServer:
    """One redis-server process; ``stop()`` kills it, ``start()`` restarts it on the same port."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
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


def redis_binary() -> str | None:
    return shutil.which(os.environ.get(REDIS_BINARY_ENV) or "redis-server")


class PostgresServer:
    """A PostgreSQL server of our own (initdb into a temporary folder), to stop and start at will.

    As .ci/run does: the binaries of the newest /usr/lib/postgresql/*/bin, run as the `postgres`
    user through runuser, so the tests that use it need root (`unavailable_reason()` says why not).
    Its folder is made under /tmp, which the postgres user can reach (pytest's are root's only)."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="contato-test-pg-"))
        self.port = free_port()
        self.bin = postgres_bin_dir()
        self.data = self.directory / "data"
        self.started = False

    @staticmethod
    def unavailable_reason() -> str | None:
        if postgres_bin_dir() is None:
            return "no PostgreSQL binaries in /usr/lib/postgresql/*/bin"
        if os.geteuid() != 0 or shutil.which("runuser") is None:
            return "starting a PostgreSQL server of its own needs root (runuser -u postgres)"
        return None

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        assert self.bin is not None
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / args[0]), *args[1:]],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=120,
        )

    def init(self) -> None:
        shutil.chown(self.directory, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.directory} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.directory / "server.log"), "-w", "-o", options, "start")
        self.started = True

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends the sessions (in-flight queries get "terminating connection"); `immediate` crashes."""
        if self.started:
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
            self.started = False

    def close(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def log(self) -> str:
        path = self.directory / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


def postgres_bin_dir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parent.parent.name))
    return found[-1].parent if found else None
