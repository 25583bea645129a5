"""Typed SQLAlchemy 2.0 models, one module per domain, re-exported here."""

from app.models.accounts import (
    Agency,
    CertificationProvider,
    LoginAttempt,
    Role,
    TrainingCertification,
    User,
    UserSession,
)
from app.models.audit import AuditChainHead, AuditEvent, Outcome

__all__ = [
    "Agency",
    "AuditChainHead",
    "AuditEvent",
    "CertificationProvider",
    "LoginAttempt",
    "Outcome",
    "Role",
    "TrainingCertification",
    "User",
    "UserSession",
]
