"""What the proof scripts share: a throwaway instance, accounts with known second factors,
and a real two-factor sign-in. Nothing here is used by the portal itself."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pyotp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FACES = ROOT / "tests" / "fixtures" / "faces"
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@dataclass
class Account:
    username: str
    password: str
    totp_secret: str
    user_id: int

    @classmethod
    def from_record(cls, record: dict) -> Account:
        """From a record written by the set-up (``vars(account)`` plus what it works on)."""
        return cls(record["username"], record["password"], record["totp_secret"], record["user_id"])


def fresh_instance(database_url: str | None = None) -> Path:
    """A new instance folder; the app made after this call uses it (and ``database_url``)."""
    instance = Path(tempfile.mkdtemp(prefix="leaddesk-proof-"))
    os.environ["LEADDESK_INSTANCE_PATH"] = str(instance)
    if database_url:
        os.environ["LEADDESK_DATABASE_URL"] = database_url
    return instance


def migrate(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))


def make_account(role, agency_code: str, username: str) -> Account:
    """A signed-up, MFA-enrolled (and for reviewers certified) account. Needs an app context."""
    from app.clock import utcnow
    from app.extensions import db
    from app.models import CertificationProvider, Role
    from app.services.identity import accounts, mfa

    try:
        agency = accounts.get_agency_by_code(agency_code)
    except Exception:
        db.session.rollback()
        agency = accounts.create_agency(
            actor=None,
            name=f"Agency {agency_code}",
            code=agency_code,
            local_policy_title="Policy 345: Facial Recognition",
        )
    password = secrets.token_urlsafe(18)
    user = accounts.create_user(
        actor=None, username=username, full_name=f"Proof {username}", role=role, agency=agency,
        password=password, email=f"{username}@example.invalid", reason="proof script",
    )  # fmt: skip
    secret = pyotp.random_base32()
    user.mfa_secret_encrypted = mfa.encrypt_secret(secret)
    user.mfa_enrolled_at = utcnow()
    if role is Role.REVIEWER:
        today = utcnow().date()
        accounts.certify_user(
            actor=None, user=user, provider=CertificationProvider.LACRIS, number=f"LACRIS-P-{username}",
            completed_on=today - timedelta(days=30), expires_on=today + timedelta(days=300),
        )  # fmt: skip
    from app.models import PolicyAcknowledgement
    from app.services.identity.accounts import agreements_for

    for agreement in agreements_for(user):  # the policies the role works under, signed
        db.session.add(
            PolicyAcknowledgement(
                user_id=user.id, document=agreement.key, version=agreement.version, typed_name=user.full_name
            )
        )
    db.session.commit()
    return Account(username, password, secret, user.id)


def csrf(html: str | bytes) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    match = CSRF_RE.search(text)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1)


def sign_in(get, post, account: Account) -> None:
    """Password, use notice and TOTP through the real forms. ``get``/``post`` return
    (status, text) so the same steps drive a test client or an HTTP session."""
    _, page = get("/auth/login")
    status, _ = post(
        "/auth/login",
        {
            "csrf_token": csrf(page),
            "username": account.username,
            "password": account.password,
            "acknowledge": "y",
        },
    )
    if status != 302:
        raise RuntimeError(f"password step for {account.username}: HTTP {status}")
    _, page = get("/auth/mfa")
    status, _ = post("/auth/mfa", {"csrf_token": csrf(page), "code": pyotp.TOTP(account.totp_secret).now()})
    if status != 302:
        raise RuntimeError(f"TOTP step for {account.username}: HTTP {status}")


def serve_portal(instance: Path, port: int, **env_overrides: str) -> subprocess.Popen:
    """gunicorn with gunicorn.conf.py in the production configuration, on loopback, until it
    answers /healthz. Needs LEADDESK_SECRET_KEY and LEADDESK_DATABASE_URL in the environment."""
    env = {
        **os.environ,
        "LEADDESK_CONFIG": "production",
        "LEADDESK_TRUSTED_HOSTS": '["127.0.0.1"]',
        "LEADDESK_BIND": f"127.0.0.1:{port}",
        # Loopback without the TLS proxy: the cookie cannot be Secure-only here, and every
        # simulated person signs in from one address.
        "LEADDESK_SESSION_COOKIE_SECURE": "false",
        "LEADDESK_ADDRESS_THROTTLE_LIMIT": "100000",
        **env_overrides,
    }
    log = (instance / "gunicorn.log").open("a")
    portal = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return portal
        except OSError:
            time.sleep(0.5)
    portal.kill()
    raise RuntimeError("the portal did not come up; see gunicorn.log in the instance folder")


def stop_portal(portal: subprocess.Popen) -> None:
    portal.send_signal(signal.SIGTERM)
    portal.wait(timeout=60)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def worker_rss_mb(master_pid: int) -> list[float]:
    """Resident memory of each of a gunicorn master's workers, from /proc."""
    sizes = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == master_pid:  # the parent pid
                pages = int((stat.parent / "statm").read_text().split()[1])
                sizes.append(pages * os.sysconf("SC_PAGE_SIZE") / 1e6)
        except (OSError, IndexError, ValueError):
            continue  # a process that ended meanwhile
    return sorted(sizes)
