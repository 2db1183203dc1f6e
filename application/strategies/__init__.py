"""The strategy library: pure strategy plug-ins (base.py), the catalog that finds them through the
``tbot.strategies`` entry points (catalog.py), indicator helpers (indicators.py) and the built-ins
(builtin/). See docs/strategies.md."""
