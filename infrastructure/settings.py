"""Settings from the environment. PostgreSQL when DATABASE_URL or POSTGRES_HOST is set;
otherwise the embedded default, a SQLite file."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AliasChoices,
    BeforeValidator,
    Field,
    ModelWrapValidatorHandler,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

from domain.errors import InvalidInput
from domain.values import decimal_field

Backend = Literal["postgres", "sqlite"]
CONNECT_TIMEOUT_SECONDS = 5


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


def variables(model: type[BaseSettings], field: str) -> tuple[str, ...]:
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
        label = "/".join(variables(model, field))
        names.update({name.lower(): label for name in (field, *variables(model, field))})

    def renamed(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
        if loc and str(loc[0]).lower() in names:
            return (names[str(loc[0]).lower()], *loc[1:])
        return loc  # the model's own rule, or named already

    problems = [
        InitErrorDetails(
            type=PydanticCustomError(problem["type"], problem["msg"]),
            loc=renamed(problem["loc"]),
            input=problem["input"],
        )
        for problem in error.errors()
    ]
    return ValidationError.from_exception_data(error.title, problems)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TBOT_", extra="ignore")

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
    bot_turn_wait_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="longest a command waits for its bot's turn while another process holds it "
        "(PostgreSQL); then it ends as a conflict",
    )
    redis_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", "TBOT_REDIS_URL"),
        description="redis://host:port/db; without it the live read model stays in the process",
    )
    feed_max_length: int = Field(
        default=100_000,
        ge=10,
        description="how many of the latest events the live-feed stream keeps; older ones are served "
        "from the event store",
    )
    feed_heartbeat_seconds: float = Field(
        default=15.0, gt=0, le=300, description="a live-feed client hears at least this often"
    )
    feed_queue_limit: int = Field(
        default=10_000,
        ge=1,
        description="events waiting for one live-feed client before it is called slow and disconnected",
    )
    feed_send_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="longest a live-feed client may take to accept one message"
    )
    feed_price_poll_seconds: float = Field(
        default=0.25, gt=0, le=60, description="how often the live feed looks for new mark prices"
    )
    projection_batch_size: int = Field(default=500, gt=0, le=10_000)
    rebuild_processes: int = Field(
        default=0, ge=0, le=64, description="processes a rebuild fills its tables with; 0 means one per CPU"
    )
    projection_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="longest wait for new events when no notification comes"
    )
    reference_prices: JsonDict = Field(
        default_factory=dict,
        description='starting reference prices by symbol, as JSON ({"BTC/USDT": "50000"}); '
        "market data moves them",
    )
    paper_balances: JsonDict = Field(
        default_factory=lambda: {
            "USDT": Decimal(100_000),
            "BTC": Decimal(1),
            "ETH": Decimal(10),
            "SOL": Decimal(100),
        },
        description='what each paper account starts with, as JSON ({"USDT": "100000"})',
    )
    paper_maker_fee: ExactDecimal = Field(default=Decimal("0.001"), ge=0, lt=1)
    paper_taker_fee: ExactDecimal = Field(default=Decimal("0.001"), ge=0, lt=1)
    paper_slippage_bps: ExactDecimal = Field(
        default=Decimal(5), ge=0, le=1000, description="how far a paper taker fill moves against the order"
    )
    paper_partial_fills: bool = Field(default=False, description="paper orders fill in seeded parts")
    paper_seed: int = 0
    execution_poll_seconds: float = Field(
        default=0.5, gt=0, le=60, description="how often execution asks the exchanges about open orders"
    )
    execution_sweep_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="how often execution still asks about open orders while the exchange pushes their "
        "changes over a stream",
    )
    execution_settle_seconds: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="after this long an order the exchange does not know is taken as never received "
        "and sent again (at least the exchange's receive window)",
    )
    execution_concurrency: int = Field(default=32, ge=1, le=1000, description="orders worked on at once")
    execution_batch_size: int = Field(default=200, ge=1, le=10_000)
    protection_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="how often stop losses and take profits are checked"
    )
    credentials_key: SecretStr | None = Field(
        default=None,
        description="Fernet keys (comma-separated; the first seals) that encrypt exchange credentials",
    )
    exchange_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="how long a request to a real exchange may take"
    )
    exchange_streams: bool = Field(
        default=True,
        description="follow orders and prices over the exchanges' WebSockets where ccxt can; "
        "false: poll only",
    )
    marketdata_source: Literal["random", "csv", "ccxt"] = Field(
        default="random",
        description="where `tbot marketdata run` gets prices: a seeded random walk, a CSV file of "
        "one-minute candles (marketdata_csv), or a real exchange (marketdata_account)",
    )
    marketdata_account: str | None = Field(
        default=None, description="the exchange account (`tbot accounts add`) whose exchange ccxt polls"
    )
    marketdata_symbols: JsonList = Field(
        default_factory=lambda: ["BTC/USDT", "ETH/USDT", "SOL/USDT"],
        description='the symbols of the random walk or the exchange, as JSON (["BTC/USDT"])',
    )
    marketdata_seed: int = 0
    marketdata_csv: Path | None = Field(
        default=None, description="symbol,opened_at,open,high,low,close,volume per line"
    )
    marketdata_replay_speed: float = Field(
        default=60.0, gt=0, description="how many seconds of the CSV file pass per second"
    )
    marketdata_interval_seconds: float = Field(
        default=1.0, gt=0, le=3600, description="how often market data ticks"
    )
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
    api_host: str = Field(default="127.0.0.1", description="address `tbot serve` listens on")
    api_port: int = Field(default=8000, gt=0, lt=65536)
    api_max_body_bytes: int = Field(
        default=65_536,
        ge=1024,
        le=16_777_216,
        description="the largest request body the API reads; a larger one is refused with 413 unread",
    )
    jwt_secret: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="signs bearer tokens; without it each server process makes its own, so tokens "
        "die with the process and are not shared between processes",
    )
    jwt_ttl_seconds: int = Field(default=3600, ge=60, le=86_400)
    rate_limit_per_second: int = Field(
        default=50, ge=1, le=1_000_000, description="requests per second per API key (or per user)"
    )
    read_wait_seconds: float = Field(
        default=5.0, gt=0, le=60, description="longest wait of a query for min_position before 503"
    )

    @model_validator(mode="wrap")
    @classmethod
    def _named_by_variable(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        try:
            return handler(data)
        except ValidationError as error:
            raise named_by_variable(cls, error) from None

    @model_validator(mode="after")
    def _known_database_url(self) -> Settings:
        if self.database_url is not None:
            scheme = make_url(self.database_url.get_secret_value()).get_backend_name()
            if scheme not in ("postgresql", "sqlite"):
                raise ValueError("DATABASE_URL must start with postgresql:// or sqlite:///")
        if self.redis_url is not None:
            scheme = self.redis_url.get_secret_value().split("://", 1)[0]
            if scheme not in ("redis", "rediss", "unix"):
                raise ValueError("REDIS_URL must start with redis://, rediss:// or unix://")
        return self

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
        env = {"CREATE_TABLE": "y" if create_table else "n"}
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
            # the API answers 503, a worker backs off; pooled connections are checked before use,
            # so a restarted server costs no failed command
            POSTGRES_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT_SECONDS),
            POSTGRES_PRE_PING="y",
        )
        return env
