"""The Telegram bot: signal channels and owners' commands (docs/signals.md, "Telegram")."""
