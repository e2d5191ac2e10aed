"""A node's outbox as its configuration sets it up: the channels it sends through and the two jobs
(queue what fell due; send what is queued), started with the node."""

from __future__ import annotations

from pathlib import Path

from campus.node.config import NodeConfig
from campus.node.context import NodeContext
from campus.node.notify.channels import FileSink, Senders, SmtpMailer, SmtpSettings
from campus.node.notify.use_cases import queue_due
from campus.node.notify.worker import recover, send_due
from campus.node.store import NodeStore
from campus.web.jobs import Jobs

DUE_EVERY_SECONDS = 300  # birthdays, tomorrow's lessons, low hours... looked for every five minutes


def senders_for(config: NodeConfig) -> Senders:
    sms = None
    if config.notify_sms_adapter == "file":
        path = Path(config.notify_sms_file)
        sms = FileSink(path if path.is_absolute() else config.directory / path)
    email = None
    if config.notify_smtp_host:
        email = SmtpMailer(SmtpSettings(config.notify_smtp_host, config.notify_smtp_port, config.notify_smtp_username,
                                        config.notify_smtp_password, config.notify_smtp_starttls,
                                        config.notify_smtp_timeout_seconds, config.notify_mail_from))
    return Senders(sms, email)


def start_outbox(jobs: Jobs, config: NodeConfig, store: NodeStore, ctx: NodeContext) -> None:
    """Mark what a stopped node left half-sent, then run the jobs ([notify] worker_seconds 0: none,
    e.g. a node whose messages another process sends, or a test that sends by hand)."""
    recover(store)
    if config.notify_worker_seconds <= 0:
        return
    senders = senders_for(config)
    jobs.every(DUE_EVERY_SECONDS, "notify-due", lambda: queue_due(store, ctx))
    jobs.every(config.notify_worker_seconds, "outbox", lambda: send_due(store, ctx, senders), quiet=True)
