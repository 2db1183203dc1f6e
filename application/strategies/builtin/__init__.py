"""The strategies tbot ships, registered like any other through the ``tbot.strategies`` entry
points in pyproject.toml."""
