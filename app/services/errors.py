"""Errors raised by services, with messages meant for the person at the keyboard."""


class ServiceError(Exception):
    """A request the domain refuses; ``field`` names the form field at fault, if any."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    pass


class PermissionDenied(ServiceError):
    pass
