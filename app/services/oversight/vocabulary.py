"""The audit trail's vocabulary as data: every action an event can name (what it is about,
whether it is a read of case data, a label for the audit browser) and every kind of object.

``record_event`` accepts only these actions, so a misspelt or new action fails at once instead
of going missing from a filter; ``READ_ACTIONS`` (the monthly read counts and the heavy-reader
flags) is derived from the table, never kept by hand.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ObjectType(enum.StrEnum):
    """What an audit event is about: the one vocabulary the trail, its filters and the
    monthly audit share."""

    AGENCY = "agency"
    AUDIT = "audit"
    AUDIT_FLAG = "audit_flag"
    BOOKING = "booking"
    CLAUSE_MAP = "clause_map"
    EXAMINATION = "examination"
    INDEX = "index"
    MAIL = "mail"
    INSTANCE = "instance"
    MANIFEST = "manifest"
    MONTHLY_AUDIT = "monthly_audit"
    PEER = "peer"
    PEER_SEARCH = "peer_search"
    PROBE = "probe"
    REPORT = "report"
    REQUEST = "request"
    ROUTE = "route"
    SEARCH = "search"
    SESSION = "session"
    TRANSPARENCY = "transparency"
    USER = "user"


@dataclass(frozen=True)
class AuditAction:
    name: str
    object_type: ObjectType | None  # what the event is usually about
    label: str  # how the audit browser names it
    read: bool = False  # a read of biometric or criminal-history data (need to know)


_O = ObjectType


def _a(name: str, object_type: ObjectType | None, label: str, *, read: bool = False) -> AuditAction:
    return AuditAction(name, object_type, label, read)


ACTIONS: dict[str, AuditAction] = {
    a.name: a
    for a in (
        # sign-in and sessions
        _a("auth.login", _O.SESSION, "Sign-in"),
        _a("auth.logout", _O.SESSION, "Sign-out"),
        _a("auth.mfa", _O.USER, "Second factor"),
        _a("auth.mfa_enrol", _O.USER, "Authenticator set up"),
        _a("auth.reauthenticate", _O.USER, "Fresh sign-in"),
        _a("auth.operator", _O.USER, "Operator signed in at the command line"),
        _a("auth.session_end", _O.SESSION, "Session ended"),
        _a("auth.sessions_end", _O.USER, "Other sessions ended"),
        _a("security.csrf_failure", _O.ROUTE, "Form token refused"),
        _a("access.denied", _O.ROUTE, "Access refused"),
        _a("access.justified", _O.REQUEST, "Need-to-know reason given"),
        _a("access.need_to_know", _O.REQUEST, "Need to know refused"),
        _a("action.refused", _O.ROUTE, "Action refused"),
        # agencies, people, certifications, approvals
        _a("agency.create", _O.AGENCY, "Agency created"),
        _a("agency.update", _O.AGENCY, "Agency changed"),
        _a("agency.activate", _O.AGENCY, "Agency reactivated"),
        _a("agency.deactivate", _O.AGENCY, "Agency deactivated"),
        _a("user.create", _O.USER, "Account created"),
        _a("user.update", _O.USER, "Account changed"),
        _a("user.view", _O.USER, "Account viewed"),
        _a("user.list", _O.USER, "Accounts listed"),
        _a("user.acknowledge", _O.USER, "Agreement signed"),
        _a("user.deactivate", _O.USER, "Account deactivated"),
        _a("user.reactivate", _O.USER, "Account reactivated"),
        _a("user.lock", _O.USER, "Account locked"),
        _a("user.unlock", _O.USER, "Account unlocked"),
        _a("user.password_change", _O.USER, "Password changed"),
        _a("user.password_reset", _O.USER, "Password reset"),
        _a("user.mfa_reset", _O.USER, "Authenticator reset"),
        _a("certification.add", _O.USER, "Certification recorded"),
        _a("admin.approval_request", _O.USER, "Approval requested"),
        _a("admin.approval_decide", _O.USER, "Approval decided"),
        _a("admin.fresh_sign_in", _O.USER, "Fresh sign-in for an administrative change"),
        # requests
        _a("request.draft_create", _O.REQUEST, "Draft started"),
        _a("request.image_upload", _O.REQUEST, "Photo uploaded"),
        _a("request.image_remove", _O.REQUEST, "Photo removed"),
        _a("request.video_upload", _O.REQUEST, "Video uploaded"),
        _a("request.video_remove", _O.REQUEST, "Video removed"),
        _a("request.video_frame_view", _O.REQUEST, "Video frame viewed", read=True),
        _a("request.video_frame_pick", _O.REQUEST, "Frame picked from a video as a probe photo"),
        _a("request.refused", _O.REQUEST, "Request refused by the policy"),
        _a("request.submit", _O.REQUEST, "Request submitted"),
        _a("request.withdraw", _O.REQUEST, "Request withdrawn"),
        _a("request.draft_discard", _O.REQUEST, "Unsent draft deleted"),
        _a("request.answer", _O.REQUEST, "Question answered"),
        _a("request.view", _O.REQUEST, "Request opened", read=True),
        _a("request.image_view", _O.REQUEST, "Probe photo viewed", read=True),
        _a("request.pdf_download", _O.REQUEST, "Request PDF downloaded", read=True),
        # review
        _a("review.view", _O.REQUEST, "Workspace opened", read=True),
        _a("review.claim", _O.REQUEST, "Request claimed"),
        _a("review.release", _O.REQUEST, "Request released"),
        _a("review.reassign", _O.REQUEST, "Request reassigned"),
        _a("review.primary_assign", _O.REQUEST, "Reviewer assigned"),
        _a("review.verifier_assign", _O.REQUEST, "Verifier assigned"),
        _a("review.third_assign", _O.REQUEST, "Third reviewer assigned"),
        _a("review.return", _O.REQUEST, "Returned with a question"),
        _a("review.ask", _O.REQUEST, "Question refused"),
        _a("review.reject", _O.REQUEST, "Rejected as out of policy"),
        _a("review.assign", _O.REQUEST, "Assignment refused"),
        _a("review.verify", _O.REQUEST, "Verification refused"),
        _a("review.verify_claim", _O.REQUEST, "Verification taken"),
        _a("review.search", _O.REQUEST, "Search refused"),
        _a("review.screen", _O.REQUEST, "Determination refused"),
        _a("review.pick_frame", _O.REQUEST, "Frame pick refused"),
        _a("review.decide", _O.REQUEST, "Decision recorded"),
        _a("review.issue_report", _O.REQUEST, "Report refused"),
        _a("review.withdraw", _O.REQUEST, "Withdrawal refused"),
        _a("review.answer", _O.REQUEST, "Answer refused"),
        _a("review.reopen", _O.REQUEST, "Decision sent back (sealed lead)"),
        _a("review.first_amendment", _O.REQUEST, "First Amendment determination"),
        _a("intake.provenance_confirm", _O.REQUEST, "Image source confirmed"),
        _a("intake.provenance_refuse", _O.REQUEST, "Image refused by the reviewer"),
        _a("probe.view", _O.PROBE, "Probe opened", read=True),
        _a("probe.image_view", _O.PROBE, "Probe image viewed", read=True),
        _a("probe.process", _O.PROBE, "Probe processed"),
        _a("search.run", _O.SEARCH, "Search run"),
        # the interconnect: peers, the searches this unit answered for them, reveals, seals
        _a("interconnect.peer_add", _O.PEER, "Peer unit added"),
        _a("interconnect.peer_disable", _O.PEER, "Peer unit disabled"),
        _a("interconnect.peer_enable", _O.PEER, "Peer unit enabled"),
        _a("interconnect.refused", _O.PEER, "Peer unit refused"),
        _a("interconnect.search_answered", _O.PEER_SEARCH, "Search answered for a peer unit", read=True),
        _a("interconnect.reveal_answered", _O.BOOKING, "Record given to a peer unit", read=True),
        _a("interconnect.reveal", _O.BOOKING, "Record fetched from a peer unit"),
        _a("interconnect.seals_answered", _O.PEER, "Seals told to a peer unit"),
        _a("interconnect.seals_checked", _O.PEER, "Seals asked of a peer unit"),
        _a("search.candidates_view", _O.SEARCH, "Candidate list viewed", read=True),
        _a("search.grid_view", _O.SEARCH, "Candidates viewed in a grid beside the probe", read=True),
        _a("candidate.open", _O.BOOKING, "Candidate opened", read=True),
        _a("candidate.image_view", _O.BOOKING, "Candidate image viewed", read=True),
        _a("candidate.worksheet_view", _O.BOOKING, "Examiner's worksheet downloaded", read=True),
        _a("candidate.examine", _O.BOOKING, "Candidate examined"),
        _a("candidate.reexamine", _O.BOOKING, "Candidate examined again"),
        # reports and sealed records
        _a("report.preview", _O.REQUEST, "Report previewed before issue", read=True),
        _a("report.issue", _O.REPORT, "Report issued"),
        _a("report.correct", _O.REPORT, "Report corrected"),
        _a("report.view", _O.REPORT, "Report opened", read=True),
        _a("report.download", _O.REPORT, "Report downloaded", read=True),
        _a("report.verify_copy", _O.REPORT, "Copy checked"),
        _a("report.lead_outcome", _O.REPORT, "Lead outcome recorded"),
        _a("report.seal_notice", _O.REPORT, "Sealed-record notice"),
        _a("report.destroy_confirm", _O.REPORT, "Destruction confirmed"),
        _a("gallery.import", _O.MANIFEST, "Gallery import"),
        _a("gallery.seal", _O.BOOKING, "Record sealed"),
        _a("index.rebuild", _O.INDEX, "Index rebuilt"),
        _a("files.sweep", _O.INSTANCE, "Stored files swept"),
        # oversight
        _a("audit.browse", _O.AUDIT, "Audit trail browsed"),
        _a("mail.sent", _O.MAIL, "Notification sent"),
        _a("mail.failed", _O.MAIL, "Notification given up"),
        _a("queue.view", _O.REQUEST, "Review queue opened"),
        _a("audit.export", _O.AUDIT, "Audit trail exported"),
        _a("audit.verify", _O.AUDIT, "Audit chain verified"),
        _a("audit.checkpoint", _O.AUDIT, "Checkpoint signed"),
        _a("audit.monthly_generate", _O.MONTHLY_AUDIT, "Monthly audit generated"),
        _a("audit.monthly_view", _O.MONTHLY_AUDIT, "Monthly audit viewed"),
        _a("audit.monthly_preview", _O.MONTHLY_AUDIT, "The month so far previewed"),
        _a("audit.monthly_download", _O.MONTHLY_AUDIT, "Monthly audit downloaded"),
        _a("audit.monthly_sign_off", _O.MONTHLY_AUDIT, "Monthly audit signed off"),
        _a("audit.flag_clear", _O.AUDIT_FLAG, "Audit flag cleared"),
        _a("audit.retention_purge", _O.MONTHLY_AUDIT, "Expired audits purged"),
        _a("transparency.export", _O.TRANSPARENCY, "Transparency figures exported"),
    )
}

# Reads of biometric or criminal-history data: each is audited (need to know), and their
# volume per person is watched (the dashboard and the monthly audit flag unusual days).
READ_ACTIONS: tuple[str, ...] = tuple(name for name, action in ACTIONS.items() if action.read)


class UnknownAuditAction(ValueError):
    """An event named an action the vocabulary does not have: a bug, refused at once."""


def require_action(name: str) -> AuditAction:
    try:
        return ACTIONS[name]
    except KeyError:
        raise UnknownAuditAction(
            f"{name!r} is not an audit action (app/services/oversight/vocabulary.py ACTIONS)"
        ) from None
