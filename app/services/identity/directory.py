"""Signing in with the county directory (LDAP), for the password step only.

The directory checks the password by a bind over LDAPS (``ldaps://``) or StartTLS
(``ldap://`` with ``DIRECTORY_USE_STARTTLS``), the server's certificate checked against
``DIRECTORY_CA_FILE``; a plain bind is refused before anything is sent. The person's DN comes
from ``DIRECTORY_USER_DN`` (``uid={username},ou=people,dc=county,dc=example``) or from a search
under ``DIRECTORY_SEARCH_BASE`` as the service account ``DIRECTORY_BIND_DN``. With
``DIRECTORY_REQUIRED_GROUP`` the person must be a ``member`` of that group. The TOTP step,
the lockout and the throttle stay LeadDesk's; roles, agencies and certifications stay
LeadDesk's; an account is still made by an administrator and matched by username. The
directory password is never stored. Accounts marked local (the break-glass administrator)
keep their LeadDesk password.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

from app.models import User
from app.services.platform.errors import ServiceError

LOCAL = "local"
DIRECTORY = "directory"


@dataclass(frozen=True)
class DirectorySettings:
    url: str
    starttls: bool
    ca_file: str | None
    user_dn: str | None
    search_base: str | None
    bind_dn: str | None
    bind_password: str | None
    username_attribute: str
    required_group: str | None
    timeout: int

    @classmethod
    def from_config(cls, config) -> DirectorySettings | None:
        url = config.get("DIRECTORY_URL")
        if not url:
            return None
        return cls(
            url=url,
            starttls=bool(config.get("DIRECTORY_USE_STARTTLS")),
            ca_file=config.get("DIRECTORY_CA_FILE"),
            user_dn=config.get("DIRECTORY_USER_DN"),
            search_base=config.get("DIRECTORY_SEARCH_BASE"),
            bind_dn=config.get("DIRECTORY_BIND_DN"),
            bind_password=config.get("DIRECTORY_BIND_PASSWORD"),
            username_attribute=config.get("DIRECTORY_USERNAME_ATTRIBUTE") or "uid",
            required_group=config.get("DIRECTORY_REQUIRED_GROUP"),
            timeout=int(config.get("DIRECTORY_TIMEOUT_SECONDS") or 5),  # ldap3 packs it as an integer
        )

    def check(self) -> None:
        """Refuse, at start, a directory that would be asked for a password in the clear."""
        scheme = urlsplit(self.url).scheme
        if scheme not in ("ldaps", "ldap"):
            raise ServiceError(f"DIRECTORY_URL {self.url!r}: use ldaps://host or ldap://host with StartTLS.")
        if scheme == "ldap" and not self.starttls:
            raise ServiceError(
                "DIRECTORY_URL is ldap:// without DIRECTORY_USE_STARTTLS: a plain bind is refused."
            )
        if not (self.user_dn or self.search_base):
            raise ServiceError("Set DIRECTORY_USER_DN (a DN template) or DIRECTORY_SEARCH_BASE.")


def check_at_start(config) -> None:
    """A directory configured to be asked for passwords in the clear stops the app at start."""
    found = DirectorySettings.from_config(config)
    if found is not None:
        try:
            found.check()
        except ServiceError as err:
            raise RuntimeError(err.message) from None


def settings() -> DirectorySettings | None:
    found = DirectorySettings.from_config(current_app.config)
    if found is not None:
        found.check()
    return found


def password_verdict(user: User, password: str) -> bool | None:
    """None when the account does not sign in with the directory (or none is configured);
    else whether the directory accepts ``password`` for ``user`` now (and, when required, they
    are in the group). Never raises for a wrong password, a deleted or disabled entry or a
    directory that cannot be reached: each is a failed password step."""
    config = settings() if user.sign_in_with == DIRECTORY else None
    if config is None:
        return None
    if not password:  # an empty password would be an anonymous bind
        return False
    try:
        return _bind_as(config, user.username, password)
    except Exception as exc:
        current_app.logger.warning(
            "directory sign-in for %s failed: %s", user.username, exc.__class__.__name__
        )
        return False


def _server(config: DirectorySettings):
    from ldap3 import Server, Tls

    tls = Tls(ca_certs_file=config.ca_file, validate=ssl.CERT_REQUIRED, version=ssl.PROTOCOL_TLS_CLIENT)
    parts = urlsplit(config.url)
    return Server(
        parts.hostname,
        port=parts.port,
        use_ssl=parts.scheme == "ldaps",
        tls=tls,
        connect_timeout=config.timeout,
    )


def _connection(config: DirectorySettings, dn: str | None, password: str | None):
    from ldap3 import Connection

    connection = Connection(_server(config), user=dn, password=password, receive_timeout=config.timeout)
    try:
        connection.open()
        if config.starttls and not connection.start_tls():
            raise ConnectionError("StartTLS refused")
    except Exception:
        connection.unbind()
        raise
    return connection


def _bind_as(config: DirectorySettings, username: str, password: str) -> bool:
    from ldap3.utils.conv import escape_filter_chars
    from ldap3.utils.dn import escape_rdn

    if config.user_dn:
        dn = config.user_dn.format(username=escape_rdn(username))
    else:
        service = _connection(config, config.bind_dn, config.bind_password)
        try:
            if not service.bind():
                raise ConnectionError("the directory refused the service account")
            service.search(
                config.search_base,
                f"({config.username_attribute}={escape_filter_chars(username)})",
                attributes=[],
                size_limit=2,
            )
            if len(service.entries) != 1:
                return False  # deleted, or not unique
            dn = service.entries[0].entry_dn
        finally:
            service.unbind()
    person = _connection(config, dn, password)
    try:
        if not person.bind():
            return False
        if config.required_group:
            person.search(
                config.required_group,
                f"(member={escape_filter_chars(dn)})",
                search_scope="BASE",
                attributes=[],
            )
            return len(person.entries) == 1
        return True
    finally:
        person.unbind()
