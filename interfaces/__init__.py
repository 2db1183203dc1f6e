"""Entry points: the CLI now; the HTTP API and live feed later."""
