"""Trust between units: mutual TLS with certificates from the interconnect's authority.

The unit makes its own key and a certificate request (the key never leaves the instance
folder); the authority signs the request; the unit installs the certificate. A peer is known by
the common name of its certificate, which must chain to the authority's certificate configured
for that peer, be within its validity and not be on the authority's revocation list. The TLS
server (``flask interconnect serve`` or gunicorn with ``--cert-reqs 2``) refuses a certificate
from elsewhere at the handshake; the app checks the certificate it was handed again, from the
server's own connection (never from a request header, which a client could write).
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import current_app

from app.services.gallery.cluster_certs import private_key_pem, write_file
from app.services.platform.errors import ServiceError

KEY_FILE, REQUEST_FILE, CERT_FILE = "unit-key.pem", "unit.csr", "unit.pem"
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


class PeerRefused(ServiceError):
    """A connecting unit's certificate is not one this unit trusts."""


def folder() -> Path:
    configured = current_app.config.get("INTERCONNECT_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "interconnect"


def check_name(name: str) -> str:
    name = (name or "").strip().lower()
    if not name or len(name) > 40 or not set(name) <= NAME_CHARS:
        raise ServiceError(f"{name!r}: a unit's name is 1-40 lower-case letters, digits and hyphens.")
    return name


def make_key_and_request(target: Path, name: str, hosts: tuple[str, ...]) -> Path:
    """The unit's private key (mode 600) and a certificate request naming the unit and the
    host names or addresses it answers on; refuses to replace a key."""
    name = check_name(name)
    if (target / KEY_FILE).exists():
        raise ServiceError(f"{target / KEY_FILE} exists: the unit already has its key.")
    if not hosts:
        raise ServiceError("Name at least one host (--host) the unit answers on.")
    key = ec.generate_private_key(ec.SECP256R1())
    alternatives: list[x509.GeneralName] = []
    for host in hosts:
        try:
            alternatives.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alternatives.append(x509.DNSName(host))
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_file(target / KEY_FILE, private_key_pem(key), secret=True)
    write_file(target / REQUEST_FILE, request.public_bytes(serialization.Encoding.PEM), secret=False)
    return target / REQUEST_FILE


def load_certificate(data: bytes | str) -> x509.Certificate:
    raw = data.encode() if isinstance(data, str) else data
    try:
        return x509.load_pem_x509_certificate(raw)
    except ValueError:
        try:
            return x509.load_der_x509_certificate(raw)
        except ValueError:
            raise PeerRefused("not a certificate") from None


def common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def check_issued(cert: x509.Certificate, authority: x509.Certificate, *, now: datetime | None = None) -> None:
    """The certificate was signed by ``authority`` and is valid now (the machine's clock, as
    TLS checks it)."""
    try:
        cert.verify_directly_issued_by(authority)
    except (ValueError, TypeError, InvalidSignature):
        raise PeerRefused("its certificate is not from the interconnect's authority") from None
    now = now or datetime.now(UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise PeerRefused(
            f"its certificate is valid {cert.not_valid_before_utc:%Y-%m-%d} to "
            f"{cert.not_valid_after_utc:%Y-%m-%d}, not now"
        )


def revoked_serials(authority: x509.Certificate) -> set[int]:
    """The serial numbers on the authority's revocation list (``INTERCONNECT_CRL_FILE``),
    checked against the authority's signature; a list that does not verify is refused whole."""
    path = current_app.config.get("INTERCONNECT_CRL_FILE")
    if not path:
        return set()
    try:
        crl = x509.load_pem_x509_crl(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise PeerRefused(f"the revocation list cannot be read ({exc}): every peer is refused") from None
    if crl.issuer != authority.subject:
        return set()
    if not crl.is_signature_valid(authority.public_key()):
        raise PeerRefused("the revocation list is not signed by the authority: every peer is refused")
    return {entry.serial_number for entry in crl}


def install_certificate(target: Path, cert_file: Path, authority_file: Path) -> str:
    """Install the authority's answer to the unit's request: it must carry the unit's own key,
    come from the authority and be valid now. Returns the unit's name."""
    try:
        cert = load_certificate(Path(cert_file).read_bytes())
        authority = load_certificate(Path(authority_file).read_bytes())
        key = serialization.load_pem_private_key((target / KEY_FILE).read_bytes(), password=None)
    except OSError as exc:
        raise ServiceError(f"{exc.filename}: {exc.strerror}") from None
    if cert.public_key().public_numbers() != key.public_key().public_numbers():
        raise ServiceError(
            "This certificate is not for the unit's key (make the request with `interconnect key`)."
        )
    try:
        check_issued(cert, authority)
    except PeerRefused as err:
        raise ServiceError(f"Not installed: {err.message}.") from None
    write_file(target / CERT_FILE, cert.public_bytes(serialization.Encoding.PEM), secret=False)
    write_file(target / "authority.pem", authority.public_bytes(serialization.Encoding.PEM), secret=False)
    return common_name(cert)


@dataclass(frozen=True)
class UnitIdentity:
    name: str
    cert_file: Path
    key_file: Path


def unit_identity() -> UnitIdentity:
    """This unit's installed certificate and key, which it presents to every peer."""
    here = folder()
    cert_file, key_file = here / CERT_FILE, here / KEY_FILE
    if not cert_file.exists() or not key_file.exists():
        raise ServiceError(
            "This unit has no interconnect certificate: `flask --app wsgi interconnect key`, then install "
            "the authority's certificate with `interconnect install`."
        )
    return UnitIdentity(common_name(load_certificate(cert_file.read_bytes())), cert_file, key_file)


def authority_file(peer_name: str, authority_pem: str) -> Path:
    """The peer's authority as a file (what the TLS client verifies the peer's server with)."""
    path = folder() / "peers" / f"{check_name(peer_name)}.pem"
    if not path.exists() or path.read_text() != authority_pem:
        write_file(path, authority_pem.encode(), secret=False)
    return path


def client_certificate(environ: dict) -> bytes | None:
    """The certificate the TLS server verified for this connection: werkzeug's server puts it
    in ``SSL_CLIENT_CERT``, gunicorn hands the socket itself. Never an HTTP header."""
    pem = environ.get("SSL_CLIENT_CERT")
    if pem:
        return pem.encode() if isinstance(pem, str) else pem
    sock = environ.get("gunicorn.socket")
    if isinstance(sock, ssl.SSLSocket):
        return sock.getpeercert(binary_form=True)
    return None


def server_context(authority_pems: list[str]) -> ssl.SSLContext:
    """TLS for the unit's interconnect listener: its own certificate, and a client certificate
    required from one of the peers' authorities."""
    identity = unit_identity()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(identity.cert_file, identity.key_file)
    context.verify_mode = ssl.CERT_REQUIRED
    for pem in dict.fromkeys(authority_pems):
        context.load_verify_locations(cadata=pem)
    if not authority_pems:
        raise ServiceError("No enabled peer: add one with `interconnect peers add` first.")
    return context
