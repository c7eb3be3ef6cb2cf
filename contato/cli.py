"""The `contato` command: serve, migrate, seed, create-user, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import logging.config
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from contato.settings import Settings, SettingsError

DEFAULT_SCHEMA_PATH = Path("schema.graphql")
ALLOW_DEMO_HELP = "load the demo logins (published password) even when CONTATO_ENV=production"


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as error:
        sys.stderr.write(f"contato: configuration error: {error}\n")
        raise SystemExit(2) from None


DEMO_REFUSED = (
    "contato: the demo data logs in with the password the README publishes; refused when "
    "CONTATO_ENV=production (pass --allow-demo-in-production to load it anyway)\n"
)


def _demo_refused(settings: Settings, args: argparse.Namespace) -> bool:
    """Production refuses the demo logins unless the operator insists; says so in one line."""
    if settings.is_production and not args.allow_demo_in_production:
        sys.stderr.write(DEMO_REFUSED)
        return True
    return False


def cmd_migrate(args: argparse.Namespace) -> int:
    from contato.db import migrate

    settings = _settings()
    asyncio.run(migrate(settings))
    print("Database is up to date.")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    import time

    from contato.db import database, migrate
    from contato.seed import DEFAULT_OPERATIONS_PER_PERSON, seed_demo, seed_size
    from contato.seed_volume import MAX_OPERATIONS_PER_PERSON

    settings = _settings()
    if _demo_refused(settings, args):
        return 2
    if args.size < 0:
        sys.stderr.write("contato: --size must be 0 or more\n")
        return 2
    operations = DEFAULT_OPERATIONS_PER_PERSON * args.size if args.operations is None else args.operations
    if not 0 <= operations <= MAX_OPERATIONS_PER_PERSON * args.size:
        sys.stderr.write(f"contato: --operations must be between 0 and {MAX_OPERATIONS_PER_PERSON} × --size\n")
        return 2

    async def run() -> None:
        await migrate(settings)
        async with database(settings):
            logins = await seed_demo(settings)
            print(f"Demo data ready ({len(logins)} demo logins).")
            if args.size:
                started = time.perf_counter()
                report = await seed_size(settings, args.size, operations)
                print(
                    f"Generated {report.persons:,} persons, {report.members:,} campaign members, "
                    f"{report.operations:,} operations, {report.callbacks:,} callbacks, {report.tickets:,} tickets, "
                    f"{report.messages:,} messages in {time.perf_counter() - started:.1f} s "
                    f"(target {args.size:,} persons, {operations:,} operations; existing rows are kept)."
                )

    asyncio.run(run())
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    from contato.db import database, migrate
    from models.user import Role, User
    from resolvers.context import Context
    from resolvers.errors import UserError
    from resolvers.user import UserInput, create_user

    settings = _settings()
    password = os.environ.get("CONTATO_NEW_USER_PASSWORD") or getpass.getpass("Password: ")

    async def run() -> int:
        await migrate(settings)
        async with database(settings):
            # The command line acts as an admin of its own: whoever runs it owns the database.
            acting = User(id=0, name="cli", email="cli@localhost", role=Role.ADMIN, password_hash="")
            ctx = Context(settings=settings, user=acting)
            try:
                user = await create_user(
                    ctx,
                    UserInput(
                        name=args.name,
                        email=args.email,
                        password=password,
                        role=Role(args.role),
                        company_id=args.company_id,
                    ),
                )
            except UserError as error:
                sys.stderr.write(f"contato: {error.code.value}: {error.message}\n")
                return 1
            print(f"Created user {user.pk} <{user.email}> ({user.role.value}).")
            return 0

    return asyncio.run(run())


def cmd_import(args: argparse.Namespace) -> int:
    """Load a CSV or XLSX file as `importCreate` does, in this process, with a progress bar."""
    from contato.db import database, migrate
    from models.data_import import ImportKind, ImportMode, ImportStatus
    from models.user import Role, User
    from resolvers import imports
    from resolvers.context import Context
    from resolvers.errors import DataImportError

    settings = _settings()
    path = Path(args.file)
    if not path.is_file():
        sys.stderr.write(f"contato: no such file: {path}\n")
        return 2
    mapping = {}
    for item in args.map or []:
        column, _, name = item.rpartition("=")
        if not column:
            sys.stderr.write(f"contato: --map takes COLUMN=FIELD, not {item!r}\n")
            return 2
        mapping[column] = name
    request = imports.ImportRequest(
        kind=ImportKind(args.kind.upper().replace("-", "_")), mode=ImportMode(args.mode.upper().replace("-", "_")),
        campaign_id=args.campaign_id, mapping=mapping or None,
    )

    def show(job: object) -> None:
        from schema.imports import ImportType

        view = ImportType.from_row(job)  # type: ignore[arg-type]
        width = 40
        filled = int(width * view.progress)
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {view.progress:6.1%} {view.processed_rows} rows, "
            f"{view.inserted} new, {view.updated} updated, {view.error_rows} refused"
        )
        sys.stderr.flush()

    async def run() -> int:
        await migrate(settings)
        async with database(settings):
            # The command line acts as an admin of its own, as create-user does.
            acting = User(id=0, name="cli", email="cli@localhost", role=Role.ADMIN, password_hash="")
            ctx = Context(settings=settings, user=acting)
            try:
                job = await imports.create_import(ctx, request, path, path.name, owns_file=False)
            except DataImportError as error:
                sys.stderr.write(f"contato: {error.code.value}: {error.message}\n")
                return 1
            job = await imports.run_import(job.pk, progress=None if args.quiet else show, zone=settings.zone)
            if not args.quiet:
                sys.stderr.write("\n")
            if args.errors:
                with open(args.errors, "wb") as output:  # noqa: ASYNC230 - the CLI runs nothing else
                    async for chunk in imports.error_report_csv(job.pk):
                        output.write(chunk)
            print(
                f"Import {job.pk} {job.status.value}: {job.processed_rows} rows, {job.inserted} new, "
                f"{job.updated} updated, {job.error_rows} refused."
            )
            return 0 if job.status == ImportStatus.DONE else 1

    return asyncio.run(run())


def cmd_export(args: argparse.Namespace) -> int:
    """Stream an export to a file (or stdout), as the download of `exportCreate`'s link does."""
    from dataclasses import asdict

    from contato.db import database
    from models.data_export import Export, ExportKind
    from models.user import Role, User
    from resolvers import exports
    from resolvers.context import Context
    from resolvers.errors import ExportError

    settings = _settings()
    where = exports.ExportFilter(
        campaign_id=args.campaign_id, agent_id=args.agent_id, result_kind=args.result_kind,
        date_from=args.date_from, date_to=args.date_to, company_id=args.company_id, state=args.state,
        status=args.status,
    )
    kind = ExportKind(args.kind.upper().replace("-", "_"))

    async def run() -> int:
        async with database(settings):
            acting = User(id=0, name="cli", email="cli@localhost", role=Role.ADMIN, password_hash="")
            ctx = Context(settings=settings, user=acting)
            export = Export(kind=kind, filters=asdict(where), created_by_id=0)
            body = exports.export_csv(ctx, export)
            try:
                first = await anext(body)  # a report's refusal (period, campaign) before any file is made
            except ExportError as refused:
                print(f"{refused.code.value}: {refused.message}", file=sys.stderr)
                return 1
            output = sys.stdout.buffer if args.output == "-" else open(args.output, "wb")  # noqa: ASYNC230, SIM115
            try:
                output.write(first)
                async for chunk in body:
                    output.write(chunk)
            finally:
                if output is not sys.stdout.buffer:
                    output.close()
            return 0

    return asyncio.run(run())


def cmd_export_schema(args: argparse.Namespace) -> int:
    from schema import build_schema

    sdl = build_schema(Settings()).as_str() + "\n"
    if args.output == "-":
        sys.stdout.write(sdl)
    else:
        Path(args.output).write_text(sdl, encoding="utf-8")
        print(f"Wrote {args.output}")
    return 0


def _metrics_directory(workers: int) -> tuple[str | None, bool]:
    """With several workers, a directory where each writes its metrics for any of them to answer.

    Returns the directory (None for one worker) and whether `serve` made it (and removes it).
    """
    from contato.app import MULTIPROCESS_DIR_ENV

    given = os.environ.get(MULTIPROCESS_DIR_ENV)
    if given:
        # Left from an earlier run, its files would add that run's counts to this one's.
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        return given, False
    if workers <= 1:
        return None, False
    made = tempfile.mkdtemp(prefix="contato-metrics-")
    os.environ[MULTIPROCESS_DIR_ENV] = made
    return made, True


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from contato.db import database, migrate
    from contato.logging_config import log_config
    from contato.seed import DEMO_PASSWORD, seed_demo

    settings = _settings()
    if args.demo and _demo_refused(settings, args):
        return 2
    logging_setup = log_config(settings.log_format, args.log_level)
    logging.config.dictConfig(logging_setup)
    from contato.persisted import check_trusted_documents

    try:
        check_trusted_documents(settings)  # a bad manifest stops here, in one line, not in each worker
    except SettingsError as error:
        sys.stderr.write(f"contato: configuration error: {error}\n")
        return 2
    if args.workers > 1 and settings.effective_database_url.startswith("sqlite"):
        sys.stderr.write("contato: several workers need PostgreSQL (DATABASE_URL) and Redis (BROADCAST_URL)\n")
        return 2
    if args.workers > 1 and settings.broadcast_url.startswith("memory"):
        sys.stderr.write("contato: several workers need BROADCAST_URL=redis://… to share events\n")
        return 2

    async def prepare() -> list[object]:
        await migrate(settings)
        if not args.demo:
            return []
        async with database(settings):
            return list(await seed_demo(settings))

    logins = asyncio.run(prepare())
    # In JSON mode every line of output is a log record; text mode keeps the banner readable.
    say = logging.getLogger("contato").info if settings.log_format == "json" else print
    host_for_url = "localhost" if args.host in ("0.0.0.0", "127.0.0.1", "::") else args.host
    say(f"Contato is starting on http://{host_for_url}:{args.port}")
    if settings.graphiql:
        say(f"  GraphiQL: http://{host_for_url}:{args.port}/graphql")
    if logins:
        say(f"  Demo logins (password {DEMO_PASSWORD!r}):")
        for login in logins:
            company = f" of {login.company}" if login.company else ""  # type: ignore[attr-defined]
            say(f"    {login.email:<26} {login.role.value}{company}")  # type: ignore[attr-defined]
    sys.stdout.flush()
    metrics_directory, made_metrics_directory = _metrics_directory(args.workers)
    # uvicorn stops on SIGTERM gracefully, then raises it again once its own handler is gone: that
    # second one means "stopped as asked", so the command exits 0 (as it does after Ctrl+C).
    signal.signal(signal.SIGTERM, _stopped)
    try:
        uvicorn.run(
            "contato.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            reload=args.reload,
            ws_ping_interval=20.0,
            ws_ping_timeout=20.0,
            ws_max_size=1024 * 1024,
            ws_per_message_deflate=settings.ws_compression,
            # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: only from
            # TRUSTED_PROXIES, by the rule logins are throttled by (the right-most untrusted hop).
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=list(settings.trusted_proxies),
            log_level=args.log_level,
            log_config=logging_setup,
            # In-flight requests (a mutation's transaction) get this long to finish on SIGTERM.
            timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        )
    except KeyboardInterrupt:
        pass
    finally:
        if made_metrics_directory and metrics_directory:
            shutil.rmtree(metrics_directory, ignore_errors=True)
    return 0


def _stopped(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def cmd_alerts(args: argparse.Namespace) -> int:
    """The due-alert scheduler on its own, for deployments that run it apart from the servers."""
    from contato.app import alert_scheduler
    from contato.db import database
    from contato.logging_config import log_config
    from realtime.broadcast import create_broadcast

    settings = _settings()
    logging.config.dictConfig(log_config(settings.log_format))
    if args.metrics_port and settings.metrics_enabled:
        from prometheus_client import start_http_server

        # Its own /metrics (alert lateness, events published), as the servers' do not see this process.
        start_http_server(args.metrics_port, addr=args.metrics_host)

    async def run() -> None:
        broadcast = create_broadcast(settings.broadcast_url)
        async with database(settings):
            await broadcast.connect()
            try:
                if settings.log_format == "json":
                    logging.getLogger("contato").info("Alert scheduler running.")
                else:
                    print("Alert scheduler running (Ctrl+C to stop).", flush=True)
                await alert_scheduler(settings, broadcast).run()
            finally:
                await broadcast.disconnect()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="contato",
        description="Contato: GraphQL backend of a contact center. Configured by environment variables (see README).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="apply migrations and run the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    serve.add_argument("--reload", action="store_true", help="restart on code changes (development)")
    serve.add_argument("--demo", action="store_true", help="load the demo data (idempotent) before starting")
    serve.add_argument("--allow-demo-in-production", action="store_true", help=ALLOW_DEMO_HELP)
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(handler=cmd_serve)

    migrate = commands.add_parser("migrate", help="apply the committed database migrations")
    migrate.set_defaults(handler=cmd_migrate)

    seed = commands.add_parser(
        "seed",
        help="load demo data (idempotent); --size adds the generated scale data set",
        description="Loads the demo data (idempotent). With --size N, adds the scale data set: N persons, each a "
        "member of a generated campaign (one per 10,000 persons) with its operation history, last operation "
        "and callbacks; N / 20 tickets (at least min(N, 1,000)) with 12 messages each. Idempotent: a second "
        "run adds nothing. On PostgreSQL, 1,000,000 persons and 5,000,000 operations take a few minutes.",
    )
    seed.add_argument("--size", type=int, default=0, help="number of generated persons (default 0: demo only)")
    seed.add_argument(
        "--operations", type=int, default=None,
        help="operations in all across the generated members (default 5 × --size, at most 50 × --size)",
    )
    seed.add_argument("--allow-demo-in-production", action="store_true", help=ALLOW_DEMO_HELP)
    seed.set_defaults(handler=cmd_seed)

    create_user = commands.add_parser(
        "create-user",
        help="create a user (password from CONTATO_NEW_USER_PASSWORD or a prompt)",
    )
    create_user.add_argument("--email", required=True)
    create_user.add_argument("--name", required=True)
    create_user.add_argument("--role", required=True, choices=["AGENT", "SUPERVISOR", "COMPANY_REP", "ADMIN"])
    create_user.add_argument("--company-id", type=int, default=None, help="required for COMPANY_REP")
    create_user.set_defaults(handler=cmd_create_user)

    alerts = commands.add_parser(
        "alerts", help="run the due-alert scheduler apart from the servers (set ALERTS_IN_SERVER=false there)"
    )
    alerts.add_argument("--metrics-port", type=int, default=0, help="serve /metrics on this port (default: none)")
    alerts.add_argument("--metrics-host", default="127.0.0.1", help="address for --metrics-port")
    alerts.set_defaults(handler=cmd_alerts)

    load = commands.add_parser(
        "import", help="import persons, campaign members or do-not-call numbers from a CSV or XLSX file"
    )
    load.add_argument("file", help="CSV (UTF-8 or Latin-1, ; or ,) or XLSX")
    load.add_argument("--kind", required=True, choices=["persons", "members", "do-not-call"])
    load.add_argument("--mode", default="insert", choices=["insert", "upsert", "dry-run"])
    load.add_argument("--campaign-id", type=int, default=None, help="the campaign of a members import")
    load.add_argument("--map", action="append", metavar="COLUMN=FIELD",
                      help="read a column as a field (repeatable); default: guessed from the headers")
    load.add_argument("--errors", metavar="OUT.csv", help="write the refused rows there")
    load.add_argument("--quiet", action="store_true", help="no progress bar")
    load.set_defaults(handler=cmd_import)

    dump = commands.add_parser(
        "export", help="stream operations, tickets, a campaign's members or a report as CSV"
    )
    dump.add_argument("kind", choices=["operations", "tickets", "members", "agent-productivity",
                                       "campaign-results", "ticket-figures"])
    dump.add_argument("--output", default="-", help="a path, or - for stdout (default)")
    dump.add_argument("--campaign-id", type=int, default=None)
    dump.add_argument("--agent-id", type=int, default=None, help="operations' agent, tickets' assignee")
    dump.add_argument("--result-kind", choices=["SUCCESS", "FAILURE", "SCHEDULE", "NO_CONTACT"], default=None)
    dump.add_argument("--from", dest="date_from", default=None, help="first local day (YYYY-MM-DD)")
    dump.add_argument("--to", dest="date_to", default=None, help="last local day (YYYY-MM-DD)")
    dump.add_argument("--company-id", type=int, default=None)
    dump.add_argument("--state", choices=["OPEN", "CLOSED", "ALL"], default=None)
    dump.add_argument("--status", choices=["NOT_ACTED", "SCHEDULED", "CONCLUDED", "REMOVED"], default=None)
    dump.set_defaults(handler=cmd_export)

    export = commands.add_parser("export-schema", help="write the GraphQL SDL (default schema.graphql)")
    export.add_argument("--output", default=str(DEFAULT_SCHEMA_PATH), help="a path, or - for stdout")
    export.set_defaults(handler=cmd_export_schema)
    return parser


def _prepare_metrics_directory() -> None:
    """prometheus-client opens its files in PROMETHEUS_MULTIPROC_DIR as soon as a module declares a
    metric, so a folder that is missing would crash every command at import: make it first, or say
    in one line why it cannot be made."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        return
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        sys.stderr.write(
            f"contato: configuration error: PROMETHEUS_MULTIPROC_DIR={path!r} is not a folder "
            f"and cannot be made: {reason}\n"
        )
        raise SystemExit(2) from None


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("tortoise").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    _prepare_metrics_directory()
    raise SystemExit(args.handler(args))
