"""The outbox worker: sends what is due, on the node's own thread (never the event loop).

Each round claims due messages in one short write transaction (marking them ``sending`` and
counting the attempt), sends each outside any transaction, and records what happened in another.
A message found ``sending`` when the node starts was being sent when the node stopped: it may have
gone out, so it is marked ``interrupted`` and never sent again by itself (staff may send it again):
a message is never sent twice. Quiet hours and the limits per recipient and per channel move a
message's ``not_before`` on; a temporary failure (the SMTP server refuses, times out or is
unreachable: the campus may be offline) is retried with exponential backoff up to
``max_attempts``; a permanent one fails the message at once.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from campus.node.context import NodeContext
from campus.node.notify.channels import Outgoing, Permanent, Senders, SendFailure, Temporary
from campus.node.notify.rules import backoff, over_limit, quiet_until
from campus.node.notify.templates import KINDS
from campus.node.store import NodeStore
from campus.schema.errors import Conflict, NotFound
from campus.schema.tables import outbox
from campus.schema.times import utc_text
from campus.sync.capture import UnitOfWork

log = logging.getLogger("campus.notify")
BATCH = 50
INTERRUPTED = "the node stopped while sending it: it may have gone out, so it is not sent again by itself"
SECRET_SENT = "••••••"  # what is kept of a secret message (a sign-in code) once it went out
RECIPIENT_WAIT = timedelta(minutes=10)  # a recipient at their hourly limit: look again then
CHANNEL_WAIT = timedelta(seconds=60)


def recover(store: NodeStore) -> int:
    """At start: messages left ``sending`` by a node that stopped become ``interrupted``."""
    with store.write() as conn:
        return conn.execute(update(outbox).where(outbox.c.status == "sending")
                            .values(status="interrupted", last_error=INTERRUPTED)).rowcount


def _claim(store: NodeStore, ctx: NodeContext, limit: int) -> list[dict[str, Any]]:
    settings = ctx.notify
    now = ctx.now()
    now_text = utc_text(now)
    quiet = quiet_until(ctx.local(now), settings.quiet_start, settings.quiet_end)
    claimed = []
    with store.write() as conn:
        due = conn.execute(select(outbox).where(outbox.c.status == "queued", outbox.c.not_before <= now_text)
                           .order_by(outbox.c.not_before, outbox.c.id).limit(limit)).mappings().all()
        hour_ago, minute_ago = utc_text(now - timedelta(hours=1)), utc_text(now - timedelta(minutes=1))
        by_recipient: Counter[str] = Counter()
        by_channel: Counter[str] = Counter()
        for message in due:
            later = None
            if quiet is not None and not KINDS[message["kind"]].urgent:
                later = quiet
            else:
                to_recipient = by_recipient[message["recipient"]] + conn.execute(select(func.count()).where(
                    outbox.c.recipient == message["recipient"], outbox.c.sent_at >= hour_ago)).scalar_one()
                on_channel = by_channel[message["channel"]] + conn.execute(select(func.count()).where(
                    outbox.c.channel == message["channel"], outbox.c.sent_at >= minute_ago)).scalar_one()
                broken = over_limit(to_recipient, on_channel, settings)
                if broken:
                    later = now + (RECIPIENT_WAIT if broken == "recipient" else CHANNEL_WAIT)
            if later is not None:
                conn.execute(update(outbox).where(outbox.c.id == message["id"]).values(not_before=utc_text(later)))
                continue
            conn.execute(update(outbox).where(outbox.c.id == message["id"])
                         .values(status="sending", attempts=message["attempts"] + 1))
            by_recipient[message["recipient"]] += 1
            by_channel[message["channel"]] += 1
            claimed.append({**dict(message), "attempts": message["attempts"] + 1})
    return claimed


def _record(store: NodeStore, message_id: str, values: dict[str, Any]) -> None:
    with store.write() as conn:
        conn.execute(update(outbox).where(outbox.c.id == message_id).values(**values))


def _deliver(store: NodeStore, ctx: NodeContext, senders: Senders, message: dict[str, Any]) -> str:
    sender = senders.for_channel(message["channel"])
    outgoing = Outgoing(message["id"], message["recipient"], message["subject"], message["body"])
    try:
        if sender is None:
            raise Permanent(f"the {message['channel']} channel is not set up at this campus")
        reference = sender.send(outgoing)
    except SendFailure as exc:
        return _failed(store, ctx, message, exc)
    except Exception as exc:  # an adapter's own fault must not leave the message "sending": retried, logged
        log.exception("sending outbox message %s", message["id"])
        return _failed(store, ctx, message, Temporary(f"{exc.__class__.__name__}: {exc}"))
    sent = {"status": "sent", "sent_at": utc_text(ctx.now()), "provider_ref": reference[:200], "last_error": None}
    if message["secret"]:
        sent["body"] = SECRET_SENT
    _record(store, message["id"], sent)
    return "sent"


def _failed(store: NodeStore, ctx: NodeContext, message: dict[str, Any], failure: SendFailure) -> str:
    settings = ctx.notify
    final = isinstance(failure, Permanent) or message["attempts"] >= settings.max_attempts
    values: dict[str, Any] = {"status": "failed" if final else "queued", "last_error": str(failure)[:1000]}
    if not final:
        values["not_before"] = utc_text(ctx.now() + backoff(message["attempts"], settings.retry_seconds))
    elif message["secret"]:
        values["body"] = SECRET_SENT  # a code that never went out is of no use to anyone
    _record(store, message["id"], values)
    return "failed" if final else "retry"


def send_due(store: NodeStore, ctx: NodeContext, senders: Senders, limit: int = BATCH) -> dict[str, int]:
    """One round: send what is due; returns how many were sent, will be retried, failed."""
    done: Counter[str] = Counter()
    for message in _claim(store, ctx, limit):
        done[_deliver(store, ctx, senders, message)] += 1
    return dict(done)


def requeue(uow: UnitOfWork, message_id: str, now_text: str) -> dict[str, Any]:
    """A failed or interrupted message queued again by staff (they judged it did not go out)."""
    row = uow.conn.execute(select(outbox).where(outbox.c.id == message_id)).mappings().first()
    if row is None:
        raise NotFound(f"no message {message_id}", message_id=message_id)
    if row["status"] not in ("failed", "interrupted") or row["secret"]:
        raise Conflict("only a failed or interrupted message (not a sign-in code) can be sent again",
                       field="status", status=row["status"])
    uow.conn.execute(update(outbox).where(outbox.c.id == message_id)
                     .values(status="queued", attempts=0, not_before=now_text, last_error=None))
    return {**dict(row), "status": "queued", "attempts": 0, "not_before": now_text}
