"""Read models built from the event store (issue 3)."""
