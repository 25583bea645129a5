"""The peers this unit searches and answers: added, disabled and listed by the operator; each
one's status as last seen; who a connecting certificate is; how often a peer may ask."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from sqlalchemy import func, select

from app.clock import utcnow
from app.extensions import db
from app.models import InterconnectPeer, PeerSearch
from app.services.interconnect import trust
from app.services.oversight.audit import ObjectType, record_event
from app.services.platform import throttle
from app.services.platform.errors import ServiceError

MAX_RATE = 600


class RateExceeded(ServiceError):
    """A peer asked more searches than it is allowed a minute."""


def peer_named(name: str) -> InterconnectPeer | None:
    return db.session.scalar(select(InterconnectPeer).where(InterconnectPeer.name == name))


def add_peer(
    name: str, url: str, authority_file: Path, *, rate_per_minute: int = 60, by_default: bool = True
) -> InterconnectPeer:
    name = trust.check_name(name)
    parts = urlsplit(url or "")
    if parts.scheme != "https" or not parts.hostname:
        raise ServiceError(f"{url!r}: a peer answers on an https:// URL.")
    if not 1 <= rate_per_minute <= MAX_RATE:
        raise ServiceError(f"--rate: between 1 and {MAX_RATE} searches a minute.")
    try:
        pem = Path(authority_file).read_text()
        authority = trust.load_certificate(pem)
    except (OSError, UnicodeDecodeError, trust.PeerRefused) as exc:
        raise ServiceError(f"{authority_file}: not the authority's certificate ({exc}).") from None
    try:
        basic = authority.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        basic = None
    if basic is None or not basic.ca:
        raise ServiceError(f"{authority_file}: this certificate is not an authority's.")
    if peer_named(name) is not None:
        raise ServiceError(f"A peer named {name} exists: disable it, or choose another name.")
    peer = InterconnectPeer(
        name=name,
        url=url.rstrip("/"),
        authority_pem=pem,
        rate_per_minute=rate_per_minute,
        searched_by_default=by_default,
    )
    db.session.add(peer)
    db.session.flush()
    record_event(
        "interconnect.peer_add",
        actor=None,
        object_type=ObjectType.PEER,
        object_id=peer.id,
        detail={"name": name, "url": peer.url, "rate_per_minute": rate_per_minute, "by_default": by_default},
    )
    return peer


def set_enabled(name: str, enabled: bool) -> InterconnectPeer:
    peer = peer_named(trust.check_name(name))
    if peer is None:
        raise ServiceError(f"There is no peer named {name}.")
    peer.enabled = enabled
    peer.disabled_at = None if enabled else utcnow()
    record_event(
        "interconnect.peer_enable" if enabled else "interconnect.peer_disable",
        actor=None,
        object_type=ObjectType.PEER,
        object_id=peer.id,
        detail={"name": peer.name},
    )
    return peer


def all_peers() -> list[InterconnectPeer]:
    return list(db.session.scalars(select(InterconnectPeer).order_by(InterconnectPeer.name)))


def enabled_peers() -> list[InterconnectPeer]:
    return [p for p in all_peers() if p.enabled]


def note_status(peer_id: int, status: str, error: str | None = None) -> None:
    peer = db.session.get(InterconnectPeer, peer_id)
    peer.last_contact_at = utcnow()
    peer.last_status = status
    peer.last_error = (error or "")[:500] or None


def connecting_peer(environ: dict) -> InterconnectPeer:
    """The enabled peer whose certificate this connection presented (its common name), checked
    against that peer's authority, validity and the authority's revocation list."""
    raw = trust.client_certificate(environ)
    if raw is None:
        raise trust.PeerRefused("no client certificate: the interconnect answers units only")
    cert = trust.load_certificate(raw)
    name = trust.common_name(cert)
    peer = peer_named(name)
    if peer is None:
        raise trust.PeerRefused(f"{name!r} is not a peer of this unit")
    if not peer.enabled:
        raise trust.PeerRefused(f"the peer {name} is disabled")
    authority = trust.load_certificate(peer.authority_pem)
    trust.check_issued(cert, authority)
    if cert.serial_number in trust.revoked_serials(authority):
        raise trust.PeerRefused(f"the certificate of {name} was revoked by the authority")
    return peer


def require_rate(peer: InterconnectPeer) -> None:
    """A peer asks at most its configured number of searches a minute: counted under the
    peer's lock, so searches arriving at once cannot outrun it."""
    throttle.hold(f"peer:{peer.name}")
    since = utcnow() - timedelta(minutes=1)
    asked = db.session.scalar(
        select(func.count(PeerSearch.id)).where(
            PeerSearch.peer_name == peer.name, PeerSearch.received_at > since
        )
    )
    if asked >= peer.rate_per_minute:
        raise RateExceeded(f"{peer.name} asked more than {peer.rate_per_minute} searches in a minute.")
