"""Entry points: the `tbot` CLI, the HTTP API and live feed, and the workers' commands."""
