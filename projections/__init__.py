"""The read side: ``models/`` (what a row is and which events change it), ``engine/`` (how events
reach the models: reading the store, batches with their tracking, rebuilds, audit, status, the
feed's source), ``ports.py`` (the storage they need, served by infrastructure/read_store/),
``queries.py`` (every query, for the API and the command line), and the projection worker."""
