"""The projection engine: reads the event store in order, applies batches to the models with their
tracking positions in the same transaction, rebuilds a model into a new generation and swaps it
in, verifies, reports status, and serves the live feed. Storage is reached through the ports in
projections/ports.py; the adapters are in infrastructure/read_store/."""
