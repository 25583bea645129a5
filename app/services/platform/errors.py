"""Errors raised by services, with messages meant for the person at the keyboard.

The boundary that commits (``app.blueprints.common.perform`` and the CLI) audits every
refusal the same way: a ``PermissionDenied`` as denied, any other ``ServiceError`` as failed,
under ``audit_action`` (the service's own action name) when the service gives one.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A request the domain refuses; ``field`` names the form field at fault, if any."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        audit_action: str | None = None,
        object_type: str | None = None,
        object_id: str | int | None = None,
        audit_detail: dict | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.audit_action = audit_action
        self.object_type = object_type
        self.object_id = object_id
        self.audit_detail = audit_detail or {}


class NotFound(ServiceError):
    pass


class PermissionDenied(ServiceError):
    pass
