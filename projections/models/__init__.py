"""The read models: what a row is and which events change it. One module per model (its tables, a
handler per event type, the event types it ignores), the base they share, and the catalogue of
all of them by name. Nothing here reads or writes a database by itself: the engine does."""
