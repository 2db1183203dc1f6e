"""Notifications: what tbot tells a user, where it goes, and delivering it with retries.

``ports`` holds the value types (``Notification``, the destinations, ``Delivery``), the ``Channel``
port each delivery channel implements (webhook, email, Telegram: ``infrastructure/notify``), the
retry policy and ``deliver``, which retries one notification on one channel (docs/notifications.md).
"""
