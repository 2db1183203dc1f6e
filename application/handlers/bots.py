"""Handlers of the bot commands: creation, lifecycle, limits, kill switch (tripping it also asks
for the cancel of the bot's open orders, in the same transaction)."""

from __future__ import annotations

from abc import abstractmethod
from decimal import Decimal
from typing import TypeVar

from application.commands import (
    BotCommand,
    CreateBot,
    PauseBot,
    RecordDecision,
    ResetKillSwitch,
    ResumeBot,
    StartBot,
    StopBot,
    TripKillSwitch,
    UpdateRiskLimits,
    UpdateStrategyParams,
)
from application.errors import IdempotencyMismatch, InvalidInput, OrderDenied
from application.handlers.base import Handler
from application.handlers.orders import admit, cancel_open_orders
from application.results import Ack, DecisionAck
from domain.bot import Bot
from domain.ids import BotId, ClientOrderId, bot_id_for_key, order_id_for, user_id
from domain.order import Order
from domain.order_states import OrderStatus
from domain.orders import OrderRequest, parse_order_request
from domain.risk import parse_risk_limits
from domain.strategy import Cancel, Place, intent_from_plain, strategy_client_order_id
from domain.values import Stamp, Symbol


class CreateBotHandler(Handler[CreateBot, Ack]):
    def execute(self, command: CreateBot, stamp: Stamp) -> Ack:
        owner = user_id(command.actor)
        fields = Bot.creation_fields(command.name, command.strategy, command.params, command.exchange_account)
        fields["params"] = self.deps.strategies.validate(fields["strategy"], fields["params"])
        symbols = [Symbol.parse(s, f"allowed_symbols[{i}]") for i, s in enumerate(command.allowed_symbols)]
        if command.idempotency_key is not None:
            bot_id = bot_id_for_key(owner, command.idempotency_key)
            existing = self.store.find(Bot, bot_id, read_only=True)
            if existing is not None:
                created = {name: getattr(existing, name) for name in fields}
                if created != fields or existing.allowed_symbols != [str(s) for s in symbols]:
                    raise IdempotencyMismatch(f"idempotency key {command.idempotency_key}")
                return Ack(bot_id, self.store.last_position(), changed=False)
        else:
            bot_id = BotId(self.deps.ids.new_id())
        if not self.deps.accounts.exists(fields["exchange_account"]):
            raise InvalidInput(
                "exchange_account",
                "must be a paper account ('paper' or 'paper:<name>') or an exchange account added "
                "with `tbot accounts add`",
            )
        bot = Bot.create(
            bot_id=bot_id,
            owner=owner,
            name=command.name,
            strategy=fields["strategy"],
            params=fields["params"],
            exchange_account=fields["exchange_account"],
            allowed_symbols=symbols,
            limits=parse_risk_limits(command.limits),
            stamp=stamp,
        )
        return Ack(bot_id, self.store.record(bot), changed=True)


B = TypeVar("B", bound=BotCommand)


class _BotChange(Handler[B, Ack]):
    """Loads the bot, applies one change, saves it; a change that alters nothing appends nothing."""

    def execute(self, command: B, stamp: Stamp) -> Ack:
        bot = self.store.load(Bot, command.bot_id, "bot")
        changed = self.change(bot, command, stamp)
        return Ack(bot.id, self.store.record(bot), changed)

    @abstractmethod
    def change(self, bot: Bot, command: B, stamp: Stamp) -> bool:
        """Applies the command to the bot; False when it changed nothing."""


class StartBotHandler(_BotChange[StartBot]):
    def change(self, bot: Bot, command: StartBot, stamp: Stamp) -> bool:
        bot.start(stamp)
        return True


class PauseBotHandler(_BotChange[PauseBot]):
    def change(self, bot: Bot, command: PauseBot, stamp: Stamp) -> bool:
        bot.pause(stamp)
        return True


class ResumeBotHandler(_BotChange[ResumeBot]):
    def change(self, bot: Bot, command: ResumeBot, stamp: Stamp) -> bool:
        bot.resume(stamp)
        return True


class StopBotHandler(_BotChange[StopBot]):
    def change(self, bot: Bot, command: StopBot, stamp: Stamp) -> bool:
        bot.stop(stamp)
        return True


class UpdateRiskLimitsHandler(_BotChange[UpdateRiskLimits]):
    def change(self, bot: Bot, command: UpdateRiskLimits, stamp: Stamp) -> bool:
        bot.update_limits(parse_risk_limits(command.limits), stamp)
        return True


class TripKillSwitchHandler(Handler[TripKillSwitch, Ack]):
    """Trips the switch and asks for the cancel of every open order of the bot, saved together."""

    def execute(self, command: TripKillSwitch, stamp: Stamp) -> Ack:
        bot = self.store.load(Bot, command.bot_id, "bot")
        changed = bot.trip_kill_switch(command.reason, stamp)
        cancels = cancel_open_orders(self.store, bot, stamp) if changed else []
        return Ack(bot.id, self.store.record(bot, *cancels), changed)


class ResetKillSwitchHandler(_BotChange[ResetKillSwitch]):
    def change(self, bot: Bot, command: ResetKillSwitch, stamp: Stamp) -> bool:
        return bot.reset_kill_switch(command.reason, stamp)


class UpdateStrategyParamsHandler(_BotChange[UpdateStrategyParams]):
    """New parameters for the bot's strategy, as the strategy takes them (refused, naming the
    parameter, when it does not)."""

    def change(self, bot: Bot, command: UpdateStrategyParams, stamp: Stamp) -> bool:
        return bot.change_params(self.deps.strategies.validate(bot.strategy, command.params), stamp)


class RecordDecisionHandler(Handler[RecordDecision, DecisionAck]):
    """Records a strategy's decision on a closed candle and, in the same transaction, what it asks
    for: each order risk-checked and placed or denied as ``PlaceOrder`` would (client order ids
    ``s-<candle>-<index>``), each cancel asked for as ``CancelOrder`` would. A decision on a
    candle no later than the bot's last one records nothing: the candle was decided on, with its
    orders, already."""

    def execute(self, command: RecordDecision, stamp: Stamp) -> DecisionAck:
        bot = self.store.load(Bot, command.bot_id, "bot")
        if not bot.record_decision(
            command.timeframe, command.candle_at, command.params_hash, command.intents, stamp
        ):
            return DecisionAck(bot.id, self.store.last_position(), changed=False)
        orders: list[Order] = []
        denied: list[tuple[str, tuple[str, ...]]] = []
        for index, plain in enumerate(command.intents):
            intent = intent_from_plain(plain)
            if isinstance(intent, Cancel):
                order = self._cancelled(bot, intent.client_order_id, stamp)
                if order is not None:
                    orders.append(order)
                continue
            if not isinstance(intent, Place):
                raise InvalidInput(
                    f"intents[{index}]", "must be a place or a cancel (a close is made a place)"
                )
            request = _request(intent, strategy_client_order_id(command.candle_at, index))
            decided = admit(self.deps, bot, request, stamp)
            if isinstance(decided, OrderDenied):
                denied.append((decided.client_order_id, tuple(code.value for code in decided.reason_codes)))
            else:
                orders.append(decided)
        position = self.store.record(bot, *orders)
        placed = tuple(order.id for order in orders if order.version == 1)
        return DecisionAck(bot.id, position, True, placed, tuple(denied))

    def _cancelled(self, bot: Bot, client_order_id: str, stamp: Stamp) -> Order | None:
        order = self.store.find(Order, order_id_for(bot.bot_id, ClientOrderId(client_order_id)))
        if order is None or not order.status.is_open or not order.request_cancel(stamp):
            return None
        if order.status is OrderStatus.CANCELLED:  # never sent: cancelled at once, released
            bot.release_order(order.order_id, order.status.value, stamp)
        return order


def _request(intent: Place, client_order_id: str) -> OrderRequest:
    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return parse_order_request(
        client_order_id=client_order_id,
        symbol=str(intent.symbol),
        side=intent.side.value,
        order_type=intent.order_type.value,
        quantity=str(intent.quantity),
        price=text(intent.price),
        stop_price=text(intent.stop_price),
        time_in_force="GTC",
        stop_loss=text(intent.stop_loss),
        take_profit=text(intent.take_profit),
    )
