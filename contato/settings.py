"""Settings read once from the environment into one frozen object."""

from __future__ import annotations

import functools
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line for the operator."""


# argon2-cffi profiles; CHEAPEST keeps test suites fast and is refused in production.
PASSWORD_HASH_PROFILES = ("RFC_9106_LOW_MEMORY", "RFC_9106_HIGH_MEMORY", "CHEAPEST")


class TicketScheme(str, Enum):
    """How tickets are classified: a classification tree ("Módulo Central") or contact types ("Módulo CRM")."""

    CLASSIFICATION = "CLASSIFICATION"
    CONTACT_TYPE = "CONTACT_TYPE"


DEFAULT_UPLOAD_ALLOWED_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/plain",
    "text/csv",
    "application/zip",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
)

# Without UPLOAD_MAX_REQUEST_BYTES, a multipart request may carry this many files of the largest
# size plus room for the operations and map parts (Starlette caps each of those at 1 MiB).
UPLOAD_REQUEST_FILES = 5
UPLOAD_REQUEST_OVERHEAD = 1024 * 1024
# An explicit cap must leave room for one file of UPLOAD_MAX_BYTES and a small operation.
UPLOAD_REQUEST_MIN_OVERHEAD = 64 * 1024


class MailLanguage(str, Enum):
    """The language of customer e-mails where the ticket's company names none (models.mail_template.MailLocale)."""

    PT_BR = "pt-BR"
    EN = "en"


class TicketReturnFrom(str, Enum):
    """What "Agenda retorno: N dias" counts from: the ticket's opening (the document) or entering the status."""

    OPENING = "OPENING"
    STATUS_ENTRY = "STATUS_ENTRY"


class TicketCloseOpenChildren(str, Enum):
    """Closing a parent ticket whose children are open: refuse (the default) or close them with it."""

    REFUSE = "REFUSE"
    CLOSE = "CLOSE"


class SuspectConversion(str, Enum):
    DELETE = "DELETE"
    KEEP = "KEEP"
    ASK = "ASK"


@dataclass(frozen=True)
class Settings:
    environment: str = "dev"
    data_dir: Path = Path("data")
    database_url: str = ""
    broadcast_url: str = "memory://"
    secret_key: str = DEV_SECRET_KEY
    token_ttl_seconds: int = 12 * 3600
    allowed_origins: tuple[str, ...] = ()
    graphiql: bool = True
    introspection: bool = True
    upload_dir: Path = Path("data/uploads")
    upload_max_bytes: int = 10 * 1024 * 1024
    upload_allowed_types: tuple[str, ...] = DEFAULT_UPLOAD_ALLOWED_TYPES
    ticket_scheme: TicketScheme = TicketScheme.CLASSIFICATION
    ticket_return_from: TicketReturnFrom = TicketReturnFrom.OPENING
    # MV_QLYXCAL: actions whose definition says so raise a non-conformity ("FNC"); off, they do not.
    non_conformity_integration: bool = True
    ticket_close_open_children: TicketCloseOpenChildren = TicketCloseOpenChildren.REFUSE
    mail_in_server: bool = True
    mail_retry_base_seconds: int = 30
    mail_retry_max_seconds: int = 3600
    mail_max_rejections: int = 5
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_from: str = "contato@localhost"
    smtp_starttls: bool = False
    mail_locale: MailLanguage = MailLanguage.PT_BR
    suspect_conversion: SuspectConversion = SuspectConversion.ASK
    # Which person fields agents may change (personUpdate), by API name; None: all of them.
    agent_person_edit: frozenset[str] | None = None
    timezone: str = "America/Sao_Paulo"
    max_query_depth: int = 10
    max_aliases: int = 15
    max_tokens: int = 2000
    max_page_size: int = 100
    # totalCount reads at most this many rows and then says "this many or more" (0: exact counts).
    count_limit: int = 10_000
    max_query_cost: int = 20_000
    mutations_per_minute: int = 120
    login_max_failures: int = 5
    login_lockout_seconds: int = 300
    # Wrong passwords from one client address (an IPv6 client's /64) per LOGIN_LOCKOUT_SECONDS; 0: off.
    login_max_failures_per_address: int = 100
    # Proxies whose X-Forwarded-For is believed (addresses or CIDRs); none: the header is ignored.
    trusted_proxies: tuple[str, ...] = ()
    password_hash_profile: str = "RFC_9106_LOW_MEMORY"
    alerts_in_server: bool = True
    ws_init_timeout_seconds: int = 5
    ws_max_subscriptions: int = 50
    # Subscribers asking the same live stream share one execution of it (contato/shared_streams.py).
    ws_shared_streams: bool = True
    # permessage-deflate when the client offers it: less traffic, more CPU and memory per connection.
    ws_compression: bool = True
    event_retention_hours: int = 72
    stream_stall_seconds: int = 10
    # How long a mutation's idempotency key (and its stored answer) is kept, per user.
    idempotency_key_hours: int = 24
    # How long a request waits for another one running with the same idempotency key.
    idempotency_wait_seconds: int = 10
    # The whole multipart request (every file, operations and map); None: derived, see below.
    upload_max_request_bytes: int | None = None
    # Operations: /metrics (for the monitoring network only), log lines, shutdown.
    metrics_enabled: bool = True
    # When set, /metrics answers only `Authorization: Bearer <metrics_token>`.
    metrics_token: str = field(default="", repr=False)
    # Production only: serve /metrics without a token (otherwise it answers 403 until one is set).
    metrics_public: bool = False
    log_format: str = "text"
    # How long a stopping server waits for in-flight requests before cancelling them.
    shutdown_grace_seconds: int = 10
    # Browser and mobile clients (README "Building a dashboard"): signed attachment links, Automatic
    # Persisted Queries (0 turns them off), and a trusted-documents manifest (only its documents run).
    attachment_link_ttl_seconds: int = 300
    apq_cache_size: int = 1000
    trusted_documents: Path | None = None
    # The supervisor's floor (README): the claim refuses an agent who is not READY; an agent whose
    # last socket is gone (closed, or its process dead: no heartbeat for the TTL) goes OFFLINE after
    # the grace period.
    claim_requires_ready: bool = True
    presence_heartbeat_seconds: int = 5
    presence_ttl_seconds: int = 15
    presence_grace_seconds: int = 30
    # ticketViewing: whether company reps see which operators are on their ticket (they always see reps).
    ticket_viewing_reps_see_operators: bool = False

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def effective_upload_max_request_bytes(self) -> int:
        if self.upload_max_request_bytes is not None:
            return self.upload_max_request_bytes
        return self.upload_max_bytes * UPLOAD_REQUEST_FILES + UPLOAD_REQUEST_OVERHEAD

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        return _networks(self.trusted_proxies)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite://{self.data_dir / 'contato.sqlite3'}"

    def __repr__(self) -> str:  # secrets never reach logs
        return f"Settings(environment={self.environment!r}, database={_redact(self.effective_database_url)!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        reader = _Reader(env)
        environment = reader.choice("CONTATO_ENV", ("dev", "test", "production"), "dev")
        production = environment == "production"
        data_dir = Path(reader.text("CONTATO_DATA_DIR", "data"))
        secret_key = reader.text("SECRET_KEY", "")
        if not secret_key:
            if production:
                raise SettingsError("SECRET_KEY is required when CONTATO_ENV=production")
            secret_key = DEV_SECRET_KEY
        elif production and (secret_key == DEV_SECRET_KEY or len(secret_key) < 32):
            raise SettingsError("SECRET_KEY must be at least 32 characters and not the dev default")
        settings = cls(
            environment=environment,
            data_dir=data_dir,
            database_url=reader.text("DATABASE_URL", ""),
            broadcast_url=reader.text("BROADCAST_URL", "memory://"),
            secret_key=secret_key,
            token_ttl_seconds=reader.integer("TOKEN_TTL_SECONDS", 12 * 3600, minimum=60),
            allowed_origins=reader.items("ALLOWED_ORIGINS"),
            graphiql=reader.boolean("GRAPHIQL", not production),
            introspection=reader.boolean("INTROSPECTION", not production),
            upload_dir=Path(reader.text("UPLOAD_DIR", str(data_dir / "uploads"))),
            upload_max_bytes=reader.integer("UPLOAD_MAX_BYTES", 10 * 1024 * 1024, minimum=1),
            upload_allowed_types=reader.items("UPLOAD_ALLOWED_TYPES") or DEFAULT_UPLOAD_ALLOWED_TYPES,
            ticket_scheme=TicketScheme(
                reader.choice("TICKET_CLASSIFICATION_SCHEME", tuple(m.value for m in TicketScheme), "CLASSIFICATION")
            ),
            ticket_return_from=TicketReturnFrom(
                reader.choice("TICKET_RETURN_FROM", tuple(m.value for m in TicketReturnFrom), "OPENING")
            ),
            non_conformity_integration=reader.boolean("NON_CONFORMITY_INTEGRATION", True),
            ticket_close_open_children=TicketCloseOpenChildren(
                reader.choice(
                    "TICKET_CLOSE_OPEN_CHILDREN", tuple(m.value for m in TicketCloseOpenChildren), "REFUSE"
                )
            ),
            mail_in_server=reader.boolean("MAIL_IN_SERVER", True),
            mail_retry_base_seconds=reader.integer("MAIL_RETRY_BASE_SECONDS", 30, minimum=1),
            mail_retry_max_seconds=reader.integer("MAIL_RETRY_MAX_SECONDS", 3600, minimum=1),
            mail_max_rejections=reader.integer("MAIL_MAX_REJECTIONS", 5, minimum=1),
            smtp_host=reader.text("SMTP_HOST", "localhost"),
            smtp_port=reader.integer("SMTP_PORT", 25, minimum=1, maximum=65535),
            smtp_username=reader.text("SMTP_USERNAME", ""),
            smtp_password=reader.text("SMTP_PASSWORD", ""),
            smtp_from=reader.text("SMTP_FROM", "contato@localhost"),
            smtp_starttls=reader.boolean("SMTP_STARTTLS", False),
            mail_locale=_mail_language(reader.text("MAIL_LOCALE", "pt-BR")),
            suspect_conversion=SuspectConversion(
                reader.choice("SUSPECT_CONVERSION", tuple(m.value for m in SuspectConversion), "ASK")
            ),
            agent_person_edit=_agent_person_edit(reader.text("AGENT_PERSON_EDIT", "ALL")),
            timezone=reader.text("CONTATO_TIMEZONE", "America/Sao_Paulo"),
            max_query_depth=reader.integer("MAX_QUERY_DEPTH", 10, minimum=2),
            max_aliases=reader.integer("MAX_ALIASES", 15, minimum=1),
            max_tokens=reader.integer("MAX_TOKENS", 2000, minimum=100),
            max_page_size=reader.integer("MAX_PAGE_SIZE", 100, minimum=1, maximum=1000),
            count_limit=reader.integer("COUNT_LIMIT", 10_000, minimum=0),
            max_query_cost=reader.integer("MAX_QUERY_COST", 20_000, minimum=100),
            mutations_per_minute=reader.integer("MUTATIONS_PER_MINUTE", 120, minimum=0),
            login_max_failures=reader.integer("LOGIN_MAX_FAILURES", 5, minimum=1),
            login_lockout_seconds=reader.integer("LOGIN_LOCKOUT_SECONDS", 300, minimum=1),
            login_max_failures_per_address=reader.integer("LOGIN_MAX_FAILURES_PER_ADDRESS", 100, minimum=0),
            trusted_proxies=reader.items("TRUSTED_PROXIES"),
            alerts_in_server=reader.boolean("ALERTS_IN_SERVER", True),
            ws_init_timeout_seconds=reader.integer("WS_INIT_TIMEOUT_SECONDS", 5, minimum=1, maximum=60),
            ws_max_subscriptions=reader.integer("WS_MAX_SUBSCRIPTIONS", 50, minimum=1),
            ws_shared_streams=reader.boolean("WS_SHARED_STREAMS", True),
            ws_compression=reader.boolean("WS_COMPRESSION", True),
            event_retention_hours=reader.integer("EVENT_RETENTION_HOURS", 72, minimum=1),
            stream_stall_seconds=reader.integer("STREAM_STALL_SECONDS", 10, minimum=1),
            idempotency_key_hours=reader.integer("IDEMPOTENCY_KEY_HOURS", 24, minimum=1),
            idempotency_wait_seconds=reader.integer("IDEMPOTENCY_WAIT_SECONDS", 10, minimum=1, maximum=600),
            # 0 (the default when unset) means derived from UPLOAD_MAX_BYTES; a set value is >= 1.
            upload_max_request_bytes=reader.integer("UPLOAD_MAX_REQUEST_BYTES", 0, minimum=1) or None,
            password_hash_profile=reader.exact(
                "PASSWORD_HASH_PROFILE", PASSWORD_HASH_PROFILES, "RFC_9106_LOW_MEMORY"
            ),
            metrics_enabled=reader.boolean("METRICS_ENABLED", True),
            metrics_token=reader.text("METRICS_TOKEN", ""),
            metrics_public=reader.boolean("METRICS_PUBLIC", False),
            log_format=reader.choice("LOG_FORMAT", ("text", "json"), "json" if production else "text"),
            shutdown_grace_seconds=reader.integer("SHUTDOWN_GRACE_SECONDS", 10, minimum=0, maximum=3600),
            attachment_link_ttl_seconds=reader.integer(
                "ATTACHMENT_LINK_TTL_SECONDS", 300, minimum=10, maximum=7 * 24 * 3600
            ),
            apq_cache_size=reader.integer("APQ_CACHE_SIZE", 1000, minimum=0, maximum=100_000),
            trusted_documents=Path(reader.text("TRUSTED_DOCUMENTS", "")) if reader.text("TRUSTED_DOCUMENTS", "") else None,
            claim_requires_ready=reader.boolean("CLAIM_REQUIRES_READY", True),
            presence_heartbeat_seconds=reader.integer("PRESENCE_HEARTBEAT_SECONDS", 5, minimum=1, maximum=300),
            presence_ttl_seconds=reader.integer("PRESENCE_TTL_SECONDS", 15, minimum=2, maximum=3600),
            presence_grace_seconds=reader.integer("PRESENCE_GRACE_SECONDS", 30, minimum=0, maximum=24 * 3600),
            ticket_viewing_reps_see_operators=reader.boolean("TICKET_VIEWING_REPS_SEE_OPERATORS", False),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.is_production and self.password_hash_profile == "CHEAPEST":
            raise SettingsError("PASSWORD_HASH_PROFILE=CHEAPEST is for tests, not production")
        try:
            _ = self.zone  # raises for an unknown zone
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"CONTATO_TIMEZONE={self.timezone!r} is not a known time zone") from None
        scheme = self.effective_database_url.split("://", 1)[0]
        if scheme not in ("sqlite", "postgres", "postgresql", "asyncpg", "psycopg"):
            raise SettingsError(
                f"DATABASE_URL scheme {scheme!r} is not supported (use sqlite:// or postgres://)"
            )
        if self.effective_upload_max_request_bytes < self.upload_max_bytes + UPLOAD_REQUEST_MIN_OVERHEAD:
            raise SettingsError(
                f"UPLOAD_MAX_REQUEST_BYTES={self.effective_upload_max_request_bytes} must be at least "
                f"UPLOAD_MAX_BYTES + {UPLOAD_REQUEST_MIN_OVERHEAD} ({self.upload_max_bytes + UPLOAD_REQUEST_MIN_OVERHEAD}), "
                "so one file of the largest size fits in a request"
            )
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise SettingsError(
                    f"TRUSTED_PROXIES entry {proxy!r} is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/8)"
                ) from None
        if self.presence_ttl_seconds <= self.presence_heartbeat_seconds:
            raise SettingsError(
                f"PRESENCE_TTL_SECONDS={self.presence_ttl_seconds} must be more than PRESENCE_HEARTBEAT_SECONDS="
                f"{self.presence_heartbeat_seconds}, or live sockets would look dead between heartbeats"
            )
        broadcast_scheme = self.broadcast_url.split("://", 1)[0]
        if broadcast_scheme not in ("memory", "redis", "rediss"):
            raise SettingsError(
                f"BROADCAST_URL scheme {broadcast_scheme!r} is not supported (use memory:// or redis://)"
            )


@functools.cache
def _networks(proxies: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _redact(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"


PERSON_FIELDS = (
    "kind", "name", "document", "phones", "emails", "stage", "companyId", "doNotCall", "address", "birthDate",
    "notes",
)


def _mail_language(raw: str) -> MailLanguage:
    by_name = {language.value.lower(): language for language in MailLanguage}
    language = by_name.get(raw.strip().lower().replace("_", "-"))
    if language is None:
        raise SettingsError(f"MAIL_LOCALE={raw!r} must be one of {', '.join(by_name.values())}")
    return language


def _agent_person_edit(raw: str) -> frozenset[str] | None:
    """AGENT_PERSON_EDIT: ALL (agents change any field), NONE (persons are read-only to agents, the
    ERP document's operation screen) or a comma list of PERSON_FIELDS."""
    if raw.upper() == "ALL":
        return None
    if raw.upper() == "NONE" or not raw:
        return frozenset()
    names = frozenset(item.strip() for item in raw.split(",") if item.strip())
    unknown = sorted(names - set(PERSON_FIELDS))
    if unknown:
        raise SettingsError(
            f"AGENT_PERSON_EDIT names unknown fields {', '.join(unknown)}: use ALL, NONE or some of "
            f"{', '.join(PERSON_FIELDS)}"
        )
    return names


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def text(self, name: str, default: str) -> str:
        return self.env.get(name, default).strip()

    def items(self, name: str) -> tuple[str, ...]:
        return tuple(item.strip() for item in self.env.get(name, "").split(",") if item.strip())

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.env.get(name)
        if raw is None or raw.strip() == "":
            return default
        value = raw.strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name}={raw!r} is not a boolean (use true or false)")

    def integer(self, name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
        raw = self.env.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{name}={raw!r} is not a whole number") from None
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise SettingsError(f"{name}={value} must be {bound}")
        return value

    def exact(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.env.get(name, "").strip() or default
        if value not in choices:
            raise SettingsError(f"{name}={value!r} must be one of {', '.join(choices)}")
        return value

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        raw = self.env.get(name)
        if raw is None or raw.strip() == "":
            return default
        value = raw.strip().upper() if default.isupper() else raw.strip().lower()
        if value not in choices:
            raise SettingsError(f"{name}={raw!r} must be one of {', '.join(choices)}")
        return value
