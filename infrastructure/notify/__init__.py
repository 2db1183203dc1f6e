"""Delivery channels for notifications (the ``Channel`` port in application/notifications/ports.py):
``webhook`` (signed JSON POST, httpx), ``email`` (SMTP, smtplib in a thread) and ``telegram``
(python-telegram-bot). Guide: docs/notifications.md."""
