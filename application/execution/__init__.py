"""The execution process manager: takes placed orders to their exchange account and brings back
what happens there, through the same command handlers as everything else.

- ``manager``: reads the event store after its own tracking position. On ``Order.Placed`` it takes
  the order on (saved as working before anything is sent) and places it; on
  ``Order.CancelRequested`` it cancels at the exchange. On start-up, before it reads anything new,
  it reconciles every order it was following with the exchange; what it records then has the
  actor ``system:reconciliation``.
- ``placing``: submits (recorded as submitted first), cancels, and looks up an order whose outcome
  is unknown, sending it again only once its submission can no longer reach the exchange.
- ``recorder`` and ``reports``: an exchange's answer recorded as commands, and which failures to
  record are final.
- ``following``: polls each account's open orders per symbol, watches order streams, sweeps.
- ``orders``: what is known of each working order during a run, and how work on one is run;
  ``state``: what is kept between runs (the ports the infrastructure implements).

Exactly once: the order aggregate's ``sent`` state (recorded before sending), the client order id
(the exchange's own duplicate check), one holder of the execution lock at a time, and a tracking
position saved with the working orders only after a batch is done (a batch done twice finds its
orders already sent, and looks them up instead), each exchange answer recorded in one transaction
and never an order ended before its trades (``recorder``), and an answer that cannot be recorded
now asked for again shortly."""

from application.execution.manager import ExecutionManager
from application.execution.reports import EXECUTION_ACTOR, RECONCILIATION_ACTOR
from application.execution.settings import ExecutionSettings

__all__ = ["EXECUTION_ACTOR", "RECONCILIATION_ACTOR", "ExecutionManager", "ExecutionSettings"]
