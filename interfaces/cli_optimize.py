"""`tbot optimize run`: a strategy's parameters searched with Optuna over backtests, chosen on the
in-sample candles and checked on the out-of-sample ones (docs/optimisation.md)."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Annotated, Any

import optuna
import typer
from optuna.trial import FrozenTrial
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from application.strategies.catalog import default_catalog
from domain.strategy import Timeframe
from domain.values import Symbol, decimal_field
from infrastructure.candle_files import CandleHistory, load_candles
from infrastructure.logging import configure_logging
from interfaces.cli_options import parse_limits, parse_params, parse_time
from interfaces.decimals import plain
from interfaces.errors import clear_errors, fail_usage
from interfaces.optimize.result import FoldResult, document, setup, write_result
from interfaces.optimize.space import parse_constraint, parse_objective, parse_space
from interfaces.optimize.study import Search, TrialObjective, feasible, open_storage, open_study, storage_text
from interfaces.optimize.windows import Fold, folds, split

optimize_app = typer.Typer(
    no_args_is_help=True, help="Parameter optimisation: Optuna studies over backtests."
)
console = Console()
TOP = 10
"""How many trials the table shows per fold."""
KEY_FIGURES = ("total_return", "max_drawdown", "sharpe", "trades")
CURL_HEADERS = '-H "X-API-Key: $TBOT_API_KEY" -H "Content-Type: application/json"'


@optimize_app.command("run")
@clear_errors
def run(
    strategy: Annotated[str, typer.Option(help="a strategy of `tbot strategies list`")],
    symbol: Annotated[str, typer.Option(help="the market, e.g. BTC/USDT")],
    candles: Annotated[Path, typer.Option(help="one-minute candles: a .csv or .parquet file")],
    space: Annotated[
        list[str] | None,
        typer.Option(help="a searched parameter: name=int:LOW:HIGH[:STEP], float:LOW:HIGH[:STEP], cat:A,B"),
    ] = None,
    objective: Annotated[
        str, typer.Option(help="sharpe, sortino, calmar or total_return (maximised)")
    ] = "sharpe",
    trials: Annotated[int, typer.Option(help="trials this process runs (per fold)")] = 50,
    param: Annotated[list[str] | None, typer.Option(help="a fixed strategy parameter, name=value")] = None,
    constraint: Annotated[
        list[str] | None, typer.Option(help="a bound on an in-sample figure, e.g. max_drawdown<=0.2")
    ] = None,
    split_at: Annotated[
        str | None, typer.Option("--split", help="the in-sample share of the time, 0 to 1 [default: 0.7]")
    ] = None,
    folds_count: Annotated[
        int | None, typer.Option("--folds", help="anchored walk-forward folds, instead of --split")
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(help="an Optuna storage URL (postgresql://...) [default: optuna.sqlite3 in OUT]"),
    ] = None,
    study: Annotated[str | None, typer.Option(help="the study's name [default: STRATEGY SYMBOL]")] = None,
    seed: Annotated[
        int | None, typer.Option(help="the sampler's seed (the same seed gives the same trials)")
    ] = None,
    start: Annotated[str | None, typer.Option(help="first candle (ISO 8601), inclusive")] = None,
    end: Annotated[str | None, typer.Option(help="last candle (ISO 8601), exclusive")] = None,
    cash: Annotated[str, typer.Option(help="what the account starts with, in the quote currency")] = "10000",
    fee_rate: Annotated[str, typer.Option(help="fee as a fraction of the traded value")] = "0.001",
    slippage_bps: Annotated[str, typer.Option(help="how far market fills move against the order")] = "0",
    limits: Annotated[Path | None, typer.Option(help="risk limits as JSON, as the API takes them")] = None,
    out: Annotated[Path, typer.Option(help="the folder for result.json (and the default storage)")] = Path(),
) -> None:
    """Search STRATEGY's parameters on SYMBOL's candles: each trial is a backtest on the in-sample
    part, the best (within the constraints) is run again on the out-of-sample part; writes
    result.json to OUT and prints the best parameters ready to create a bot with."""
    configure_logging("console", "WARNING")
    _quiet_optuna()
    market = Symbol.parse(symbol, "--symbol")
    search = Search(
        strategy=strategy,
        symbol=market,
        fixed=parse_params(param or []),
        space=parse_space(space or []),
        objective=parse_objective(objective),
        constraints=[parse_constraint(text) for text in constraint or []],
        cash=decimal_field(cash, "--cash"),
        fee_rate=decimal_field(fee_rate, "--fee-rate"),
        slippage_bps=decimal_field(slippage_bps, "--slippage-bps"),
        limits=parse_limits(limits),
    )
    if trials < 1:
        fail_usage("--trials: must be at least 1")
    search.check_names()
    if split_at is not None and folds_count is not None:
        fail_usage("--split and --folds: give one of them, not both")
    history = load_candles(
        candles, market, Timeframe.parse("1m"), parse_time(start, "--start"), parse_time(end, "--end")
    )
    if not history.candles:
        fail_usage(f"--candles: no candles of {market} in {candles} between --start and --end")
    times = [c.opened_at for c in history.candles]
    sample: dict[str, Any]
    if folds_count is None:
        fraction = decimal_field(split_at or "0.7", "--split")
        windows, sample = [split(times, fraction)], {"method": "split", "split": plain(fraction)}
    else:
        windows = folds(times, folds_count)
        sample = {"method": "walk-forward, anchored", "folds": folds_count}
    name = study or f"{strategy} {market}"
    store = open_storage(storage, out)
    results = [
        _optimise(search, history, store, _study_name(name, fold, len(windows)), fold, seed, trials)
        for fold in windows
    ]
    last = results[-1].best
    ready = None if last is None else _bot_params(strategy, last.user_attrs["params"])
    where = storage_text(storage)
    path = write_result(
        out, document(search, history.report, history.candles, where, seed, sample, results, ready)
    )
    for result in results:
        _trials_table(search, result)
        _best_table(search, result)
    console.print(f"result: {path}", highlight=False, soft_wrap=True)
    if ready is None:
        fail = [r.fold.number for r in results if r.best is None]
        console.print(f"[red]no trial within the constraints completed[/red] (folds {fail}): nothing chosen")
        raise typer.Exit(1)
    _ready(search, ready, out)


def _bot_params(strategy: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` as the strategy takes them, its defaults filled in, leaving out those that are
    None (the default of an optional parameter)."""
    taken = default_catalog().validate(strategy, params)
    return {name: value for name, value in taken.items() if value is not None}


def _quiet_optuna() -> None:
    """Optuna says what each trial did on its logger; the progress bar and the tables say it here."""
    optuna.logging.set_verbosity(logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def _study_name(name: str, fold: Fold, count: int) -> str:
    return name if count == 1 else f"{name} fold {fold.number}/{count}"


def _optimise(
    search: Search,
    history: CandleHistory,
    store: optuna.storages.RDBStorage,
    name: str,
    fold: Fold,
    seed: int | None,
    trials: int,
) -> FoldResult:
    """Runs this process's trials of one fold's study, then its best on the out-of-sample part."""
    train = history.candles[fold.train.start : fold.train.stop]
    test = history.candles[fold.test.start : fold.test.stop]
    chosen = open_study(store, name, seed, setup(search, history.report, train))
    board = _Best(search.objective, chosen.get_trials(deepcopy=False))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(board.describe(name), total=trials)

        def advance(_: optuna.Study, trial: FrozenTrial) -> None:
            board.see(trial)
            progress.update(task, advance=1, description=board.describe(name))

        chosen.optimize(TrialObjective(search, train), n_trials=trials, callbacks=[advance])
    held = chosen.get_trials(deepcopy=False)
    result = FoldResult(fold, name, held, trials, None)
    best = result.best
    if best is None:
        return result
    return FoldResult(fold, name, held, trials, search.backtest(best.user_attrs["params"], test))


class _Best:
    """The best feasible in-sample value seen so far, for the progress bar."""

    def __init__(self, objective: str, trials: list[FrozenTrial]) -> None:
        self.objective = objective
        self.value: float | None = None
        for trial in trials:
            self.see(trial)

    def see(self, trial: FrozenTrial) -> None:
        if feasible(trial) and trial.value is not None and (self.value is None or trial.value > self.value):
            self.value = trial.value

    def describe(self, name: str) -> str:
        best = "-" if self.value is None else f"{self.value:.4g}"
        return f"{name}: best {self.objective} {best}"


def _trials_table(search: Search, result: FoldResult) -> None:
    """The best trials of a fold by their in-sample objective."""
    shown = [t for t in result.trials if feasible(t)]
    shown.sort(key=lambda t: (-(t.value or 0.0), t.number))
    title = f"{result.study}: top {min(TOP, len(shown))} of {len(result.trials)} trials (in-sample)"
    table = Table(title=title)
    table.add_column("#", justify="right")
    for dimension in search.space:
        table.add_column(dimension.name, justify="right")
    figures = [search.objective, *(f for f in KEY_FIGURES if f != search.objective)]
    for figure in figures:
        table.add_column(figure, justify="right")
    for trial in shown[:TOP]:
        params, metrics = trial.user_attrs["params"], trial.user_attrs["in_sample"]
        table.add_row(
            str(trial.number),
            *(_cell(params.get(d.name)) for d in search.space),
            *(_cell(metrics.get(f)) for f in figures),
        )
    console.print(table)


def _best_table(search: Search, result: FoldResult) -> None:
    """The best trial's figures in sample beside out of sample."""
    best = result.best
    if best is None or result.out_of_sample is None:
        return
    params = ", ".join(f"{d.name}={best.user_attrs['params'][d.name]}" for d in search.space)
    table = Table(title=f"{result.study}: best trial {best.number} ({params})")
    table.add_column("figure")
    table.add_column(f"in-sample ({len(result.fold.train):,} candles)", justify="right")
    table.add_column(f"out-of-sample ({len(result.fold.test):,} candles)", justify="right")
    outside = result.out_of_sample.plain()
    for figure, value in best.user_attrs["in_sample"].items():
        table.add_row(figure, _cell(value), _cell(outside[figure]))
    console.print(table)


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def _ready(search: Search, params: dict[str, Any], out: Path) -> None:
    """The best parameters as POST /v1/bots takes them, and how to create a bot with them."""
    text = json.dumps(params, sort_keys=True)
    said = f'best parameters, as POST /v1/bots takes them in "params":\n{text}'
    console.print(said, highlight=False, soft_wrap=True)
    body: dict[str, Any] = {
        "name": f"{search.strategy} {search.symbol}",
        "strategy": search.strategy,
        "allowed_symbols": [str(search.symbol)],
        "exchange_account": "paper",
        "params": params,
    }
    if search.limits is None:
        body["limits"] = "<your risk limits>"
        console.print(
            f"create a bot with them (put your risk limits in; --limits writes bot.json ready to send):\n"
            f"  curl {CURL_HEADERS} -d '{json.dumps(body, sort_keys=True)}' $TBOT_URL/v1/bots",
            highlight=False,
            soft_wrap=True,
        )
        return
    body["limits"] = dict(search.limits)
    bot = out / "bot.json"
    bot.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
    console.print(
        f"create a bot with them ({bot} is the request's body):\n"
        f"  curl {CURL_HEADERS} -d @{bot} $TBOT_URL/v1/bots",
        highlight=False,
        soft_wrap=True,
    )
