"""CSRF, headers, error pages, and the route × role matrix (deny by default)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Outcome, Role
from app.security.access import rule_for_endpoint


def test_csrf_token_required_on_state_changes(auth, client, make_user):
    user = make_user()
    response = client.post(
        "/auth/login", data={"username": user.username, "password": "x" * 12, "acknowledge": "y"}
    )
    assert response.status_code == 400
    auth.login(user)
    assert client.post("/auth/logout").status_code == 400  # no token: still signed in
    assert client.get("/").status_code == 200
    assert client.post("/auth/logout", data={"csrf_token": "forged"}).status_code == 400


def test_security_headers_everywhere(auth, client, make_user):
    auth.login(make_user())
    for url in ("/auth/login", "/", "/no-such-page", "/static/css/app.css"):
        with client.get(url) as response:
            headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "'unsafe-inline'" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script_or_cdn(auth, client, make_user):
    auth.login(make_user(Role.ADMIN))
    html = client.get("/").get_data(as_text=True)
    assert "<script>" not in html and "onclick=" not in html
    assert "http://" not in html and "https://" not in html
    assert "UNCLASSIFIED//LAW ENFORCEMENT SENSITIVE" in html


def test_error_pages_reveal_nothing(app, client):
    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internal detail /srv/leaddesk/db password=hunter2")

    boom.access_rule = rule_for_endpoint("auth.login")  # public, for this test only
    response = client.get("/boom")
    assert response.status_code == 500
    assert b"secret internal detail" not in response.data and b"Traceback" not in response.data
    assert b"Something went wrong" in response.data
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and b"Not found" in missing.data


def test_oversized_request_gets_413_page(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/auth/login", data={"username": "x" * 5000})
    assert response.status_code == 413
    assert b"Upload too large" in response.data


def _every_route(app):
    from werkzeug.routing.converters import AnyConverter

    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        args = {
            arg: sorted(converter.items)[0] if isinstance(converter, AnyConverter) else 1
            for arg, converter in rule._converters.items()
        }
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method, rule.build(args, append_unknown=False)[1]


def test_every_route_has_an_access_rule(app):
    missing = [r.endpoint for r in app.url_map.iter_rules() if rule_for_endpoint(r.endpoint) is None]
    assert missing == []


@pytest.mark.clause("PS-2")
@pytest.mark.parametrize("role", [None, *Role])
def test_route_role_matrix(app, auth, client, make_user, role):
    """Walk the URL map: each role reaches exactly what its rule allows."""
    if role is not None:
        user = make_user(role, certified=True if role is Role.REVIEWER else None)
        auth.login(user)
    app.config["WTF_CSRF_ENABLED"] = False  # the matrix is about access, not CSRF
    checked = 0
    for rule, method, path in _every_route(app):
        if rule.endpoint in ("auth.logout", "auth.sign_out_everywhere"):
            continue  # would end the session under test
        access = rule_for_endpoint(rule.endpoint)
        response = client.open(path, method=method)
        checked += 1
        if access.public:
            assert response.status_code != 403, path
        elif access.peer_unit:  # a peer unit's API: a client certificate, whoever signed in
            assert response.status_code == 403, (path, role)
        elif role is None:
            assert response.status_code == 302 and "/auth/login" in response.headers["Location"], path
        elif access.roles is not None and role not in access.roles:
            assert response.status_code == 403, (path, role)
        else:
            assert response.status_code not in (401, 403), (path, role, response.status_code)
    assert checked > 0


def test_denied_access_is_audited(auth, client, make_user, app):
    from app.security.access import admin_required

    @app.route("/admin-only-probe")
    @admin_required
    def admin_only_probe():
        return "secret"

    auth.login(make_user(Role.REQUESTER))
    assert client.get("/admin-only-probe").status_code == 403
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "access.denied" and event.outcome == Outcome.DENIED
    assert event.object_id == "admin_only_probe"


@pytest.mark.clause("AU-1")
def test_cross_agency_access_is_404_and_audited(auth, client, make_user, make_agency):
    other = make_agency(code="OTHER", name="Other Agency")
    requester = make_user(Role.REQUESTER)
    auth.login(requester)
    assert client.get(f"/agencies/{requester.agency_id}").status_code == 200
    response = client.get(f"/agencies/{other.id}")
    assert response.status_code == 404
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (event.action, event.outcome, event.object_type, event.object_id) == (
        "access.denied",
        Outcome.DENIED,
        "agency",
        str(other.id),
    )
    assert event.actor_id == requester.id
    # staff see every agency
    auth.logout()
    auth.login(make_user(Role.ADMIN))
    assert client.get(f"/agencies/{other.id}").status_code == 200


@pytest.mark.clause("TR-1")
def test_uncertified_reviewer_told_why(auth, client, make_user, clock):
    from app.models import CertificationProvider, TrainingCertification
    from app.services.identity.accounts import search_eligibility

    reviewer = make_user(Role.REVIEWER, certified=False)
    assert not search_eligibility(reviewer)
    assert "no FBI or LACRIS" in search_eligibility(reviewer).message
    db.session.add(
        TrainingCertification(
            user=reviewer,
            provider=CertificationProvider.FBI,
            certificate_number="FBI-77",
            completed_on=clock.today().replace(year=clock.today().year - 3),
            expires_on=clock.today().replace(year=clock.today().year - 1),
        )
    )
    db.session.commit()
    db.session.refresh(reviewer)
    message = search_eligibility(reviewer).message
    assert "expired on" in message and "FBI-77" in message
    auth.login(reviewer)
    assert "expired on" in client.get("/").get_data(as_text=True)


def test_untrusted_host_is_refused_plainly(app, client):
    app.config["TRUSTED_HOSTS"] = ["leaddesk.test"]
    assert client.get("/auth/login", headers={"Host": "leaddesk.test"}).status_code == 200
    response = client.get("/auth/login", headers={"Host": "evil.example"})
    assert response.status_code == 400 and response.data == b"Bad request."
