"""What `tbot optimize run` searches and how it judges (docs/optimisation.md): the search space
(``--space name=int:5:50``, ``name=float:0.1:1[:0.05]``, ``name=cat:a,b``), the objective and the
constraints (``--constraint max_drawdown<=0.2``). Bad text raises InvalidInput naming the option
and the rule."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Literal

import optuna

from domain.errors import InvalidInput
from domain.performance import Performance
from domain.values import decimal_field
from interfaces.cli_options import param_value
from interfaces.decimals import plain

OBJECTIVES = ("sharpe", "sortino", "calmar", "total_return")
"""The figures an optimisation may maximise."""

FIGURES = (
    "final_equity",
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "trades",
    "win_rate",
    "profit_factor",
    "expectancy",
    "exposure",
    "fees",
    "denials",
)
"""The figures of ``Performance`` a constraint may bound (every one that is a number)."""

FLOAT_PLACES = 8
"""A float dimension without a step gives values rounded half-even to this many places."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONSTRAINT = re.compile(r"\s*([A-Za-z_]+)\s*(<=|>=)\s*(\S+)\s*")
_SPACE_RULE = "must be name=int:LOW:HIGH[:STEP], name=float:LOW:HIGH[:STEP] or name=cat:A,B,..."


@dataclass(frozen=True)
class IntRange:
    """Whole numbers from ``low`` to ``high`` (both included) in steps of ``step``."""

    name: str
    low: int
    high: int
    step: int = 1

    def suggest(self, trial: optuna.Trial) -> int:
        return trial.suggest_int(self.name, self.low, self.high, step=self.step)

    def text(self) -> str:
        step = f":{self.step}" if self.step != 1 else ""
        return f"int:{self.low}:{self.high}{step}"


@dataclass(frozen=True)
class DecimalRange:
    """Decimals from ``low`` to ``high`` (both included): multiples of ``step`` above ``low``, or
    any value rounded to ``FLOAT_PLACES`` places. Optuna samples a float; the strategy is given the
    decimal text it stands for, never the float."""

    name: str
    low: Decimal
    high: Decimal
    step: Decimal | None = None

    def suggest(self, trial: optuna.Trial) -> str:
        step = None if self.step is None else float(self.step)
        sampled = trial.suggest_float(self.name, float(self.low), float(self.high), step=step)
        return plain(self.decimal(sampled))

    def decimal(self, sampled: float) -> Decimal:
        """The decimal a sampled float stands for: the nearest step, or the value rounded half-even
        to ``FLOAT_PLACES`` places, kept within the range."""
        exact = Decimal(repr(sampled))
        if self.step is not None:
            steps = ((exact - self.low) / self.step).to_integral_value(rounding=ROUND_HALF_EVEN)
            value = self.low + steps * self.step
        else:
            value = exact.quantize(Decimal(1).scaleb(-FLOAT_PLACES), rounding=ROUND_HALF_EVEN)
        return min(max(value, self.low), self.high)

    def text(self) -> str:
        step = f":{plain(self.step)}" if self.step is not None else ""
        return f"float:{plain(self.low)}:{plain(self.high)}{step}"


@dataclass(frozen=True)
class Choice:
    """One of a few values, read as ``--param`` values are (whole numbers, true/false, text)."""

    name: str
    choices: tuple[int | bool | str, ...]

    def suggest(self, trial: optuna.Trial) -> int | bool | str:
        chosen = trial.suggest_categorical(self.name, self.choices)
        assert isinstance(chosen, int | str)  # one of the choices, which are these
        return chosen

    def text(self) -> str:
        return "cat:" + ",".join(str(c).lower() if isinstance(c, bool) else str(c) for c in self.choices)


Dimension = IntRange | DecimalRange | Choice


def parse_space(texts: list[str]) -> list[Dimension]:
    """The ``--space`` options, in the order given; at least one, each name once."""
    if not texts:
        raise InvalidInput("--space", f"give at least one parameter to search; each {_SPACE_RULE}")
    dimensions: list[Dimension] = []
    for text in texts:
        dimension = parse_dimension(text)
        if any(d.name == dimension.name for d in dimensions):
            raise InvalidInput("--space", f"{dimension.name} is given twice")
        dimensions.append(dimension)
    return dimensions


def parse_dimension(text: str) -> Dimension:
    """One ``--space`` option."""
    name, sep, spec = text.partition("=")
    name = name.strip()
    kind, _, rest = spec.partition(":")
    if not sep or not _NAME.fullmatch(name) or not rest:
        raise InvalidInput("--space", f"{text!r} {_SPACE_RULE}")
    if kind == "int":
        return _int_range(text, name, rest.split(":"))
    if kind == "float":
        return _decimal_range(text, name, rest.split(":"))
    if kind == "cat":
        return _choice(text, name, rest.split(","))
    raise InvalidInput("--space", f"{text!r}: the kind must be int, float or cat, not {kind!r}")


def _int_range(text: str, name: str, parts: list[str]) -> IntRange:
    if len(parts) not in (2, 3) or not all(re.fullmatch(r"-?[0-9]+", p) for p in parts):
        raise InvalidInput("--space", f"{text!r}: int takes whole numbers LOW:HIGH or LOW:HIGH:STEP")
    low, high, step = int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) == 3 else 1
    if low >= high:
        raise InvalidInput("--space", f"{text!r}: LOW must be less than HIGH")
    if step < 1 or (high - low) % step:
        raise InvalidInput("--space", f"{text!r}: STEP must be at least 1 and divide HIGH - LOW")
    return IntRange(name, low, high, step)


def _decimal_range(text: str, name: str, parts: list[str]) -> DecimalRange:
    if len(parts) not in (2, 3):
        raise InvalidInput("--space", f"{text!r}: float takes LOW:HIGH or LOW:HIGH:STEP")
    try:
        low, high, *step = (_float_exact(decimal_field(p, "--space")) for p in parts)
    except InvalidInput as error:
        raise InvalidInput("--space", f"{text!r}: {error.rule}") from None
    if low >= high:
        raise InvalidInput("--space", f"{text!r}: LOW must be less than HIGH")
    if step and (step[0] <= 0 or (high - low) % step[0]):
        raise InvalidInput("--space", f"{text!r}: STEP must be more than 0 and divide HIGH - LOW")
    return DecimalRange(name, low, high, step[0] if step else None)


def _float_exact(value: Decimal) -> Decimal:
    """``value``, if a float holds it exactly enough to give it back (Optuna samples floats)."""
    try:
        if Decimal(repr(float(value))) != value:
            raise InvalidInput("--space", f"{plain(value)} has more digits than a float keeps")
    except (OverflowError, InvalidOperation):
        raise InvalidInput("--space", f"{plain(value)} is out of a float's range") from None
    return value


def _choice(text: str, name: str, parts: list[str]) -> Choice:
    choices = tuple(param_value(p.strip()) for p in parts)
    if len(choices) < 2 or any(c == "" for c in choices):
        raise InvalidInput("--space", f"{text!r}: cat takes two or more values A,B,... (one is a --param)")
    if len(set(choices)) != len(choices):
        raise InvalidInput("--space", f"{text!r}: a value is listed twice")
    return Choice(name, choices)


def parse_objective(name: str) -> str:
    if name not in OBJECTIVES:
        raise InvalidInput("--objective", f"must be one of {', '.join(OBJECTIVES)}, not {name!r}")
    return name


@dataclass(frozen=True)
class Constraint:
    """A bound on one figure: ``figure <= bound`` or ``figure >= bound``."""

    figure: str
    operator: Literal["<=", ">="]
    bound: Decimal

    def violation(self, performance: Performance) -> Decimal | None:
        """How far the figure is past the bound (0 or less: within it); None when the figure is
        undefined."""
        value = getattr(performance, self.figure)
        if value is None:
            return None
        return Decimal(value) - self.bound if self.operator == "<=" else self.bound - Decimal(value)

    def text(self) -> str:
        return f"{self.figure}{self.operator}{plain(self.bound)}"


def parse_constraint(text: str) -> Constraint:
    """One ``--constraint``, e.g. ``max_drawdown<=0.2`` or ``trades>=10``."""
    found = _CONSTRAINT.fullmatch(text)
    if found is None:
        raise InvalidInput("--constraint", f"{text!r} must be FIGURE<=NUMBER or FIGURE>=NUMBER")
    figure, operator, bound = found.groups()
    if figure not in FIGURES:
        raise InvalidInput("--constraint", f"{text!r}: the figure must be one of {', '.join(FIGURES)}")
    try:
        number = decimal_field(bound, "--constraint")
    except InvalidInput as error:
        raise InvalidInput("--constraint", f"{text!r}: {error.rule}") from None
    return Constraint(figure, ">=" if operator == ">=" else "<=", number)
