"""The HTTP interface: one FastAPI application with the command API, the query API and health."""
