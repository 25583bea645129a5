"""The unit's own certificate authority for its Dask cluster: one CA, and a key and certificate
for the scheduler, each worker host and the importing client, each signed by it. Dask's TLS
(``tls://``) then authenticates both ends of every connection against that CA: a host without
a certificate from it cannot join the cluster, submit work or send results back.

``flask --app wsgi cluster certs DIR`` makes the CA and the first three; ``flask --app wsgi
cluster issue DIR NAME`` another worker's. Keys are written mode 600; the CA's key belongs on
the operator's machine only (the hosts need ``ca.pem``, their own pair, nothing else).
"""

from __future__ import annotations

import ipaddress
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app.services.platform.errors import ServiceError

CA_DAYS = 3650
LEAF_DAYS = 825
ROLES = ("scheduler", "worker", "client")


def _wall_clock() -> datetime:
    """Certificates are checked by TLS libraries against the machine's own clock, so their
    validity starts from it (never from the app's clock, which tests set)."""
    return datetime.now(UTC)


def write_file(path: Path, data: bytes, *, secret: bool) -> None:
    """A certificate (644) or a private key (600: created so, never readable by others)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def private_key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_ca(folder: Path, *, unit: str, days: int = CA_DAYS) -> Path:
    """The unit's cluster CA (``ca.pem``, ``ca-key.pem``); refuses to replace an existing one."""
    folder = Path(folder)
    if (folder / "ca.pem").exists():
        raise ServiceError(f"{folder / 'ca.pem'} exists: the cluster already has its authority.")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{unit} cluster CA")])
    now = _wall_clock()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    write_file(folder / "ca-key.pem", private_key_pem(key), secret=True)
    write_file(folder / "ca.pem", cert.public_bytes(serialization.Encoding.PEM), secret=False)
    return folder / "ca.pem"


def issue(
    folder: Path, name: str, *, hosts: tuple[str, ...] = (), days: int = LEAF_DAYS
) -> tuple[Path, Path]:
    """``NAME.pem`` and ``NAME-key.pem``, signed by the folder's CA, good as client and server."""
    folder = Path(folder)
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ServiceError("A certificate's name is letters, digits, - and _ only.")
    try:
        ca_key = serialization.load_pem_private_key((folder / "ca-key.pem").read_bytes(), password=None)
        ca = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
    except (OSError, ValueError) as exc:
        raise ServiceError(f"No usable cluster CA in {folder}: {exc}") from None
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(name)]
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    now = _wall_clock()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_path, cert_path = folder / f"{name}-key.pem", folder / f"{name}.pem"
    write_file(key_path, private_key_pem(key), secret=True)
    write_file(cert_path, cert.public_bytes(serialization.Encoding.PEM), secret=False)
    return cert_path, key_path


def make_unit_certificates(folder: Path, *, unit: str, hosts: tuple[str, ...] = ()) -> list[Path]:
    make_ca(folder, unit=unit)
    return [issue(folder, role, hosts=hosts)[0] for role in ROLES]
