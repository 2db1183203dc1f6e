"""The one map from command type to its handler, and the one place every command passes (its
type, outcome and time are measured here)."""

from __future__ import annotations

import time
from typing import Any, overload

from application import commands as c
from application.errors import OrderDenied
from application.handlers.base import Handler, HandlerDeps
from application.handlers.bots import (
    CreateBotHandler,
    PauseBotHandler,
    RecordDecisionHandler,
    ResetKillSwitchHandler,
    ResumeBotHandler,
    StartBotHandler,
    StopBotHandler,
    TripKillSwitchHandler,
    UpdateRiskLimitsHandler,
    UpdateStrategyParamsHandler,
)
from application.handlers.execution import (
    RecordCancelRejectedHandler,
    RecordExchangeAnswerHandler,
    RecordFillHandler,
    RecordOrderAcceptedHandler,
    RecordOrderCancelledHandler,
    RecordOrderExpiredHandler,
    RecordOrderRejectedHandler,
    RecordOrderSubmittedHandler,
)
from application.handlers.orders import CancelOrderHandler, PlaceOrderHandler
from application.handlers.protection import RecordProtectionFiredHandler
from application.handlers.signals import ReceiveSignalHandler
from application.metrics import NO_METRICS, CommandMetrics, command_outcome
from application.results import Ack, AnswerAck, DecisionAck, FillAck, OrderAck, SignalAck

Result = Ack | OrderAck | FillAck | AnswerAck | DecisionAck | SignalAck

HANDLERS: dict[type[c.Command], type[Handler[Any, Any]]] = {
    c.CreateBot: CreateBotHandler,
    c.StartBot: StartBotHandler,
    c.PauseBot: PauseBotHandler,
    c.ResumeBot: ResumeBotHandler,
    c.StopBot: StopBotHandler,
    c.UpdateRiskLimits: UpdateRiskLimitsHandler,
    c.TripKillSwitch: TripKillSwitchHandler,
    c.ResetKillSwitch: ResetKillSwitchHandler,
    c.UpdateStrategyParams: UpdateStrategyParamsHandler,
    c.RecordDecision: RecordDecisionHandler,
    c.PlaceOrder: PlaceOrderHandler,
    c.ReceiveSignal: ReceiveSignalHandler,
    c.CancelOrder: CancelOrderHandler,
    c.RecordOrderSubmitted: RecordOrderSubmittedHandler,
    c.RecordOrderAccepted: RecordOrderAcceptedHandler,
    c.RecordOrderRejected: RecordOrderRejectedHandler,
    c.RecordFill: RecordFillHandler,
    c.RecordExchangeAnswer: RecordExchangeAnswerHandler,
    c.RecordOrderCancelled: RecordOrderCancelledHandler,
    c.RecordCancelRejected: RecordCancelRejectedHandler,
    c.RecordOrderExpired: RecordOrderExpiredHandler,
    c.RecordProtectionFired: RecordProtectionFiredHandler,
}


class CommandBus:
    """Sends each command to its handler, and tells ``metrics`` how it ended. Handlers keep no
    per-request state, so one bus serves any number of threads."""

    def __init__(self, deps: HandlerDeps, metrics: CommandMetrics = NO_METRICS) -> None:
        self.store = deps.store
        self.metrics = metrics
        self._handlers = {command: handler(deps) for command, handler in HANDLERS.items()}

    @overload
    def dispatch(
        self,
        command: c.CreateBot
        | c.StartBot
        | c.PauseBot
        | c.ResumeBot
        | c.StopBot
        | c.UpdateRiskLimits
        | c.TripKillSwitch
        | c.ResetKillSwitch
        | c.UpdateStrategyParams
        | c.RecordProtectionFired,
    ) -> Ack: ...

    @overload
    def dispatch(self, command: c.RecordDecision) -> DecisionAck: ...

    @overload
    def dispatch(
        self,
        command: c.PlaceOrder
        | c.CancelOrder
        | c.RecordOrderSubmitted
        | c.RecordOrderAccepted
        | c.RecordOrderRejected
        | c.RecordOrderCancelled
        | c.RecordCancelRejected
        | c.RecordOrderExpired,
    ) -> OrderAck: ...

    @overload
    def dispatch(self, command: c.RecordFill) -> FillAck: ...

    @overload
    def dispatch(self, command: c.RecordExchangeAnswer) -> AnswerAck: ...

    @overload
    def dispatch(self, command: c.ReceiveSignal) -> SignalAck: ...

    def dispatch(self, command: c.Command) -> Result:
        handler = self._handlers.get(type(command))
        if handler is None:
            raise TypeError(f"no handler for {type(command).__name__}")
        started = time.perf_counter()
        try:
            result: Result = handler(command)
        except Exception as error:
            self._measure(command, started, error)
            if isinstance(error, OrderDenied):
                self.metrics.risk_denied(code.value for code in error.reason_codes)
            raise
        self._measure(command, started, None)
        if isinstance(result, DecisionAck | SignalAck) and result.changed:  # not an answer repeated
            for _, reasons in result.denied:  # the orders a decision or signal asked for, refused
                self.metrics.risk_denied(reasons)
            if isinstance(result, SignalAck):
                self.metrics.signal_received(result.status)
        return result

    def _measure(self, command: c.Command, started: float, error: Exception | None) -> None:
        seconds = time.perf_counter() - started
        self.metrics.command_done(type(command).__name__, command_outcome(error), seconds)
