"""How a message leaves the campus: e-mail over SMTP, and SMS through a provider adapter.

An SMS provider is plugged in by writing a class with the :class:`SmsAdapter` interface: ``send``
hands one text to the provider and returns the provider's id for it, raising :class:`Temporary`
when it may be tried again later (the provider is unreachable, busy, rate-limits us) and
:class:`Permanent` when it never will go (a number the provider refuses). It must not retry on its
own: the outbox decides when to try again, and never sends a message it has sent. The one adapter
shipped, :class:`FileSink`, appends each text to a file (one JSON object a line) for development
and tests; a real provider (Aliyun SMS, Tencent Cloud SMS...) is another class of the same shape,
named in [notify] sms_adapter.
"""

from __future__ import annotations

import json
import os
import smtplib
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Protocol


class SendFailure(Exception):
    """A message that did not go out; ``str()`` says why (it is kept on the outbox row)."""


class Temporary(SendFailure):
    """Try again later (with backoff)."""


class Permanent(SendFailure):
    """Never going to go: the message is failed."""


@dataclass(frozen=True)
class Outgoing:
    message_id: str  # the outbox row's id: the same message always carries the same id
    recipient: str
    subject: str | None
    body: str


class SmsAdapter(Protocol):
    name: str

    def send(self, message: Outgoing) -> str: ...


class FileSink:
    """SMS for development: each text appended to ``path`` as one JSON line, flushed to disk."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, message: Outgoing) -> str:
        line = json.dumps({"id": message.message_id, "to": message.recipient, "text": message.body},
                          ensure_ascii=False)
        try:
            with self._lock, self.path.open("a", encoding="utf-8") as sink:
                sink.write(line + "\n")
                sink.flush()
                os.fsync(sink.fileno())
        except OSError as exc:
            raise Temporary(f"the SMS file cannot be written: {exc}") from None
        return f"file:{message.message_id}"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout_seconds: int = 10
    sender: str = "campus@localhost"


class SmtpMailer:
    """E-mail through an SMTP server; a 4xx answer, a timeout or a dropped connection is temporary,
    a 5xx answer permanent."""

    name = "smtp"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def message(self, outgoing: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.settings.sender
        mail["To"] = outgoing.recipient
        mail["Subject"] = outgoing.subject or ""
        mail["Date"] = formatdate(localtime=False)
        # One id per outbox row: a receiving system can tell a message it already has.
        mail["Message-ID"] = f"<{outgoing.message_id}@campus.outbox>"
        mail.set_content(outgoing.body)
        return mail

    def send(self, outgoing: Outgoing) -> str:
        s = self.settings
        mail = self.message(outgoing)
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds) as smtp:
                if s.starttls:
                    smtp.starttls()
                if s.username:
                    smtp.login(s.username, s.password)
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            failure = Temporary if all(400 <= code < 500 for code in codes) else Permanent
            raise failure(f"recipient refused: {exc.recipients}") from None
        except smtplib.SMTPResponseException as exc:
            failure = Temporary if 400 <= exc.smtp_code < 500 else Permanent
            raise failure(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from None
        except (smtplib.SMTPException, OSError) as exc:  # refused, timed out, dropped: the server may come back
            raise Temporary(f"SMTP server unreachable: {exc.__class__.__name__}: {exc}") from None
        if refused:
            raise Temporary(f"recipient refused: {refused}")
        return str(mail["Message-ID"])


@dataclass
class Senders:
    """The channels a node sends through (None: not set up)."""

    sms: SmsAdapter | None = None
    email: SmtpMailer | None = None

    def for_channel(self, channel: str) -> SmsAdapter | SmtpMailer | None:
        return self.sms if channel == "sms" else self.email if channel == "email" else None
