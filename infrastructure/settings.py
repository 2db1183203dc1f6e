"""Settings from the environment, in one group per subsystem (``settings.store``,
``settings.execution``, ``settings.api``, ...). Each group reads its own variables when it is made;
the variables' names are those of docs/operations.md, whatever the group. PostgreSQL when
DATABASE_URL or POSTGRES_HOST is set; otherwise the embedded default, a SQLite file."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

from application.execution.settings import ExecutionSettings
from domain.errors import InvalidInput
from domain.values import decimal_field
from infrastructure.paper_exchange import PaperSettings

Backend = Literal["postgres", "sqlite"]
CONNECT_TIMEOUT_SECONDS = 5
GROUP_COMMIT = "GROUP_COMMIT"
"""The event store application's setting that turns group commit on (infrastructure/group_commit.py)."""


def _exact(value: object) -> object:
    """Money in settings is read by the domain's one number grammar (pydantic's own Decimal
    also takes other scripts' digits, underscores and floats)."""
    try:
        return decimal_field(value, "value")
    except InvalidInput as error:
        raise ValueError(error.rule) from None


ExactDecimal = Annotated[Decimal, BeforeValidator(_exact)]


def _json(value: object) -> object:
    """A JSON setting's text, decoded here rather than by the environment's reader, so that text
    that is not JSON is a validation error naming the variable, like any other bad value."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error}") from None


JsonDict = Annotated[dict[str, ExactDecimal], NoDecode, BeforeValidator(_json)]
JsonList = Annotated[list[str], NoDecode, BeforeValidator(_json)]


def field_variables(model: type[BaseSettings], field: str) -> tuple[str, ...]:
    """The environment variables a field of ``model`` is read from: its aliases, otherwise the
    model's prefix and the field's name."""
    alias = model.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(str(choice) for choice in alias.choices)
    if isinstance(alias, str):
        return (alias,)
    return (f"{model.model_config.get('env_prefix', '')}{field}".upper(),)


def named_by_variable(model: type[BaseSettings], error: ValidationError) -> ValidationError:
    """``error`` with each problem located by the environment variable of its field (one a user
    can look for), the rest of its location (a key, an index) kept; messages are unchanged."""
    names: dict[str, str] = {}
    for field in model.model_fields:
        label = "/".join(field_variables(model, field))
        names.update({name.lower(): label for name in (field, *field_variables(model, field))})

    def renamed(kind: str, loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
        if kind != "extra_forbidden" and loc and str(loc[0]).lower() in names:
            return (names[str(loc[0]).lower()], *loc[1:])
        return loc  # the model's own rule, or named already

    problems = [
        InitErrorDetails(
            type=PydanticCustomError(problem["type"], problem["msg"]),
            loc=renamed(problem["type"], problem["loc"]),
            input=problem["input"],
        )
        for problem in error.errors()
    ]
    return ValidationError.from_exception_data(error.title, problems)


class SettingsGroup(BaseSettings):
    """One subsystem's settings, read from the environment when made: its variables share the
    group's ``env_prefix``; a field whose variable does not follow it names it in
    ``validation_alias`` (the only name the environment is read by). Keyword arguments, by field
    name, win over the environment; one that is no field is refused. An empty variable counts as
    unset, as compose writes ``${VAR:-}`` for an optional one."""

    model_config = SettingsConfigDict(extra="forbid", env_ignore_empty=True)

    @model_validator(mode="before")
    @classmethod
    def _by_field_name(cls, data: Any) -> Any:
        """Python code names a field (``StoreSettings(database_url=...)``), which for an aliased
        field pydantic takes only by its variable's name."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for field, info in cls.model_fields.items():
            if info.validation_alias is not None and field in data:
                data[field_variables(cls, field)[0]] = data.pop(field)
        return data

    @model_validator(mode="wrap")
    @classmethod
    def _named_by_variable(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        try:
            return handler(data)
        except ValidationError as error:
            raise named_by_variable(cls, error) from None


class StoreSettings(SettingsGroup):
    """The event store (and the read models' database beside it) and the command path on it."""

    model_config = SettingsConfigDict(env_prefix="TBOT_")

    database_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "TBOT_DATABASE_URL"),
        description="postgresql://user:password@host:port/dbname, or sqlite:///path",
    )
    postgres_host: str | None = Field(default=None, validation_alias="POSTGRES_HOST")
    postgres_port: int = Field(default=5432, validation_alias="POSTGRES_PORT", gt=0, lt=65536)
    postgres_user: str = Field(default="tbot", validation_alias="POSTGRES_USER")
    postgres_password: SecretStr = Field(default=SecretStr(""), validation_alias="POSTGRES_PASSWORD")
    postgres_dbname: str = Field(
        default="tbot", validation_alias=AliasChoices("POSTGRES_DBNAME", "POSTGRES_DB")
    )
    postgres_schema: str = Field(
        default="public", validation_alias="POSTGRES_SCHEMA", pattern=r"^[a-z_][a-z0-9_]{0,62}$"
    )
    postgres_pool_size: int = Field(default=10, gt=0)
    sqlite_path: Path = Field(default=Path("var/tbot.sqlite3"))
    read_sqlite_path: Path = Field(
        default=Path("var/tbot-read.sqlite3"), description="the embedded default's read models"
    )
    aggregate_cache_size: int = Field(
        default=10_000,
        ge=0,
        description="aggregates kept in memory per process and fast-forwarded on each load; 0: none",
    )
    max_command_attempts: int = Field(default=10, gt=0, le=100)
    group_commit: bool = Field(
        default=True,
        description="the events of commands saved at the same moment by several threads of a process "
        "are written in one transaction",
    )
    bot_turn_wait_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="longest a command waits for its bot's turn while another process holds it "
        "(PostgreSQL); then it ends as a conflict",
    )

    @field_validator("database_url")
    @classmethod
    def _known_database_url(cls, url: SecretStr | None) -> SecretStr | None:
        if url is not None:
            scheme = make_url(url.get_secret_value()).get_backend_name()
            if scheme not in ("postgresql", "sqlite"):
                raise ValueError("must start with postgresql:// or sqlite:///")
        return url

    @property
    def backend(self) -> Backend:
        if self.database_url is not None:
            url = make_url(self.database_url.get_secret_value())
            return "sqlite" if url.get_backend_name() == "sqlite" else "postgres"
        return "postgres" if self.postgres_host else "sqlite"

    def read_database_url(self) -> URL:
        """SQLAlchemy's URL of the read models: the event store's PostgreSQL database, or a second
        SQLite file beside the embedded event store."""
        if self.backend == "sqlite":
            return URL.create("sqlite", database=str(self.read_sqlite_path))
        env = self.eventsourcing_env(create_table=False)
        return URL.create(
            "postgresql+psycopg",
            username=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"] or None,
            host=env["POSTGRES_HOST"],
            port=int(env["POSTGRES_PORT"]),
            database=env["POSTGRES_DBNAME"],
        )

    def eventsourcing_env(self, create_table: bool) -> dict[str, str]:
        """The eventsourcing library's settings for this backend."""
        env = {"CREATE_TABLE": "y" if create_table else "n", GROUP_COMMIT: "y" if self.group_commit else "n"}
        if self.aggregate_cache_size:
            # the library's LRU cache of aggregates, fast-forwarded from the store on every load
            # (so never stale, whichever process wrote) and copied before a command changes it
            env.update(
                AGGREGATE_CACHE_MAXSIZE=str(self.aggregate_cache_size),
                AGGREGATE_CACHE_FASTFORWARD="y",
                DEEPCOPY_FROM_AGGREGATE_CACHE="y",
            )
        if self.backend == "sqlite":
            path = self.sqlite_path
            if self.database_url is not None:
                path = Path(make_url(self.database_url.get_secret_value()).database or path)
            path.parent.mkdir(parents=True, exist_ok=True)
            env.update(PERSISTENCE_MODULE="eventsourcing.sqlite", SQLITE_DBNAME=str(path))
            return env
        host, port, user = self.postgres_host or "127.0.0.1", self.postgres_port, self.postgres_user
        password, dbname = self.postgres_password.get_secret_value(), self.postgres_dbname
        if self.database_url is not None:
            url = make_url(self.database_url.get_secret_value())
            host, port = url.host or host, url.port or port
            user, password, dbname = (
                url.username or user,
                url.password or password,
                url.database or dbname,
            )
        env.update(
            PERSISTENCE_MODULE="eventsourcing.postgres",
            POSTGRES_HOST=host,
            POSTGRES_PORT=str(port),
            POSTGRES_USER=user,
            POSTGRES_PASSWORD=password,
            POSTGRES_DBNAME=dbname,
            POSTGRES_SCHEMA=self.postgres_schema,
            POSTGRES_POOL_SIZE=str(self.postgres_pool_size),
            POSTGRES_MAX_OVERFLOW="0",
            # a connection not had within this (the server away, or every one busy) is an outage:
            # the API answers 503, a worker backs off. Pooled connections are checked before use
            # (a round trip each, about a tenth of a command's time) so that a restarted server
            # costs no failed read: the library retries only some statements on a dead connection
            POSTGRES_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT_SECONDS),
            POSTGRES_PRE_PING="y",
        )
        return env


class RedisSettings(SettingsGroup):
    """Redis: the live read model, the live feed's stream, mark prices and rate limits."""

    model_config = SettingsConfigDict(env_prefix="TBOT_")

    url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", "TBOT_REDIS_URL"),
        description="redis://host:port/db; without it the live read model stays in the process",
    )

    @field_validator("url")
    @classmethod
    def _known_redis_url(cls, url: SecretStr | None) -> SecretStr | None:
        if url is not None:
            scheme = url.get_secret_value().split("://", 1)[0]
            if scheme not in ("redis", "rediss", "unix"):
                raise ValueError("must start with redis://, rediss:// or unix://")
        return url


class FeedSettings(SettingsGroup):
    """The live feed (the WebSocket at /v1/feed)."""

    model_config = SettingsConfigDict(env_prefix="TBOT_FEED_")

    max_length: int = Field(
        default=100_000,
        ge=10,
        description="how many of the latest events the live-feed stream keeps; older ones are served "
        "from the event store",
    )
    heartbeat_seconds: float = Field(
        default=15.0, gt=0, le=300, description="a live-feed client hears at least this often"
    )
    queue_limit: int = Field(
        default=10_000,
        ge=1,
        description="events waiting for one live-feed client before it is called slow and disconnected",
    )
    send_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="longest a live-feed client may take to accept one message"
    )
    price_poll_seconds: float = Field(
        default=0.25, gt=0, le=60, description="how often the live feed looks for new mark prices"
    )
    compression: bool = Field(
        default=False,
        description="offer permessage-deflate on the live feed: less bandwidth, but a compressor held "
        "per client and every message compressed once per client (off: about half the server's time "
        "with thousands of subscribers)",
    )


class ProjectionSettings(SettingsGroup):
    """The projection workers and rebuilds."""

    model_config = SettingsConfigDict(env_prefix="TBOT_PROJECTION_")

    batch_size: int = Field(default=500, gt=0, le=10_000)
    poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="longest wait for new events when no notification comes"
    )
    rebuild_processes: int = Field(
        default=0,
        ge=0,
        le=64,
        validation_alias="TBOT_REBUILD_PROCESSES",
        description="processes a rebuild fills its tables with; 0 means one per CPU",
    )


class PaperAccountSettings(SettingsGroup):
    """The paper exchange accounts (`paper`, `paper:<name>`)."""

    model_config = SettingsConfigDict(env_prefix="TBOT_PAPER_")

    balances: JsonDict = Field(
        default_factory=lambda: {
            "USDT": Decimal(100_000),
            "BTC": Decimal(1),
            "ETH": Decimal(10),
            "SOL": Decimal(100),
        },
        description='what each paper account starts with, as JSON ({"USDT": "100000"})',
    )
    maker_fee: ExactDecimal = Field(default=Decimal("0.001"), ge=0, lt=1)
    taker_fee: ExactDecimal = Field(default=Decimal("0.001"), ge=0, lt=1)
    slippage_bps: ExactDecimal = Field(
        default=Decimal(5), ge=0, le=1000, description="how far a paper taker fill moves against the order"
    )
    partial_fills: bool = Field(default=False, description="paper orders fill in seeded parts")
    seed: int = 0

    def exchange_settings(self) -> PaperSettings:
        """How the paper exchange matches each account's orders."""
        return PaperSettings(
            maker_fee=self.maker_fee,
            taker_fee=self.taker_fee,
            slippage_bps=self.slippage_bps,
            partial_fills=self.partial_fills,
            seed=self.seed,
        )


class ExecutionWorkerSettings(SettingsGroup):
    """The execution worker's pace (`tbot execution run`)."""

    model_config = SettingsConfigDict(env_prefix="TBOT_EXECUTION_")

    poll_seconds: float = Field(
        default=0.5, gt=0, le=60, description="how often execution asks the exchanges about open orders"
    )
    sweep_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="how often execution still asks about open orders while the exchange pushes their "
        "changes over a stream",
    )
    settle_seconds: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="after this long an order the exchange does not know is taken as never received "
        "and sent again (at least the exchange's receive window)",
    )
    concurrency: int = Field(default=32, ge=1, le=1000, description="orders worked on at once")
    batch_size: int = Field(default=200, ge=1, le=10_000)

    def manager_settings(self) -> ExecutionSettings:
        """How the execution manager paces itself."""
        return ExecutionSettings(
            batch_size=self.batch_size,
            concurrency=self.concurrency,
            settle_seconds=self.settle_seconds,
            # polls at the usual pace go on for three polls' time after a stream (re)connects
            stream_grace_seconds=3 * self.poll_seconds,
            stream_sweep_seconds=self.sweep_seconds,
        )


class ProtectionSettings(SettingsGroup):
    """The stop-loss and take-profit worker (`tbot protection run`)."""

    model_config = SettingsConfigDict(env_prefix="TBOT_PROTECTION_")

    poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="how often stop losses and take profits are checked"
    )


class BacktestSettings(SettingsGroup):
    """Backtests asked for through the API and run by `tbot backtest worker`."""

    model_config = SettingsConfigDict(env_prefix="TBOT_BACKTEST_")

    per_user: int = Field(
        default=2, ge=1, le=100, description="backtests one user may have queued or running at once"
    )
    queue: int = Field(default=20, ge=1, le=10_000, description="backtests queued or running in all")
    max_days: int = Field(
        default=731, ge=1, le=3660, description="the longest range of candles one may run on"
    )
    poll_seconds: float = Field(default=1.0, gt=0, le=60, description="how often the worker looks for work")


class ExchangeSettings(SettingsGroup):
    """Real exchanges through ccxt: their stored credentials and how they are reached."""

    model_config = SettingsConfigDict(env_prefix="TBOT_EXCHANGE_")

    credentials_key: SecretStr | None = Field(
        default=None,
        validation_alias="TBOT_CREDENTIALS_KEY",
        description="Fernet keys (comma-separated; the first seals) that encrypt exchange credentials",
    )
    timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="how long a request to a real exchange may take"
    )
    streams: bool = Field(
        default=True,
        description="follow orders and prices over the exchanges' WebSockets where ccxt can; "
        "false: poll only",
    )


class MarketDataSettings(SettingsGroup):
    """Prices: the market-data worker (`tbot marketdata run`) and the reference prices every
    process starts from."""

    model_config = SettingsConfigDict(env_prefix="TBOT_MARKETDATA_")

    source: Literal["random", "csv", "ccxt"] = Field(
        default="random",
        description="where `tbot marketdata run` gets prices: a seeded random walk, a CSV file of "
        "one-minute candles (TBOT_MARKETDATA_CSV), or a real exchange (TBOT_MARKETDATA_ACCOUNT)",
    )
    account: str | None = Field(
        default=None, description="the exchange account (`tbot accounts add`) whose exchange ccxt polls"
    )
    symbols: JsonList = Field(
        default_factory=lambda: ["BTC/USDT", "ETH/USDT", "SOL/USDT"],
        description='the symbols of the random walk or the exchange, as JSON (["BTC/USDT"])',
    )
    seed: int = 0
    csv: Path | None = Field(default=None, description="symbol,opened_at,open,high,low,close,volume per line")
    replay_speed: float = Field(
        default=60.0, gt=0, description="how many seconds of the CSV file pass per second"
    )
    interval_seconds: float = Field(default=1.0, gt=0, le=3600, description="how often market data ticks")
    reference_prices: JsonDict = Field(
        default_factory=dict,
        validation_alias="TBOT_REFERENCE_PRICES",
        description='starting reference prices by symbol, as JSON ({"BTC/USDT": "50000"}); '
        "market data moves them",
    )


class ObservabilitySettings(SettingsGroup):
    """Logs, traces and metrics."""

    model_config = SettingsConfigDict(env_prefix="TBOT_")

    log_format: Literal["console", "json"] = Field(
        default="console", description="json for log collectors, console for people"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    otel_exporter: Literal["none", "console", "otlp"] = Field(
        default="none", description="where trace spans go: nowhere, the console, or an OTLP collector"
    )
    otel_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces"
    )
    metrics_port: int = Field(
        default=0,
        ge=0,
        lt=65536,
        description="port a worker process serves Prometheus /metrics on; 0: none (the API serves "
        "/metrics on its own port)",
    )
    metrics_host: str = Field(default="127.0.0.1", description="address a worker's /metrics listens on")
    metrics_dir: Path | None = Field(
        default=None,
        description="directory `tbot serve --workers N` keeps its processes' metrics in (emptied at "
        "start); none: a new temporary one each run",
    )


class ApiSettings(SettingsGroup):
    """The HTTP API (`tbot serve`, `tbot run`): where it listens, its tokens and limits."""

    model_config = SettingsConfigDict(env_prefix="TBOT_API_")

    host: str = Field(default="127.0.0.1", description="address `tbot serve` listens on")
    port: int = Field(default=8000, gt=0, lt=65536)
    max_body_bytes: int = Field(
        default=65_536,
        ge=1024,
        le=16_777_216,
        description="the largest request body the API reads; a larger one is refused with 413 unread",
    )
    jwt_secret: SecretStr | None = Field(
        default=None,
        min_length=32,
        validation_alias="TBOT_JWT_SECRET",
        description="signs bearer tokens; without it each server process makes its own, so tokens "
        "die with the process and are not shared between processes",
    )
    jwt_ttl_seconds: int = Field(default=3600, ge=60, le=86_400, validation_alias="TBOT_JWT_TTL_SECONDS")
    rate_limit_per_second: int = Field(
        default=50,
        ge=1,
        le=1_000_000,
        validation_alias="TBOT_RATE_LIMIT_PER_SECOND",
        description="requests per second per API key (or per user)",
    )
    read_wait_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        validation_alias="TBOT_READ_WAIT_SECONDS",
        description="longest wait of a query for min_position before 503",
    )
    max_commands_in_flight: int = Field(
        default=16,
        ge=1,
        le=10_000,
        description="requests that change something, at once per API process (a few per core); more "
        "wait for a place",
    )
    admission_wait_seconds: float = Field(
        default=0.05,
        ge=0,
        le=60,
        description="longest wait for a place before 503 overloaded with Retry-After",
    )


class SignalSettings(SettingsGroup):
    """Reading trading signals: the optional LLM reader for free text the rules cannot read
    (docs/signals.md, "Free text: the optional LLM reader"). Off unless ``llm_url`` is set."""

    model_config = SettingsConfigDict(env_prefix="TBOT_SIGNALS_")

    llm_url: str | None = Field(
        default=None,
        description="base URL of an OpenAI-compatible chat completions API (https://api.openai.com/v1); "
        "none: no LLM reader",
    )
    llm_model: str = Field(default="gpt-4o-mini", min_length=1, description="the model asked")
    llm_api_key: SecretStr | None = Field(default=None, description="sent as the bearer token; never logged")
    llm_min_confidence: ExactDecimal = Field(
        default=Decimal("0.8"), ge=0, le=1, description="an LLM reading less sure than this is refused"
    )
    llm_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="how long one request to the LLM may take"
    )
    llm_max_retries: int = Field(
        default=1, ge=0, le=5, description="requests retried after a timeout, 429 or 5xx answer"
    )

    @field_validator("llm_url")
    @classmethod
    def _web_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url


class NotifierSettings(SettingsGroup):
    """The notifier (`tbot notifications run`): retries, the SMTP server, the Telegram bot, pace
    (docs/notifications.md, "Choosing what to be told")."""

    model_config = SettingsConfigDict(env_prefix="TBOT_NOTIFY_")

    retry_attempts: int = Field(
        default=5, ge=1, le=20, description="attempts per delivery, the first included"
    )
    retry_first_delay_seconds: float = Field(
        default=1.0, ge=0, le=600, description="the wait before the second attempt (doubling after it)"
    )
    retry_max_delay_seconds: float = Field(default=60.0, ge=0, le=3600, description="the longest wait")
    smtp_host: str | None = Field(default=None, description="SMTP server for email channels; none: email off")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = Field(default=None, description="SMTP AUTH user, if the server asks")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP AUTH password; never logged")
    smtp_sender: str = Field(default="tbot@localhost", min_length=3, description="the From address")
    smtp_starttls: bool = Field(default=True, description="upgrade the connection with STARTTLS")
    telegram_token: SecretStr | None = Field(
        default=None, description="the Telegram bot's token; none: Telegram channels off"
    )
    telegram_api_url: str = Field(default="https://api.telegram.org", description="the Bot API's address")
    allow_private_urls: bool = Field(
        default=False,
        description="webhooks may post to loopback and private addresses (tests, a receiver on this host)",
    )
    daily_summary_hour: int = Field(
        default=0, ge=0, le=23, description="the UTC hour the daily PnL summaries go out (of the 24 h before)"
    )
    batch_size: int = Field(default=100, ge=1, le=10_000, description="events read per turn")
    poll_seconds: float = Field(default=1.0, gt=0, le=60, description="how often the store is looked at")


class TelegramSettings(SettingsGroup):
    """The Telegram bot (`tbot telegram run`): signal channels and owners' commands (docs/signals.md,
    "Telegram")."""

    model_config = SettingsConfigDict(env_prefix="TBOT_TELEGRAM_")

    token: SecretStr | None = Field(default=None, description="the bot's token; never logged")
    api_url: str = Field(default="https://api.telegram.org", description="the Bot API's address")
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="the webhook's secret token (1 to 256 of A-Z, a-z, 0-9, _, -); none: a new one each run",
    )
    poll_timeout_seconds: int = Field(
        default=30, ge=0, le=60, description="how long one getUpdates long poll may wait"
    )

    @field_validator("api_url")
    @classmethod
    def _api_web_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url.rstrip("/")

    @field_validator("webhook_secret")
    @classmethod
    def _secret_token(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret.get_secret_value()):
            raise ValueError("must be 1 to 256 of A-Z, a-z, 0-9, _ and -")
        return secret


class Settings(BaseModel):
    """Every setting, one group per subsystem. ``Settings()`` reads the environment (each group
    its own variables); a group given (``Settings(store=StoreSettings(...))``, or a dict of its
    fields) replaces that reading for the fields it sets."""

    model_config = ConfigDict(extra="forbid")

    store: StoreSettings = Field(default_factory=StoreSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    feed: FeedSettings = Field(default_factory=FeedSettings)
    projections: ProjectionSettings = Field(default_factory=ProjectionSettings)
    paper: PaperAccountSettings = Field(default_factory=PaperAccountSettings)
    execution: ExecutionWorkerSettings = Field(default_factory=ExecutionWorkerSettings)
    protection: ProtectionSettings = Field(default_factory=ProtectionSettings)
    backtests: BacktestSettings = Field(default_factory=BacktestSettings)
    exchange: ExchangeSettings = Field(default_factory=ExchangeSettings)
    marketdata: MarketDataSettings = Field(default_factory=MarketDataSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    signals: SignalSettings = Field(default_factory=SignalSettings)
    notify: NotifierSettings = Field(default_factory=NotifierSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Every environment variable read, with the setting it sets (``"TBOT_JWT_SECRET":
        "api.jwt_secret"``)."""
        found: dict[str, str] = {}
        for name, group in cls.model_fields.items():
            model = group.annotation
            assert isinstance(model, type) and issubclass(model, SettingsGroup)
            for field in model.model_fields:
                found.update(dict.fromkeys(field_variables(model, field), f"{name}.{field}"))
        return found
