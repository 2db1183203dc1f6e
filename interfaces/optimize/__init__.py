"""Parameter optimisation (`tbot optimize run`): the search space and constraints (``space``), the
in-sample and out-of-sample parts of the history (``windows``), the Optuna study over backtests
(``study``) and what it found (``result``)."""
