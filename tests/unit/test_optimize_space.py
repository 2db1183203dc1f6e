"""`tbot optimize run`'s search space and constraints: what each text means, the decimals a sampled
float stands for, and bad text refused naming the option and the rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import optuna
import pytest

from domain.errors import InvalidInput
from domain.performance import measure
from interfaces.optimize.space import (
    Choice,
    Constraint,
    DecimalRange,
    IntRange,
    parse_constraint,
    parse_objective,
    parse_space,
)


def test_each_kind_of_dimension_is_read_with_its_bounds_and_step() -> None:
    space = parse_space(
        [
            "fast=int:5:50",
            "slow=int:20:200:10",
            "fraction=float:0.1:1:0.05",
            "band=float:0.001:0.5",
            "x=cat:a,7,true",
        ]
    )
    assert space == [
        IntRange("fast", 5, 50),
        IntRange("slow", 20, 200, 10),
        DecimalRange("fraction", Decimal("0.1"), Decimal(1), Decimal("0.05")),
        DecimalRange("band", Decimal("0.001"), Decimal("0.5")),
        Choice("x", ("a", 7, True)),
    ]
    assert [d.text() for d in space] == [
        "int:5:50",
        "int:20:200:10",
        "float:0.1:1:0.05",
        "float:0.001:0.5",
        "cat:a,7,true",
    ]


def test_a_sampled_float_becomes_the_decimal_of_its_step_or_eight_places_within_the_range() -> None:
    stepped = DecimalRange("f", Decimal("0.1"), Decimal(1), Decimal("0.05"))
    assert stepped.decimal(0.30000000000000004) == Decimal("0.30")
    assert stepped.decimal(0.1 + 17 * 0.05) == Decimal("0.95")
    assert stepped.decimal(1.0000000001) == Decimal(1)
    free = DecimalRange("f", Decimal("0.1"), Decimal(1))
    assert free.decimal(0.123456789123) == Decimal("0.12345679")
    assert free.decimal(0.0999999999999) == Decimal("0.1")


def test_the_strategy_is_given_decimal_text_never_a_float() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    stepped = DecimalRange("f", Decimal("0.1"), Decimal(1), Decimal("0.05"))
    free = DecimalRange("g", Decimal("0.1"), Decimal(1))
    for _ in range(30):
        trial = study.ask()
        value, other = stepped.suggest(trial), free.suggest(trial)
        assert isinstance(value, str) and isinstance(other, str)
        assert (Decimal(value) - Decimal("0.1")) % Decimal("0.05") == 0
        assert Decimal("0.1") <= Decimal(other) <= 1 and Decimal(other) == round(Decimal(other), 8)
        study.tell(trial, 0.0)


@pytest.mark.parametrize(
    ("texts", "said"),
    [
        ([], "--space: give at least one parameter"),
        (["fast"], "--space: 'fast' must be name=int:LOW:HIGH"),
        (["fast=int"], "--space: 'fast=int' must be name=int:LOW:HIGH"),
        (["1fast=int:1:2"], "must be name=int:LOW:HIGH"),
        (["fast=range:1:5"], "the kind must be int, float or cat, not 'range'"),
        (["fast=int:5"], "int takes whole numbers LOW:HIGH or LOW:HIGH:STEP"),
        (["fast=int:5:x"], "int takes whole numbers"),
        (["fast=int:5:5"], "LOW must be less than HIGH"),
        (["fast=int:9:5"], "LOW must be less than HIGH"),
        (["fast=int:5:50:0"], "STEP must be at least 1 and divide HIGH - LOW"),
        (["fast=int:5:50:10"], "STEP must be at least 1 and divide HIGH - LOW"),
        (["f=float:0.1"], "float takes LOW:HIGH or LOW:HIGH:STEP"),
        (["f=float:0.1:abc"], "must be a decimal number"),
        (["f=float:1:0.5"], "LOW must be less than HIGH"),
        (["f=float:0.1:1:0.07"], "STEP must be more than 0 and divide HIGH - LOW"),
        (["f=float:0.1:1:-0.1"], "STEP must be more than 0"),
        (["f=float:0.1:0.12345678901234567890"], "has more digits than a float keeps"),
        (["x=cat:a"], "cat takes two or more values"),
        (["x=cat:a,,b"], "cat takes two or more values"),
        (["x=cat:a,b,a"], "a value is listed twice"),
        (["fast=int:1:5", "fast=int:2:9"], "--space: fast is given twice"),
    ],
)
def test_bad_space_text_is_refused_naming_the_option_and_the_rule(texts: list[str], said: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_space(texts)
    assert refused.value.field == "--space"
    assert said in str(refused.value)


def test_the_objective_is_one_of_four_figures() -> None:
    assert parse_objective("calmar") == "calmar"
    with pytest.raises(InvalidInput, match=r"one of sharpe, sortino, calmar, total_return, not 'cagr'"):
        parse_objective("cagr")


def test_a_constraint_measures_how_far_a_figure_is_past_its_bound() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    equity = [Decimal(100), Decimal(80), Decimal(90)]
    figures = measure([(start + timedelta(minutes=n), e) for n, e in enumerate(equity)])  # drawdown 0.2
    at_most = parse_constraint("max_drawdown<=0.25")
    assert at_most == Constraint("max_drawdown", "<=", Decimal("0.25"))
    assert at_most.violation(figures) == Decimal("-0.05")
    assert parse_constraint(" max_drawdown <= 0.1 ").violation(figures) == Decimal("0.1")
    assert parse_constraint("trades>=3").violation(figures) == 3  # no trades: 3 short
    assert parse_constraint("win_rate>=0.5").violation(figures) is None  # undefined without trades
    assert parse_constraint("total_return>=-0.1").text() == "total_return>=-0.1"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("max_drawdown", "must be FIGURE<=NUMBER or FIGURE>=NUMBER"),
        ("max_drawdown<0.2", "must be FIGURE<=NUMBER or FIGURE>=NUMBER"),
        ("drawdown<=0.2", "the figure must be one of final_equity"),
        ("max_drawdown<=lots", "must be a decimal number"),
    ],
)
def test_bad_constraints_are_refused_naming_the_option_and_the_rule(text: str, said: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_constraint(text)
    assert refused.value.field == "--constraint"
    assert said in str(refused.value)
