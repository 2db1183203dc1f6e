"""Read models built from the event store: one module per projection, the workers that run them,
rebuilds and audit."""
