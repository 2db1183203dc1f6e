"""POST /v1/bots/{bot_id}/signals on a real `tbot serve` and projection worker (PostgreSQL and
Redis): a signal message is traded through the bot's risk rules, its orders readable at the
position the answer gives, its events on the owner's live feed; repeats, edits, other people's
bots, bots that do not follow signals and bad bodies are answered without anything half-written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from infrastructure.settings import Settings
from tests.support.api import LIMITS, Api, api_on
from tests.support.fake_llm import FREE_TEXT, FREE_TEXT_READING, FakeLlm
from tests.support.feed import FeedClient

pytestmark = pytest.mark.postgres

ZONE = "BTC/USDT LONG 🚀\nEntry: 49800 - 50000\nSL: 48000\nTP1: 52000\nTP2: 55000"


@pytest.fixture(scope="module")
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    settings: Settings = request.getfixturevalue("module_postgres_redis_settings")
    with api_on(settings, {"alice": "trader", "bob": "trader"}) as running:
        yield running


def signals_bot(api: Api, user: str = "alice") -> str:
    return api.create_bot(user, strategy="signals", params={"quote_amount": "1000"}, limits=LIMITS)


def post(api: Api, user: str, bot_id: str, **body: Any) -> Any:
    with api.client(user) as http:
        return http.post(f"/v1/bots/{bot_id}/signals", json=body)


def test_a_signal_is_traded_and_its_orders_and_events_are_readable_at_its_position(api: Api) -> None:
    bot_id = signals_bot(api)
    answer = post(api, "alice", bot_id, text=ZONE, source="vip-channel", message_id="101")
    assert answer.status_code == 201, answer.text
    signal = answer.json()
    assert (signal["status"], signal["changed"], len(signal["orders"]), signal["denied"]) == (
        "executed",
        True,
        2,
        [],
    )
    with api.client("alice") as http:
        listed = http.get("/v1/orders", params={"bot_id": bot_id, "min_position": signal["position"]})
    assert listed.status_code == 200, listed.text
    orders = {order["order_id"]: order for order in listed.json()["items"]}
    assert set(orders) == set(signal["orders"])
    assert {(o["price"], o["quantity"]) for o in orders.values()} == {("49800", "0.01004"), ("50000", "0.01")}
    with FeedClient(api, "alice", after=signal["position"] - 7) as feed:
        events = [e["event"] for e in feed.events_through(signal["position"])]
    assert events[:3] == ["Signal.Received", "Signal.Parsed", "Signal.Executed"]
    assert events.count("Order.Placed") == 2


def test_the_same_message_again_answers_its_first_outcome_and_an_edit_replaces_the_plan(api: Api) -> None:
    bot_id = signals_bot(api)
    first = post(api, "alice", bot_id, text=ZONE, source="vip-channel", message_id="7").json()
    again = post(api, "alice", bot_id, text=ZONE, source="vip-channel", message_id="7")
    assert again.status_code == 201 and again.json()["changed"] is False
    assert again.json()["orders"] == first["orders"] and again.json()["position"] >= first["position"]
    edited = post(
        api, "alice", bot_id, text=ZONE.replace("48000", "47000"), source="vip-channel", message_id="7"
    )
    assert edited.status_code == 201, edited.text
    assert set(edited.json()["cancelled"]) == set(first["orders"]) and len(edited.json()["orders"]) == 2


def test_an_unreadable_message_is_taken_and_recorded_rejected(api: Api) -> None:
    bot_id = signals_bot(api)
    answer = post(api, "alice", bot_id, text="BTC/USDT LONG Entry 50000 SL 51000 TP 52000")
    assert answer.status_code == 201, answer.text
    assert (answer.json()["status"], answer.json()["reasons"]) == ("rejected", ["STOP_LOSS_WRONG_SIDE"])


def test_refusals_name_the_field_and_record_nothing(api: Api) -> None:
    manual = api.create_bot("alice")
    refused = post(api, "alice", manual, text=ZONE)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["problems"][0]["field"] == "path.bot_id"
    for body, field in (
        ({}, "body.text"),
        ({"text": ""}, "body.text"),
        ({"text": ZONE, "source": "a b"}, "body.source"),
    ):
        bad = post(api, "alice", signals_bot(api), **body)
        assert bad.status_code == 422, bad.text
        assert bad.json()["error"]["problems"][0]["field"] == field
    bobs = post(api, "bob", signals_bot(api, "alice"), text=ZONE)
    assert bobs.status_code == 404, bobs.text


def test_free_text_the_rules_cannot_read_is_read_by_the_configured_llm_and_traded(
    module_postgres_redis_settings: Settings,
) -> None:
    with FakeLlm() as llm:
        env = {"TBOT_SIGNALS_LLM_URL": llm.url, "TBOT_SIGNALS_LLM_TIMEOUT_SECONDS": "5"}
        with api_on(module_postgres_redis_settings, {"carol": "trader"}, **env) as api:
            bot_id = signals_bot(api, "carol")
            llm.answer(FREE_TEXT_READING)
            read = post(api, "carol", bot_id, text=FREE_TEXT, message_id="f1")
            assert read.status_code == 201, read.text
            assert (read.json()["status"], read.json()["reader"], len(read.json()["orders"])) == (
                "executed",
                "llm",
                1,
            )
            ruled = post(api, "carol", bot_id, text=ZONE, message_id="f2")  # the rules read it: no LLM call
            assert ruled.json()["reader"] == "rules" and len(llm.requests) == 1
            again = post(api, "carol", bot_id, text=FREE_TEXT, message_id="f1")
            assert again.json()["changed"] is False and len(llm.requests) == 1


def test_a_bots_signals_are_listed_in_order_with_what_became_of_each(api: Api) -> None:
    bot_id = signals_bot(api)
    traded = post(api, "alice", bot_id, text=ZONE, source="vip-channel", message_id="1").json()
    refused = post(api, "alice", bot_id, text="BTC/USDT LONG Entry 50000 SL 51000 TP 52000", message_id="2")
    edited = post(
        api, "alice", bot_id, text=ZONE.replace("48000", "47000"), source="vip-channel", message_id="1"
    ).json()
    called_off = post(api, "alice", bot_id, text="BTC/USDT cancel", source="vip-channel", message_id="3")
    assert called_off.status_code == 201, called_off.text
    with api.client("alice") as http:
        listed = http.get(
            f"/v1/bots/{bot_id}/signals", params={"min_position": called_off.json()["position"]}
        )
        only_rejected = http.get(f"/v1/bots/{bot_id}/signals", params={"status": "rejected"})
    assert listed.status_code == 200, listed.text
    first, second, third = listed.json()["items"]
    assert (first["message_id"], first["status"], first["edits"], first["last_edit"]) == (
        "1",
        "executed",
        1,
        "applied",
    )
    assert (first["symbol"], first["side"], first["entry_kind"], first["entries"]) == (
        "BTC/USDT",
        "buy",
        "zone",
        ["49800", "50000"],
    )
    assert (first["stop_loss"], first["take_profits"], first["reader"]) == (
        "47000",
        [{"price": "52000", "fraction": None}, {"price": "55000", "fraction": None}],
        "rules",
    )
    assert first["orders"] == edited["orders"] and set(first["cancelled"]) == set(traded["orders"])
    assert (second["status"], second["reasons"], second["symbol"]) == (
        "rejected",
        ["STOP_LOSS_WRONG_SIDE"],
        None,
    )
    assert refused.json()["status"] == "rejected"
    assert (third["action"], third["symbol"], third["status"]) == ("cancel", "BTC/USDT", "executed")
    assert set(third["cancelled"]) == set(edited["orders"])
    assert [s["message_id"] for s in only_rejected.json()["items"]] == ["2"]


def test_another_users_bot_has_no_signals_to_show(api: Api) -> None:
    bot_id = signals_bot(api, "alice")
    with api.client("bob") as http:
        assert http.get(f"/v1/bots/{bot_id}/signals").status_code == 404
        bad = http.get(f"/v1/bots/{bot_id}/signals", params={"status": "done"})
    assert bad.status_code == 422 and bad.json()["error"]["problems"][0]["field"] == "query.status"
