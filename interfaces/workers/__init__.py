"""The worker layer: every long-running worker (projections, execution, protection, market data)
is a job run by one supervised loop (``supervisor.Supervisor``): ownership by a lock, turns of
work, back-off through outages, health, and stop. ``threads`` runs workers beside the API or
until a signal; the CLI commands only choose which."""
