"""Configuration classes.

Order of precedence (last wins): the class chosen by ``LEADDESK_CONFIG`` (development,
testing, production), then ``instance/config.py``, then ``LEADDESK_*`` environment
variables (Flask's ``from_prefixed_env``; values are parsed as JSON where they can be).
"""

from __future__ import annotations

from datetime import timedelta

DEV_SECRET_KEY = "dev-only-insecure-secret-key"  # noqa: S105 - refused in production  # nosec B105
PLACEHOLDER_UNIT_CONTACT = "frunit@example.invalid"  # refused in production
PLACEHOLDER_UNIT_AGENCY = "the County Sheriff's Department"  # refused in production


class Config:
    SECRET_KEY = DEV_SECRET_KEY
    # Relative to the instance folder unless absolute; a full URL (postgresql://...) wins.
    DATABASE_URL = "sqlite:///leaddesk.sqlite3"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLITE_BUSY_TIMEOUT_MS = 10_000

    # Sessions (CJIS 5.5.5 / 5.6): the cookie only carries an id; the server decides.
    SESSION_COOKIE_NAME = "leaddesk_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Strict"
    SESSION_COOKIE_SECURE = False
    SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
    SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=12)
    SESSION_WARNING_BEFORE = timedelta(minutes=1)  # the page warns this long before the idle end
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)

    # Sign-in (CJIS 5.5.3, 5.6.2.1).
    PASSWORD_MIN_LENGTH = 12
    PASSWORD_MAX_LENGTH = 128
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:600000"  # noqa: S105 - a method name  # nosec B105
    LOCKOUT_THRESHOLD = 5
    LOCKOUT_WINDOW = timedelta(minutes=15)
    # Per source address: more failures than this in the window and the form refuses to
    # try any password, so a stranger cannot cheaply lock every account.
    ADDRESS_THROTTLE_LIMIT = 20
    TOTP_ISSUER = "LeadDesk"
    # A password or authenticator reset of one's own account, and any change to another
    # administrator's, needs password and code again within this window.
    FRESH_SIGN_IN_WINDOW = timedelta(minutes=5)
    # A change waiting for a second administrator lapses after this; and an administrator
    # whose rights were asked for by someone (created as one, or made one) within it cannot
    # be that person's second administrator.
    APPROVAL_WINDOW = timedelta(days=30)
    # Fernet key (urlsafe base64, 32 bytes) for MFA secrets; derived from SECRET_KEY if unset.
    MFA_ENCRYPTION_KEY: str | None = None
    # HMAC key signing checkpoints of the audit chain; production needs it outside the instance
    # folder (the key itself, or a file elsewhere). Development keeps a file in the instance.
    AUDIT_CHECKPOINT_KEY: str | None = None
    AUDIT_CHECKPOINT_KEY_FILE: str | None = None
    # Where each checkpoint is also written (an append-only file, checkpoints.jsonl) once it
    # commits; default the instance's checkpoints/ folder. Production: a folder on another
    # disk or host, made append-only (chattr +a). Optionally syslog too: "/dev/log" or host:port.
    AUDIT_CHECKPOINT_DIR: str | None = None
    AUDIT_CHECKPOINT_SYSLOG: str | None = None
    # Uploads per person: at most this many photos in the window (a flood costs CPU and disk).
    UPLOAD_RATE_LIMIT = 60
    UPLOAD_RATE_WINDOW = timedelta(minutes=10)

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the (server-bounded) session
    WTF_CSRF_CHECK_DEFAULT = False  # checked after the session is loaded, so failures name who
    MAX_CONTENT_LENGTH = 420 * 1024 * 1024  # 10 images x 20 MB and one 200 MB video, plus the form
    MAX_FORM_MEMORY_SIZE = 2 * 1024 * 1024  # text fields; files stream to disk
    MAX_IMAGE_PIXELS = 50_000_000  # anything larger is refused as a decompression bomb
    TRUSTED_HOSTS: list[str] | None = None
    PROXY_FIX = False  # set true behind a TLS-terminating reverse proxy
    # The proxies whose X-Forwarded-* headers are believed (addresses or networks, a list or
    # "a, b"); from anyone else they are dropped. gunicorn reads the same LEADDESK_PROXY_IPS.
    PROXY_IPS: str | list[str] = "127.0.0.1"

    # Face matching (see docs/measured.md for where these numbers come from).
    FACE_DETECTOR_UPSAMPLE = 1
    FACE_CNN_FALLBACK = True
    FACE_LANDMARKS = 68  # 68-point alignment (5 is dlib's smaller model)
    GALLERY_JITTERS = 0
    GALLERY_FLIP = True
    PROBE_JITTERS = 0
    PROBE_FLIP = True
    # Who runs the recogniser's network (same weights, same descriptors within 1e-4):
    # "onnx" (ONNX Runtime, about 5 ms a chip here) or "dlib" (the wheel's own, about 100 ms).
    DESCRIPTOR_RUNTIME = "onnx"
    # The importing client's cluster credentials: ca.pem, client.pem, client-key.pem from
    # `flask cluster certs` (a folder outside the instance, readable by the operator only).
    # Sign-in with the county directory (docs/configuration.md): off without DIRECTORY_URL.
    DIRECTORY_URL: str | None = None  # ldaps://dir.county.local, or ldap://… with StartTLS
    DIRECTORY_USE_STARTTLS = False
    DIRECTORY_CA_FILE: str | None = None
    DIRECTORY_USER_DN: str | None = None  # "uid={username},ou=people,dc=county,dc=local"
    DIRECTORY_SEARCH_BASE: str | None = None  # or search here as the service account below
    DIRECTORY_BIND_DN: str | None = None
    DIRECTORY_BIND_PASSWORD: str | None = None
    DIRECTORY_USERNAME_ATTRIBUTE = "uid"
    DIRECTORY_REQUIRED_GROUP: str | None = None  # a group's DN its members must be in
    DIRECTORY_TIMEOUT_SECONDS = 5
    # E-mail notifications (docs/configuration.md): without MAIL_SERVER they go to the log.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False  # STARTTLS after connecting
    MAIL_USE_SSL = False  # TLS from the first byte (port 465)
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER = "leaddesk@localhost"
    MAIL_CA_FILE: str | None = None  # the county's CA, if the mail server's certificate is from it
    MAIL_TIMEOUT_SECONDS = 10
    MAIL_MAX_ATTEMPTS = 6  # retried after 1, 2, 4, 8, 16 minutes, then given up (and shown)
    PUBLIC_URL = "http://127.0.0.1:5000"  # the sign-in link messages carry
    # The interconnect (README, "Other counties"): this unit's name is its certificate's
    # common name; its key and certificate live in INTERCONNECT_DIR (instance/interconnect).
    INTERCONNECT_UNIT_NAME: str | None = None
    INTERCONNECT_DIR: str | None = None
    INTERCONNECT_TIMEOUT_SECONDS = 5.0  # the most a search waits for the peers, all together
    INTERCONNECT_CRL_FILE: str | None = None  # the authority's revocation list (PEM)
    GALLERY_CLUSTER_TLS_DIR: str | None = None
    GALLERY_CLUSTER_CHUNK = 16  # photos per task sent to a Dask cluster by `gallery import --scheduler`
    GALLERY_CLUSTER_CONNECT_SECONDS = 15
    # Face analyses shared on disk by the web workers (instance/cache/faces): derived
    # biometric data, so kept only as long as a review plausibly needs them.
    FACE_ANALYSIS_CACHE_DAYS = 7
    FACE_ANALYSIS_CACHE_ENTRIES = 20_000
    # Chosen from the benchmark (docs/measured.md): the fastest setting that finds at least
    # 99.5% of the true mates an exact search finds, for the gallery's size.
    SEARCH_STRATEGY = "auto"  # auto | exact | two-stage | annoy
    EXACT_SEARCH_MAX_GALLERY = 20_000  # below this an exact scan is as fast as anything
    TWO_STAGE_MAX_GALLERY = 500_000  # 100k: 2.2 ms, 100% of mates; above, Annoy is faster
    TWO_STAGE_SHORTLIST = 1000
    INDEX_REDUCED_DIMS = 32
    ANNOY_N_TREES = 50
    # From this many templates a forest of half as many trees: at 10,000,000 the 50-tree file
    # is 11.2 GB and the 25-tree one 8.3 GB (a serving process measured 11.8 GiB in all); both
    # reach the rule at p50 49-66 ms (docs/measured.md, "Ten million templates").
    ANNOY_LARGE_GALLERY = 5_000_000
    ANNOY_N_TREES_LARGE = 25
    ANNOY_SEARCH_K = 100_000  # 1M: 12.7 ms p50, 99.75% of mates
    # What each build measures on the gallery (app/matching/tuning.py) before choosing: the
    # fastest of these keeping 99.5% of the exact search's true mates, else the exact scan.
    TWO_STAGE_SHORTLISTS = (1000, 2000, 4000, 8000)
    ANNOY_SEARCH_KS = (25_000, 50_000, 100_000, 200_000, 400_000)
    RECALL_QUERIES = 200  # queries per measured setting
    INDEX_VERSIONS_KEPT = 3
    INDEX_REBUILD_HOUR = 2
    INDEX_REBUILD_MINUTE = 0
    SCHEDULER_TIMEZONE = "America/Los_Angeles"
    INDEX_MAX_AGE_HOURS = 26  # a nightly rebuild older than this is overdue

    # More reads of probes, candidates, bookings or reports than this by one person in one day
    # is flagged on the dashboard and in the monthly audit (a gallery being copied).
    READ_VOLUME_DAILY_LIMIT = 300

    # What each role signs before working in the portal (Policies & Training: the LACRIS policy
    # and the CAL-PHOTO user agreement); a new version is signed again.
    AGREEMENTS = {
        "fr_policy": {
            "title": "Facial Recognition Policy (LACRIS template, as adopted by the unit)",
            "version": "2026-01",
            "roles": ["requester", "reviewer", "admin"],
            "statement": (
                "I have read the Facial Recognition Policy and will use facial recognition only as it "
                "allows: results are investigative leads only, never a positive identification; no "
                "surveillance, live video or body-worn-camera use outside its limits; no search based "
                "on protected activity or traits; every use is audited."
            ),
        },
        "cal_photo": {
            "title": "California DOJ CAL-PHOTO / Justice Identity Manager User Agreement",
            "version": "2026-01",
            "roles": ["reviewer", "admin"],
            "statement": (
                "I have read and signed the CAL-PHOTO Justice Identity Manager User Agreement and access "
                "criminal offender record information only on a right-to-know and need-to-know basis."
            ),
        },
    }
    # The unit's own rules, stricter than the LACRIS template (quoted to requesters as local
    # rules, never as a clause of the template).
    LOCAL_RULES = {"refuse_dmv_probes": True, "refuse_scraped_probes": True}
    # An agency's requesters submit only while its own facial recognition policy ("Local PD
    # Facial Recognition Policy", the LA County slides) is on file with the unit.
    REQUIRE_AGENCY_POLICY = True
    # A viable lead rests on observed similarities (FISWG): at least this many of the 19
    # features marked similar, and every dissimilar one explained.
    VIABLE_LEAD_MIN_SIMILAR = 6
    # The request form's wording (the seed's, with the names from configuration).
    REPOSITORY_NAME = "Los Angeles County Digital Mugshot System"
    INTERCONNECT_NAME = "California Facial Recognition Interconnect (CAFRI)"

    UNIT_NAME = "Cal-ID / Facial Recognition Unit"
    UNIT_CONTACT = PLACEHOLDER_UNIT_CONTACT
    UNIT_AGENCY_NAME = PLACEHOLDER_UNIT_AGENCY  # owner of reports ("property of ...")
    REPORT_LOGO: str | None = None  # optional image file, relative to the instance folder
    # A lead's report carries each examiner's worksheet of the lead as an appendix.
    REPORT_WORKSHEETS = True


class DevelopmentConfig(Config):
    DEBUG = False  # the Werkzeug debugger is never on, even in development


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"  # noqa: S105 - tests only  # nosec B105
    ADDRESS_THROTTLE_LIMIT = 1000


class ProductionConfig(Config):
    SECRET_KEY = None
    SESSION_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
