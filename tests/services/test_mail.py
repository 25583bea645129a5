"""E-mail notifications through a real SMTP server (aiosmtpd, started here on loopback, with
STARTTLS and a certificate made by the test): who hears what, nothing sensitive in a message,
and a server that refuses or is gone loses nothing."""

from __future__ import annotations

import email
import email.policy
import ssl

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, OutboxMessage, Role
from app.services.gallery import cluster_certs
from app.services.identity import administration
from app.services.notify import outbox
from tests.support.intake import submit, valid_form
from tests.support.live import free_port
from tests.support.photos import photo


class Mailbox:
    """What the SMTP server received; ``refuse`` makes it answer 550 to every message."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], str]] = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "550 mailbox unavailable"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((envelope.rcpt_tos, f"{message['Subject']}\n{message.get_content()}"))
        return "250 OK"


@pytest.fixture
def smtp(app, tmp_path):
    """aiosmtpd on loopback requiring STARTTLS, its certificate from a CA the app is told of."""
    cluster_certs.make_ca(tmp_path, unit="Mail test")
    cert, key = cluster_certs.issue(tmp_path, "mail", hosts=("127.0.0.1",))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
    )
    controller.start()
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
        MAIL_USE_TLS=True,
        MAIL_CA_FILE=str(tmp_path / "ca.pem"),
        MAIL_DEFAULT_SENDER="leaddesk@unit.example.invalid",
    )
    mailbox.stop = controller.stop
    yield mailbox
    if mailbox.stop is not None:
        controller.stop()


def queued(kind: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def urgent_request(auth, make_user):
    requester = make_user(Role.REQUESTER)
    reviewers = [make_user(Role.REVIEWER) for _ in range(2)]
    make_user(Role.REVIEWER, certified=False)  # no certification: not on call
    auth.login(requester)
    form = valid_form(
        requester,
        purpose="imminent_threat",
        threat_to_life="yes",
        case_number="HC-2026-0777",
        reason="A man threatened to shoot the clerk of the Main Street store tonight.",
    )
    assert submit(auth, form, [photo("john_simm__1.jpg")]).status_code == 302
    return requester, reviewers


def test_an_urgent_request_reaches_every_certified_reviewer_with_nothing_sensitive(auth, make_user, smtp):
    requester, reviewers = urgent_request(auth, make_user)
    queued = db.session.scalars(select(OutboxMessage)).all()
    assert sorted(m.to_address for m in queued) == sorted(r.email for r in reviewers)
    run = outbox.send_due()
    assert run.sent == 2 and len(smtp.received) == 2
    for _recipients, content in smtp.received:
        assert "is waiting in the review queue now" in content and "FR-" in content
        for secret in ("HC-2026-0777", "shoot", "Main Street", requester.full_name, "john_simm"):
            assert secret not in content  # no case number, justification, place, name or image
    assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "mail.sent")).all()) == 2


def test_a_refusing_server_loses_nothing_and_a_retry_delivers(auth, make_user, smtp, clock):
    urgent_request(auth, make_user)
    smtp.refuse = True
    run = outbox.send_due()
    assert run.retried == 2 and smtp.received == []
    waiting = db.session.scalars(select(OutboxMessage)).all()
    assert all(m.attempts == 1 and m.sent_at is None and "550" in m.last_error for m in waiting)
    assert outbox.send_due().sent == 0  # not due yet: it waits a minute
    smtp.refuse = False
    clock.advance(minutes=2)
    assert outbox.send_due().sent == 2 and len(smtp.received) == 2


def test_a_server_that_is_gone_loses_nothing_and_gives_up_visibly(auth, make_user, smtp, clock, app):
    urgent_request(auth, make_user)
    smtp.stop()
    smtp.stop = None  # gone for good
    app.config["MAIL_MAX_ATTEMPTS"] = 2
    assert outbox.send_due().retried == 2
    clock.advance(minutes=2)
    assert outbox.send_due().failed == 2
    assert outbox.outbox_status() == {"mail_waiting": 0, "mail_failed": 2}
    failed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "mail.failed")).all()
    assert len(failed) == 2 and "Error" in failed[0].reason


def test_an_account_reset_tells_its_owner(make_user, smtp):
    admin, reviewer = make_user(Role.ADMIN), make_user(Role.REVIEWER)
    administration.reset_mfa(reviewer, actor=admin, reason="lost phone")
    db.session.commit()
    outbox.send_due()
    ((recipients, content),) = smtp.received
    assert recipients == [reviewer.email] and "reset the authenticator" in content


def test_without_a_mail_server_messages_go_to_the_log(app, make_user, caplog):
    admin, reviewer = make_user(Role.ADMIN), make_user(Role.REVIEWER)
    app.config["MAIL_SERVER"] = None
    administration.reset_password(reviewer, actor=admin, reason="forgotten")
    db.session.commit()
    with caplog.at_level("INFO", logger="leaddesk.mail"):
        assert outbox.send_due().sent == 1
    assert "your password was reset" in caplog.text


def test_a_change_waiting_for_a_second_admin_tells_the_other_admins(make_user):
    from app.clock import utcnow
    from app.services.identity import approvals

    ada, ben, cy = (make_user(Role.ADMIN, username=n) for n in ("ada", "ben", "cy"))
    approvals.request_or_apply("reset_mfa", ben, actor=ada, fresh_at=utcnow(), reason="lost his phone")
    told = [
        m.to_address
        for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "approval_waiting"))
    ]
    assert told == [cy.email]  # not the one asking, not the one concerned


def test_a_sign_in_from_a_new_address_tells_the_owner(make_user):
    from app.services.notify import messages
    from app.services.oversight.audit import audit_source, record_event

    user = make_user(Role.REVIEWER)
    messages.signed_in_from(user, "10.0.0.5")  # the very first sign-in: nothing to compare with
    with audit_source("10.0.0.5"):
        record_event("auth.login", actor=user)
    messages.signed_in_from(user, "10.0.0.5")
    messages.signed_in_from(user, "203.0.113.9")
    (message,) = queued("new_address_sign_in")
    assert "203.0.113.9" in message.body and message.to_address == user.email


def test_two_senders_at_once_send_each_message_once(auth, make_user, smtp, monkeypatch):
    """A second sender starting while the first is mid-delivery (a second scheduler, an
    overlapping run) finds every message already claimed."""
    urgent_request(auth, make_user)
    deliver, runs = outbox._deliver, []

    def deliver_while_another_sender_runs(message, config):
        if not runs:
            runs.append(None)
            runs.append(outbox.send_due())  # the other sender, now
        deliver(message, config)

    monkeypatch.setattr(outbox, "_deliver", deliver_while_another_sender_runs)
    first = outbox.send_due()
    assert first.sent + runs[1].sent == 2  # the other sender took the message not yet claimed
    assert sorted(r[0][0] for r in smtp.received) == sorted(m.to_address for m in queued("urgent_request"))
