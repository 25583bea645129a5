"""The outbox and its sender.

``enqueue`` writes a message in the caller's transaction (so it exists exactly when the action
does); ``send_due`` (the scheduler, every minute) sends what is due over SMTP (``MAIL_*``
settings; STARTTLS or SSL as configured), each message claimed first (two senders never send
one message twice) and in its own short transaction, and on a
refusal or a dropped connection keeps it with a later retry (1, 2, 4 … minutes, up to
``MAIL_MAX_ATTEMPTS``), then marks it failed for the administrator to see. Every message sent
or given up is audited. Without ``MAIL_SERVER`` (development), messages are written to the log
and counted as sent.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import func, select, update

from app.clock import utcnow
from app.extensions import db
from app.models import OutboxMessage, User
from app.services.oversight.audit import ObjectType, record_event

log = logging.getLogger("leaddesk.mail")


def enqueue(kind: str, recipient: User, subject: str, body: str) -> OutboxMessage | None:
    """One message for ``recipient`` (skipped, and said in the log, when they have no address)."""
    if not recipient.email:
        log.info("no e-mail address for %s: %s not queued", recipient.username, kind)
        return None
    link = current_app.config["PUBLIC_URL"].rstrip("/") + "/"
    message = OutboxMessage(
        kind=kind,
        to_address=recipient.email,
        recipient_id=recipient.id,
        subject=f"LeadDesk: {subject}"[:200],
        body=f"{body}\n\nSign in to see it: {link}\n\n(This message carries no case information.)",
    )
    db.session.add(message)
    db.session.flush()
    return message


@dataclass(frozen=True)
class SendRun:
    sent: int
    retried: int
    failed: int


def send_due(limit: int = 50) -> SendRun:
    """Send what is due, one short transaction per message (commits: a scheduled job)."""
    config = current_app.config
    due = db.session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))
        .where(OutboxMessage.send_after <= utcnow())
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    db.session.commit()
    sent = retried = failed = 0
    for message_id in due:
        if not _claim(message_id, config):
            continue  # another sender has it (a second scheduler, an overlapping run)
        message = db.session.get(OutboxMessage, message_id)
        try:
            _deliver(message, config)
        except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
            message.attempts += 1
            message.last_error = f"{exc.__class__.__name__}: {exc}"[:500]
            if message.attempts >= int(config["MAIL_MAX_ATTEMPTS"]):
                message.failed_at = utcnow()
                failed += 1
                record_event(
                    "mail.failed",
                    actor=None,
                    object_type=ObjectType.MAIL,
                    object_id=message.id,
                    reason=message.last_error,
                    detail={"kind": message.kind, "attempts": message.attempts},
                )
            else:
                message.send_after = utcnow() + timedelta(minutes=2 ** (message.attempts - 1))
                retried += 1
        else:
            message.sent_at = utcnow()
            message.attempts += 1
            sent += 1
            record_event(
                "mail.sent",
                actor=None,
                object_type=ObjectType.MAIL,
                object_id=message.id,
                detail={"kind": message.kind, "recipient": message.recipient_id},
            )
        db.session.commit()
    return SendRun(sent, retried, failed)


def _claim(message_id: int, config) -> bool:
    """Take one due message for this sender, race-free by construction: one conditional UPDATE
    moves its ``send_after`` past a lease, and only the sender whose UPDATE changed the row
    sends it. A sender that dies mid-send leaves it to be sent again once the lease ends (at
    least once: SMTP offers nothing better)."""
    now = utcnow()
    lease = timedelta(seconds=4 * float(config["MAIL_TIMEOUT_SECONDS"]) + 60)
    taken = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.send_after <= now)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))
        .values(send_after=now + lease)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return taken == 1


def _deliver(message: OutboxMessage, config) -> None:
    server = config.get("MAIL_SERVER")
    if not server:
        log.info("mail (no MAIL_SERVER) to %s: %s\n%s", message.to_address, message.subject, message.body)
        return
    email = EmailMessage()
    email["From"] = config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email.set_content(message.body)
    context = ssl.create_default_context(cafile=config.get("MAIL_CA_FILE") or None)
    timeout = float(config["MAIL_TIMEOUT_SECONDS"])
    port = int(config["MAIL_PORT"])
    if config.get("MAIL_USE_SSL"):
        connection = smtplib.SMTP_SSL(server, port, timeout=timeout, context=context)
    else:
        connection = smtplib.SMTP(server, port, timeout=timeout)
    with connection as smtp:
        if config.get("MAIL_USE_TLS") and not config.get("MAIL_USE_SSL"):
            smtp.starttls(context=context)
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(email)


def outbox_status() -> dict:
    """For the administrator's dashboard: what waits, and what was given up."""
    waiting = select(func.count(OutboxMessage.id)).where(
        OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None)
    )
    failed = select(func.count(OutboxMessage.id)).where(OutboxMessage.failed_at.is_not(None))
    return {"mail_waiting": db.session.scalar(waiting) or 0, "mail_failed": db.session.scalar(failed) or 0}
