"""Turns per bot: one thread at a time per bot, other bots not held up, nothing kept after."""

from __future__ import annotations

import threading
from uuid import uuid4

from application.handlers.turns import BotTurns


def test_a_bot_takes_one_turn_at_a_time_and_other_bots_go_on() -> None:
    turns = BotTurns()
    bot, other = uuid4(), uuid4()
    holding, release = threading.Event(), threading.Event()
    entered: list[str] = []

    def hold() -> None:
        with turns.turn(bot):
            holding.set()
            release.wait(5)
            entered.append("first")

    def wait_for(bot_id: object, name: str) -> threading.Thread:
        def run() -> None:
            with turns.turn(bot_id):  # type: ignore[arg-type]
                entered.append(name)

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    first = threading.Thread(target=hold)
    first.start()
    assert holding.wait(5)
    same = wait_for(bot, "same bot")
    elsewhere = wait_for(other, "other bot")
    elsewhere.join(5)
    same.join(0.2)
    assert entered == ["other bot"] and same.is_alive()  # the same bot waits its turn
    release.set()
    for thread in (first, same):
        thread.join(5)
    assert entered == ["other bot", "first", "same bot"]
    assert turns.waiting() == 0  # no lock left behind


def test_no_bot_no_turn() -> None:
    turns = BotTurns()
    with turns.turn(None), turns.turn(None):
        assert turns.waiting() == 0


def test_an_error_in_a_turn_gives_the_turn_up() -> None:
    turns = BotTurns()
    bot = uuid4()
    try:
        with turns.turn(bot):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert turns.waiting() == 0
    with turns.turn(bot):
        assert turns.waiting() == 1
