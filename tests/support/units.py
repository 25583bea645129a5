"""Other counties' LeadDesk units for the interconnect's tests: the interconnect's authority
(a CA made by the test, with certificates good, foreign, expired or revoked), a unit with its
own instance folder, SQLite database and gallery, served over HTTPS with mutual TLS on
loopback by the real WSGI stack (werkzeug's threaded server, as ``flask interconnect serve``)."""

from __future__ import annotations

import ipaddress
import os
import ssl
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from flask_migrate import upgrade
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from app.services.gallery.cluster_certs import private_key_pem
from app.services.gallery.enrollment import import_manifest
from app.services.interconnect import peers, trust
from tests.gallery import FACES, gallery_row, write_manifest
from tests.support.live import buffered


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class Authority:
    """The interconnect's certificate authority (or, made twice, a foreign one)."""

    def __init__(self, folder: Path, name: str = "CAFRI test authority") -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(self.key, hashes.SHA256())
        )
        self.file = folder / "authority.pem"
        self.file.write_bytes(_pem(self.cert))
        self.revoked: list[int] = []

    @property
    def pem(self) -> str:
        return _pem(self.cert).decode()

    def _sign(self, public_key, subject: x509.Name, sans, *, expired: bool = False) -> x509.Certificate:
        now = datetime.now(UTC)
        start, end = (
            (now - timedelta(days=10), now - timedelta(days=1))
            if expired
            else (now - timedelta(hours=1), now + timedelta(days=7))
        )
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(sans, critical=False)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )

    def sign_request(self, request_file: Path, out: Path) -> Path:
        """What the authority does with a unit's request: a certificate for its key and names."""
        request = x509.load_pem_x509_csr(request_file.read_bytes())
        assert request.is_signature_valid
        sans = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        out.write_bytes(_pem(self._sign(request.public_key(), request.subject, sans)))
        return out

    def issue(self, folder: Path, name: str, *, expired: bool = False) -> tuple[Path, Path, x509.Certificate]:
        """A key and certificate for ``name`` on 127.0.0.1 (unit.pem, unit-key.pem in folder)."""
        folder.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        sans = x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        )
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = self._sign(key.public_key(), subject, sans, expired=expired)
        cert_file, key_file = folder / trust.CERT_FILE, folder / trust.KEY_FILE
        cert_file.write_bytes(_pem(cert))
        key_file.write_bytes(private_key_pem(key))
        os.chmod(key_file, 0o600)
        return cert_file, key_file, cert

    def revocation_list(self, serials: list[int]) -> Path:
        now = datetime.now(UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.cert.subject)
            .last_update(now - timedelta(minutes=5))
            .next_update(now + timedelta(days=1))
        )
        for serial in serials:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
            )
        path = self.folder / "revoked.pem"
        path.write_bytes(builder.sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
        return path


@dataclass
class Unit:
    """One county's LeadDesk: its app (own instance folder and database) and its server."""

    name: str
    app: object
    folder: Path
    url: str = ""
    _server: object = None
    _thread: object = None
    gates: dict = field(default_factory=dict)

    def context(self):
        return self.app.app_context()

    def trust(self, name: str, url: str, authority: Authority, **options) -> None:
        with self.context():
            peers.add_peer(name, url, authority.file, **options)
            db.session.commit()

    def serve(self, authority_pems: list[str], wrap=None) -> str:
        cert, key = (
            self.folder / "interconnect" / trust.CERT_FILE,
            self.folder / "interconnect" / trust.KEY_FILE,
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.verify_mode = ssl.CERT_REQUIRED
        for pem in authority_pems:
            context.load_verify_locations(cadata=pem)
        application = buffered(self.app)
        self._server = make_server(
            "127.0.0.1", 0, wrap(application) if wrap else application, threaded=True, ssl_context=context
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"https://127.0.0.1:{self._server.server_port}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None

    def close(self) -> None:
        self.stop()
        with self.context():
            db.session.remove()
            db.engine.dispose()


def build_unit(folder: Path, name: str, photos: list[tuple[str, str, str]]) -> Path:
    """A unit's instance folder: its SQLite database migrated, its gallery the ``(fixture photo,
    booking number, name)`` rows enrolled (no index: an exact scan). Built once per run, copied
    for each test (``open_unit``)."""
    with pytest.MonkeyPatch.context() as patch:
        unit = open_unit(folder, name, patch)
    with unit.context():
        upgrade(directory=str(Path(__file__).resolve().parents[2] / "migrations"))
        manifest = write_manifest(folder / "gallery.csv", [gallery_row(f, n, who) for f, n, who in photos])
        summary = import_manifest(manifest, actor=None, workers=1)
        assert summary.enrolled == len(photos), summary
        db.session.remove()
        db.engine.dispose()
    return folder


def open_unit(folder: Path, name: str, monkeypatch) -> Unit:
    """The unit whose instance folder (and SQLite database) is ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    with monkeypatch.context() as patch:
        patch.setenv("LEADDESK_INSTANCE_PATH", str(folder))
        patch.delenv("LEADDESK_DATABASE_URL", raising=False)
        app = create_app(
            "testing", {"DATABASE_URL": "sqlite:///leaddesk.sqlite3", "INTERCONNECT_UNIT_NAME": name}
        )
    return Unit(name, app, folder)


def make_unit(root: Path, name: str, photos: list[tuple[str, str, str]], monkeypatch) -> Unit:
    """A unit built from scratch (the benchmark's)."""
    build_unit(root / name, name, photos)
    return open_unit(root / name, name, monkeypatch)


__all__ = ["FACES", "Authority", "Unit", "build_unit", "make_unit", "open_unit"]
