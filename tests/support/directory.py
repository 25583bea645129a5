"""A throwaway OpenLDAP server (Debian's `slapd`) on loopback for the directory sign-in tests:
a cn=config made here, a test CA's certificate for LDAPS and StartTLS, a few people, a group
and a service account."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.services.gallery import cluster_certs
from tests.support.live import free_port

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SLAPADD = shutil.which("slapadd") or "/usr/sbin/slapadd"
SCHEMA = Path("/etc/ldap/schema")
MODULES = Path("/usr/lib/ldap")
SUFFIX = "dc=county,dc=test"
ROOT_DN, ROOT_PASSWORD = f"cn=admin,{SUFFIX}", "root-secret-for-tests"
SERVICE_DN, SERVICE_PASSWORD = f"cn=leaddesk,ou=services,{SUFFIX}", "service-secret-for-tests"
GROUP_DN = f"cn=leaddesk-users,ou=groups,{SUFFIX}"
PEOPLE = {"rita": "rita's directory passphrase", "sam": "sam's directory passphrase"}  # sam: not in the group


def available() -> bool:
    return Path(SLAPD).exists() and Path(SLAPADD).exists() and (SCHEMA / "inetorgperson.ldif").exists()


def person_dn(uid: str) -> str:
    return f"uid={uid},ou=people,{SUFFIX}"


@dataclass
class DirectoryServer:
    root: Path
    ldap_port: int
    ldaps_port: int
    process: subprocess.Popen | None = None

    @property
    def ca_file(self) -> str:
        return str(self.root / "tls" / "ca.pem")

    @classmethod
    def start(cls) -> DirectoryServer:
        root = Path(tempfile.mkdtemp(prefix="leaddesk-ldap-"))
        server = cls(root, free_port(), free_port())
        server._configure()
        server._run()
        return server

    def _configure(self) -> None:
        tls = self.root / "tls"
        cluster_certs.make_ca(tls, unit="Directory test")
        cert, key = cluster_certs.issue(tls, "directory", hosts=("127.0.0.1",))
        data = self.root / "data"
        config = self.root / "slapd.d"
        data.mkdir()
        config.mkdir()
        (self.root / "config.ldif").write_text(
            f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcTLSCACertificateFile: {tls / "ca.pem"}
olcTLSCertificateFile: {cert}
olcTLSCertificateKeyFile: {key}
olcPidFile: {self.root / "slapd.pid"}

dn: cn=module,cn=config
objectClass: olcModuleList
cn: module
olcModulePath: {MODULES}
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://{SCHEMA / "core.ldif"}
include: file://{SCHEMA / "cosine.ldif"}
include: file://{SCHEMA / "inetorgperson.ldif"}

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {SUFFIX}
olcRootDN: {ROOT_DN}
olcRootPW: {ROOT_PASSWORD}
olcDbDirectory: {data}
olcSecurity: simple_bind=128
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by users read by * none
"""
        )
        people = "".join(
            f"""
dn: {person_dn(uid)}
objectClass: inetOrgPerson
uid: {uid}
cn: {uid.title()}
sn: {uid.title()}
userPassword: {password}
"""
            for uid, password in PEOPLE.items()
        )
        (self.root / "data.ldif").write_text(
            f"""dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
dc: county
o: County

dn: ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{SUFFIX}
objectClass: organizationalUnit
ou: groups

dn: ou=services,{SUFFIX}
objectClass: organizationalUnit
ou: services

dn: {SERVICE_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: leaddesk
userPassword: {SERVICE_PASSWORD}
{people}
dn: {GROUP_DN}
objectClass: groupOfNames
cn: leaddesk-users
member: {person_dn("rita")}
"""
        )
        for database, ldif in (("0", "config.ldif"), ("1", "data.ldif")):
            subprocess.run(
                [SLAPADD, "-n", database, "-F", str(config), "-l", str(self.root / ldif)],
                check=True,
                capture_output=True,
            )

    def _run(self) -> None:
        urls = f"ldap://127.0.0.1:{self.ldap_port}/ ldaps://127.0.0.1:{self.ldaps_port}/"
        log = (self.root / "slapd.log").open("wb")
        self.process = subprocess.Popen(
            [SLAPD, "-h", urls, "-F", str(self.root / "slapd.d"), "-d", "0"], stdout=log, stderr=log
        )
        log.close()
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.ldaps_port), timeout=1):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    said = (self.root / "slapd.log").read_text()[-2000:]
                    raise RuntimeError(f"slapd did not start: {said}") from None
                time.sleep(0.1)

    @contextmanager
    def admin(self):
        """A connection as the directory's root (to change people during a test), over LDAPS."""
        import ssl

        from ldap3 import Connection, Server, Tls

        tls = Tls(ca_certs_file=self.ca_file, validate=ssl.CERT_REQUIRED)
        server = Server("127.0.0.1", port=self.ldaps_port, use_ssl=True, tls=tls)
        connection = Connection(server, user=ROOT_DN, password=ROOT_PASSWORD, auto_bind=True)
        try:
            yield connection
        finally:
            connection.unbind()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
        shutil.rmtree(self.root, ignore_errors=True)
