"""The notification outbox: templates with named fields, messages queued in the transaction of the
fact that causes them, and the worker that sends them by e-mail (SMTP) and SMS (an adapter)."""
