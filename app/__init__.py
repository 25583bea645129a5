"""LeadDesk: face photos to investigative leads, under the use policy.

``create_app`` reads as a table of contents and stays cheap: it loads no face models,
starts no scheduler and runs no migrations.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, g, request

from app.config import CONFIGS
from app.config_checks import check_choices, check_production_config, normalise_durations
from app.extensions import csrf, db, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config_name: str | None = None, test_config: dict[str, Any] | None = None) -> Flask:
    instance_path = os.environ.get("LEADDESK_INSTANCE_PATH") or str(PROJECT_ROOT / "instance")
    app = Flask(__name__, instance_path=os.path.abspath(instance_path), instance_relative_config=True)
    load_config(app, config_name, test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    register_extensions(app)
    register_request_hooks(app)
    register_blueprints(app)
    register_commands(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    return app


def load_config(app: Flask, config_name: str | None, test_config: dict[str, Any] | None) -> None:
    config_name = config_name or os.environ.get("LEADDESK_CONFIG", "development")
    if config_name not in CONFIGS:
        raise RuntimeError(f"LEADDESK_CONFIG must be one of {sorted(CONFIGS)}, not {config_name!r}")
    app.config.from_object(CONFIGS[config_name])
    app.config["CONFIG_NAME"] = config_name
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("LEADDESK")
    if test_config:
        app.config.update(test_config)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(app)
    normalise_durations(app)
    check_choices(app)
    from app.services.identity.directory import check_at_start as check_directory_at_start

    check_directory_at_start(app.config)
    if config_name == "production":
        check_production_config(app)
    if app.config.get("PROXY_FIX"):
        from app.security.proxy import TrustedProxy, parse_proxy_ips

        app.wsgi_app = TrustedProxy(app.wsgi_app, parse_proxy_ips(app.config["PROXY_IPS"]))


def database_uri(app: Flask) -> str:
    url = app.config["DATABASE_URL"]
    if url.startswith("postgres://"):  # the old Heroku-style scheme SQLAlchemy rejects
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        relative = url.removeprefix("sqlite:///")
        if relative and relative != ":memory:":
            url = "sqlite:///" + os.path.join(app.instance_path, relative)
    return url


def register_extensions(app: Flask) -> None:
    from app.db_setup import configure_engine_events

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = None  # the server-side session is the protection

    @login_manager.request_loader
    def load_user_from_server_session(_request):
        user_session = g.get("user_session")
        return user_session.user if user_session is not None else None

    with app.app_context():
        configure_engine_events(db.engine)


def register_request_hooks(app: Flask) -> None:
    from app.blueprints.common import register_commit_point
    from app.security.access import enforce_access, load_user_session
    from app.security.headers import set_security_headers
    from app.services.oversight.audit import set_audit_source

    @app.before_request
    def audit_context():
        set_audit_source(request.remote_addr or "unknown")

    app.before_request(load_user_session)
    app.before_request(enforce_access)

    # CSRF after the session is known, so a refused token is audited with who sent it. A
    # peer unit's API call carries no token: its client certificate is what proves it.
    @app.before_request
    def csrf_protect():
        from app.security.access import rule_for_endpoint

        rule = rule_for_endpoint(request.endpoint) if request.endpoint else None
        if rule is None or not rule.peer_unit:
            csrf.protect()

    app.after_request(set_security_headers)
    register_commit_point(app)  # runs before the headers are set: its 503 page gets them too


def register_blueprints(app: Flask) -> None:
    from app.blueprints.admin import bp as admin_bp
    from app.blueprints.auth import bp as auth_bp
    from app.blueprints.interconnect import bp as interconnect_bp
    from app.blueprints.main import bp as main_bp
    from app.blueprints.reports import bp as reports_bp
    from app.blueprints.requests import bp as requests_bp
    from app.blueprints.review import bp as review_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(requests_bp, url_prefix="/requests")
    app.register_blueprint(review_bp, url_prefix="/review")
    app.register_blueprint(reports_bp, url_prefix="/reports")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(interconnect_bp, url_prefix="/interconnect")


def register_commands(app: Flask) -> None:
    from app.cli import register

    register(app)


def register_errorhandlers(app: Flask) -> None:
    from app.errors import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from app.templating import register

    register(app)
