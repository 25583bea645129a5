"""Typed SQLAlchemy 2.0 models, one module per domain, re-exported here."""

from app.models.accounts import (
    AccessGrant,
    Agency,
    CertificationProvider,
    LoginAttempt,
    PendingApproval,
    PolicyAcknowledgement,
    Role,
    ThrottleLock,
    TrainingCertification,
    User,
    UserSession,
)
from app.models.audit import AuditChainHead, AuditCheckpoint, AuditEvent, Outcome
from app.models.gallery import Booking, BuildOutcome, FaceTemplate, IndexBuild, Subject
from app.models.interconnect import InterconnectPeer, PeerDisclosure, PeerSearch, RemoteCandidate
from app.models.mail import OutboxMessage
from app.models.oversight import AuditFlag, MonthlyAudit
from app.models.reports import LeadOutcome, Report, ReportBooking
from app.models.requests import (
    ProbeImage,
    ProbeVideo,
    RequestMessage,
    RequestStatus,
    ReviewState,
    SearchRequest,
)
from app.models.review import (
    CandidateExamination,
    Capacity,
    Conclusion,
    DecisionOutcome,
    FaceSearch,
    ProbeWork,
    ReviewAssignment,
    ReviewDecision,
)

__all__ = [
    "AccessGrant",
    "Agency",
    "AuditChainHead",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditFlag",
    "Booking",
    "BuildOutcome",
    "CandidateExamination",
    "Capacity",
    "CertificationProvider",
    "Conclusion",
    "DecisionOutcome",
    "FaceSearch",
    "FaceTemplate",
    "IndexBuild",
    "InterconnectPeer",
    "LeadOutcome",
    "LoginAttempt",
    "MonthlyAudit",
    "OutboxMessage",
    "Outcome",
    "PeerDisclosure",
    "PeerSearch",
    "PendingApproval",
    "PolicyAcknowledgement",
    "ProbeImage",
    "ProbeVideo",
    "ProbeWork",
    "RemoteCandidate",
    "Report",
    "ReportBooking",
    "RequestMessage",
    "RequestStatus",
    "ReviewAssignment",
    "ReviewDecision",
    "ReviewState",
    "Role",
    "SearchRequest",
    "Subject",
    "ThrottleLock",
    "TrainingCertification",
    "User",
    "UserSession",
]
