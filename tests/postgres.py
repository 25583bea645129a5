"""A throwaway PostgreSQL server on loopback for the test run (``LEADDESK_TEST_DATABASE=postgresql``).

Debian's server binaries, a data folder under /tmp, a free port on 127.0.0.1. fsync is off
for speed: a crash of the server keeps what it committed, a crash of the machine may not, and
the data is thrown away when the run ends anyway. The server refuses to run as root, so as
root it runs as the ``postgres`` account the package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from tests.support.live import free_port

SUPERUSER = "leaddesk_admin"  # creates and drops the per-test databases
OWNER_ROLE = "leaddesk_owner"  # owns the databases and tables; the migrations run as it
APP_ROLE = "leaddesk"  # what the app serves as: may only add to and read the audit tables


def server_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    def __init__(self) -> None:
        bindir = server_binaries()
        if bindir is None:
            raise RuntimeError(
                "PostgreSQL server binaries not found; `make test` installs Debian's postgresql "
                "package (apt-get install postgresql) before this run."
            )
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="leaddesk-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.run_as: str | None = None
        self._role_created = False
        if os.geteuid() == 0:
            self.run_as = "postgres"
            account = pwd.getpwnam(self.run_as)
            os.chown(self.root, account.pw_uid, account.pw_gid)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, cwd=self.root)

    def start(self) -> None:
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8")
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} "
            "-c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        result = self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start",
            check=False,
        )  # fmt: skip
        if result.returncode:
            log = (self.root / "log").read_text() if (self.root / "log").exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {result.stderr}\n{log}")
        if not self._role_created:
            for role in (OWNER_ROLE, APP_ROLE):
                self.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER").format(sql.Identifier(role)))
            self._role_created = True

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def is_ready(self) -> bool:
        try:
            with psycopg.connect(self.admin_url(), connect_timeout=1):
                return True
        except psycopg.OperationalError:
            return False

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str, role: str = APP_ROLE) -> str:
        """What the app is given: its serving role (or the owner, to migrate), the driver LeadDesk ships."""
        return f"postgresql+psycopg://{role}@127.0.0.1:{self.port}/{database}"

    def admin_url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def execute(self, statement: sql.Composable | str) -> None:
        with psycopg.connect(self.admin_url(), autocommit=True) as connection:
            connection.execute(statement)

    def create_database(self, name: str, template: str | None = None) -> str:
        statement = sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(OWNER_ROLE), sql.Identifier(template or "template0")
        )
        self.execute(statement)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def wait_until_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.is_ready():
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not come back")
            time.sleep(0.1)
