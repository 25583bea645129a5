"""Three LeadDesk units on loopback, each with its own database and gallery, serving HTTPS with
mutual TLS and certificates the test makes: Los Angeles (this test's app) searches Riverside and
San Bernardino; a lead from Riverside is revealed, reported, then sealed at Riverside; a peer
killed mid-search, a slow one and one answering nonsense never hold the list back; foreign,
expired, revoked and unknown certificates are refused."""

from __future__ import annotations

import json
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Booking, Conclusion, DecisionOutcome, PeerDisclosure, PeerSearch, Report
from app.services.gallery.sealing import seal_booking
from app.services.interconnect import peer_search, trust
from app.services.platform.errors import ServiceError
from app.services.reports import issuance
from app.services.review import assignments, decisions, examinations, probes, searches
from tests.support.reports import CHECKLIST, pdf_text
from tests.support.review import determine_all
from tests.support.units import Authority, build_unit, open_unit

RIVERSIDE = [
    ("john_simm__3.jpg", "RV-1001", "John Simm"),
    ("kit_harington__2.jpeg", "RV-1002", "Kit Harington"),
    ("steve_wozniak__2.jpg", "RV-1003", "Steve Wozniak"),
]
SAN_BERNARDINO = [
    ("barack_obama__2.jpg", "SB-2001", "Barack Obama"),
    ("joe_biden__2.jpg", "SB-2002", "Joe Biden"),
]


class Recorder:
    """Wraps a unit's server: keeps what it answered, and can hold or kill a request."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.hold = threading.Event()
        self.hold.set()
        self.arrived = threading.Event()
        self.kill = False

    def __call__(self, application):
        def respond(environ, start_response):
            if environ["PATH_INFO"].endswith("/search"):
                self.arrived.set()
                if self.kill:  # the process dies with the question in hand: the connection drops
                    environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
                    raise ConnectionResetError("killed")
                self.hold.wait(30)
            body = application(environ, start_response)
            self.bodies.append(b"".join(body))
            return [self.bodies[-1]]

        return respond


@pytest.fixture
def app(gallery_app):
    return gallery_app


@pytest.fixture(scope="session")
def unit_folders(tmp_path_factory) -> dict[str, Path]:
    """Riverside's and San Bernardino's instance folders, migrated and enrolled once a run."""
    root = tmp_path_factory.mktemp("units")
    return {
        name: build_unit(root / name, name, photos)
        for name, photos in (("riverside", RIVERSIDE), ("sanbern", SAN_BERNARDINO))
    }


@pytest.fixture
def cafri(gallery_app, tmp_path, monkeypatch, unit_folders):
    authority = Authority(tmp_path / "authority")
    runner = gallery_app.test_cli_runner()
    made = runner.invoke(args=["interconnect", "key", "--name", "losangeles", "--host", "127.0.0.1"])
    assert made.exit_code == 0, made.output
    signed = authority.sign_request(trust.folder() / trust.REQUEST_FILE, tmp_path / "losangeles.pem")
    installed = runner.invoke(
        args=["interconnect", "install", str(signed), "--authority", str(authority.file)]
    )
    assert installed.exit_code == 0, installed.output
    units, recorders = {}, {}
    for name, template in unit_folders.items():
        shutil.copytree(template, tmp_path / "units" / name)
        unit = open_unit(tmp_path / "units" / name, name, monkeypatch)
        authority.issue(unit.folder / "interconnect", name)
        unit.trust("losangeles", "https://127.0.0.1:9", authority)
        recorders[name] = Recorder()
        unit.serve([authority.pem], wrap=recorders[name])
        added = runner.invoke(
            args=["interconnect", "peers", "add", name, unit.url, "--authority", str(authority.file)]
        )
        assert added.exit_code == 0, added.output
        units[name] = unit
    gallery_app.config["INTERCONNECT_TIMEOUT_SECONDS"] = 2.0
    yield {"authority": authority, "units": units, "recorders": recorders, "runner": runner}
    for recorder in recorders.values():
        recorder.hold.set()
    for unit in units.values():
        unit.close()


def _search(request, reviewer, names=None):
    assignments.claim(request, reviewer=reviewer)
    determine_all(request, reviewer)
    work = probes.probe_work(request.images[0], reviewer)
    search = searches.run_search(
        request, reviewer=reviewer, works=[work], top_k=10, peers=peer_search.chosen_peers(names)
    )
    db.session.commit()
    return search


def _status(search) -> dict[str, str]:
    return {r["name"]: r["status"] for r in search.repositories}


@pytest.mark.clause("AU-2")
def test_a_search_across_three_units_merges_by_score_and_names_nobody(cafri, submitted, people):
    search = _search(submitted, people["first"])
    assert _status(search) == {"local": "answered", "riverside": "answered", "sanbern": "answered"}
    entries = search.result_list
    assert [e["distance"] for e in entries] == sorted(e["distance"] for e in entries)
    from_riverside = [e for e in entries if e.get("repository") == "riverside"]
    # each peer answered its whole gallery (K is larger); the merged list keeps the K nearest people
    answered = {r["name"]: r.get("candidates") for r in search.repositories}
    assert answered["riverside"] == 3 and answered["sanbern"] == 2
    assert len({e["person_rank"] for e in entries}) == 10
    # the probe's mate at Riverside (another photo of John Simm) is among the two nearest people
    riverside_best = min(from_riverside, key=lambda e: e["distance"])
    assert riverside_best["person_rank"] <= 2 and riverside_best["distance"] < 0.6
    booking = db.session.get(Booking, riverside_best["booking_id"])
    assert booking.repository == "riverside" and "Not revealed" in booking.subject.name
    # what crossed the wire: descriptors one way, references, scores and aligned chips the other
    answer = json.loads(cafri["recorders"]["riverside"].bodies[-1])
    text = json.dumps(answer)
    for secret in ("John Simm", "RV-1001", "Kit Harington", "RV-1002", "1970-01-02"):
        assert secret not in text
    assert set(answer["candidates"][0]) == {
        "reference",
        "person",
        "distance",
        "score",
        "found_by",
        "chip",
        "landmarks",
    }
    # Riverside recorded who asked, from which unit, why (the values read here first: inside a
    # unit's context the session is that unit's)
    expected = ("losangeles", submitted.case_number, submitted.purpose, submitted.tracking_number)
    reviewer_name = people["first"].full_name
    with cafri["units"]["riverside"].context():
        asked = db.session.scalars(select(PeerSearch)).one()
        assert (asked.peer_name, asked.case_number, asked.purpose, asked.tracking_number) == expected
        assert asked.reviewer_name == reviewer_name
        assert asked.reviewer_certification.startswith("LACRIS L-")
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "interconnect.search_answered")
        ).one()
        assert event.actor_username == "peer:losangeles"


@pytest.mark.clause("SR-2")
def test_a_lead_from_a_peer_is_revealed_at_the_conclusion_reported_and_sealed_from_there(
    cafri, submitted, people
):
    first, second = people["first"], people["second"]
    search = _search(submitted, first)
    entry = min(
        (e for e in search.result_list if e.get("repository") == "riverside"), key=lambda e: e["distance"]
    )
    examination = examinations.open_candidate(search, entry["rank"], reviewer=first)
    chip = examinations.booking_chip(examination.booking)
    assert chip.pixels.shape[:2] == (512, 512) and len(chip.landmarks) == 68  # the peer's aligned image
    with cafri["units"]["riverside"].context():
        assert (
            db.session.scalars(select(PeerDisclosure).where(PeerDisclosure.revealed_at.is_not(None))).all()
            == []
        )
    examinations.save_examination(
        examination, reviewer=first, checklist=CHECKLIST, conclusion=Conclusion.VIABLE_LEAD, note=""
    )
    db.session.commit()
    booking = db.session.get(Booking, entry["booking_id"])
    assert booking.subject.name == "John Simm" and booking.booking_number == "riverside/RV-1001"
    assert booking.subject.date_of_birth is not None and booking.subject.sid
    first_name = first.full_name
    with cafri["units"]["riverside"].context():
        revealed = db.session.scalars(
            select(PeerDisclosure).where(PeerDisclosure.revealed_at.is_not(None))
        ).one()
        assert revealed.booking.booking_number == "RV-1001"
        audited = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "interconnect.reveal_answered")
        ).one()
        assert json.loads(audited.detail)["reviewer"] == first_name
    decisions.decide(
        submitted, reviewer=first, outcome=DecisionOutcome.LEAD, search=search, examination=examination
    )
    assignments.claim_verification(submitted, reviewer=second)
    mine = examinations.open_candidate(search, entry["rank"], reviewer=second)
    examinations.save_examination(
        mine, reviewer=second, checklist=CHECKLIST, conclusion=Conclusion.VIABLE_LEAD, note=""
    )
    decisions.decide(
        submitted, reviewer=second, outcome=DecisionOutcome.LEAD, search=search, examination=mine
    )
    report = issuance.issue_report(submitted, actor=first)
    db.session.commit()
    text = pdf_text(_stored(report))
    assert "John Simm" in text and "riverside/RV-1001" in text and "Repository" in text
    # sealed at Riverside: the daily check brings the seal here, and the report gets its notice
    with cafri["units"]["riverside"].context():
        sealed = db.session.scalar(select(Booking).where(Booking.booking_number == "RV-1001"))
        seal_booking(sealed, reference="Order 2026-77", actor=None)
        db.session.commit()
    outcome = cafri["runner"].invoke(args=["interconnect", "seals"])
    assert outcome.exit_code == 0 and "riverside: 1 newly sealed" in outcome.output, outcome.output
    db.session.expire_all()
    assert db.session.get(Booking, entry["booking_id"]).sealed
    assert db.session.get(Report, report.id).seal_notice_at is not None
    with cafri["units"]["riverside"].context():  # Riverside audited what it told
        told = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "interconnect.seals_answered")
        )
        assert [json.loads(e.detail)["sealed"] for e in told] == [1]
    # told once: asking again seals nothing new
    assert "riverside: 0 newly sealed" in cafri["runner"].invoke(args=["interconnect", "seals"]).output


def _stored(report) -> bytes:
    from app.services.platform import storage

    return storage.path_of(report.file_path).read_bytes()


def test_a_peer_killed_mid_search_or_slow_never_holds_the_list_back(cafri, submitted, people):
    riverside, sanbern = cafri["recorders"]["riverside"], cafri["recorders"]["sanbern"]
    sanbern.hold.clear()  # San Bernardino hangs
    riverside.kill = True  # Riverside dies with the question in hand
    started = time.monotonic()
    search = _search(submitted, people["first"])
    elapsed = time.monotonic() - started
    assert riverside.arrived.is_set() and sanbern.arrived.is_set()
    status = _status(search)
    assert status["local"] == "answered" and status["riverside"] == "down" and status["sanbern"] == "slow"
    assert elapsed < 2.0 + 4.0  # the bounded wait (2 s in this test) plus the local search
    assert search.result_list and all(e.get("repository") is None for e in search.result_list)
    # the admin sees each peer's status
    from app.services.interconnect.peers import peer_named

    assert peer_named("riverside").last_status == "down" and peer_named("sanbern").last_status == "slow"


def test_a_peer_answering_nonsense_is_refused_whole(cafri, submitted, people, monkeypatch):
    from app.services.interconnect import client

    real = client.call

    def tampered(target, method, path, **kwargs):
        reply = real(target, method, path, **kwargs)
        if target.name == "sanbern" and reply.payload:
            reply.payload["candidates"][0]["score"] = 99.9  # a score that does not follow from its distance
        return reply

    monkeypatch.setattr(client, "call", tampered)
    search = _search(submitted, people["first"])
    row = next(r for r in search.repositories if r["name"] == "sanbern")
    assert row["status"] == "invalid" and "score" in row["error"]
    assert not [e for e in search.result_list if e.get("repository") == "sanbern"]


def _call(unit, path, cert, key, verify, **kwargs):
    return requests.post(
        unit.url + "/interconnect/v1" + path,
        cert=(str(cert), str(key)),
        verify=str(verify),
        timeout=10,
        **kwargs,
    )


def _question(submitted) -> dict:
    from app.services.gallery.search import gallery_model_id
    from app.services.interconnect.wire import PROTOCOL

    return {
        "protocol": PROTOCOL,
        "unit": "losangeles",
        "model_id": gallery_model_id(),
        "descriptors": [[1 / 128**0.5] * 128],
        "top_k": 5,
        "case_number": "24-001",
        "purpose": "active_investigation",
        "tracking_number": submitted.tracking_number,
        "reviewer_name": "R",
        "reviewer_certification": "LACRIS 1",
    }


def test_certificates_from_elsewhere_expired_revoked_or_unknown_are_refused(cafri, submitted, tmp_path):
    riverside = cafri["units"]["riverside"]
    authority = cafri["authority"]
    ours = trust.folder()
    good = _call(
        riverside,
        "/search",
        ours / trust.CERT_FILE,
        ours / trust.KEY_FILE,
        authority.file,
        json=_question(submitted),
    )
    assert good.status_code == 200, good.text
    foreign = Authority(tmp_path / "foreign", name="Some other CA")
    cert, key, _ = foreign.issue(tmp_path / "foreign-unit", "losangeles")
    with pytest.raises(requests.exceptions.SSLError):
        _call(riverside, "/search", cert, key, authority.file, json=_question(submitted))
    cert, key, _ = authority.issue(tmp_path / "expired-unit", "losangeles", expired=True)
    with pytest.raises(requests.exceptions.SSLError):
        _call(riverside, "/search", cert, key, authority.file, json=_question(submitted))
    # from the authority, valid, but not a peer of Riverside
    cert, key, _ = authority.issue(tmp_path / "stranger", "kern")
    refused = _call(riverside, "/search", cert, key, authority.file, json=_question(submitted))
    assert refused.status_code == 403 and "not a peer" in refused.json()["error"]
    # revoked by the authority: the handshake passes, the unit refuses it
    cert, key, revoked = authority.issue(tmp_path / "revoked-unit", "losangeles")
    riverside.app.config["INTERCONNECT_CRL_FILE"] = str(authority.revocation_list([revoked.serial_number]))
    refused = _call(riverside, "/search", cert, key, authority.file, json=_question(submitted))
    assert refused.status_code == 403 and "revoked" in refused.json()["error"]
    with riverside.context():
        reasons = db.session.scalars(
            select(AuditEvent.reason).where(AuditEvent.action == "interconnect.refused")
        ).all()
        assert any("not a peer" in r for r in reasons) and any("revoked" in r for r in reasons)


@pytest.mark.clause("PS-1")
def test_a_question_is_checked_purpose_model_and_rate(cafri, submitted):
    riverside = cafri["units"]["riverside"]
    ours = trust.folder()

    def ask(**changes):
        question = _question(submitted) | changes
        return _call(
            riverside,
            "/search",
            ours / trust.CERT_FILE,
            ours / trust.KEY_FILE,
            cafri["authority"].file,
            json=question,
        )

    assert ask(purpose="curiosity").status_code == 400
    assert "cannot be compared" in ask(model_id="some-other-model").json()["error"]
    assert ask(descriptors=[[0.0] * 128]).status_code == 400
    assert ask(unit="sanbern").status_code == 400  # the question must say who its certificate says
    with riverside.context():
        from app.services.interconnect.peers import peer_named

        peer_named("losangeles").rate_per_minute = 3
        db.session.commit()
    codes = [ask().status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_a_reference_is_only_for_the_peer_it_was_given_to(cafri, submitted, people):
    search = _search(submitted, people["first"])
    entry = next(e for e in search.result_list if e.get("repository") == "riverside")
    reference = db.session.scalar(
        select(peer_search.RemoteCandidate.reference).where(
            peer_search.RemoteCandidate.booking_id == entry["booking_id"]
        )
    )
    riverside = cafri["units"]["riverside"]
    cert, key, _ = cafri["authority"].issue(trust.folder().parent / "sanbern-cert", "sanbern")
    riverside.trust("sanbern", "https://127.0.0.1:9", cafri["authority"])
    stolen = _call(
        riverside,
        f"/candidates/{reference}/reveal",
        cert,
        key,
        cafri["authority"].file,
        json={"reviewer_name": "x", "tracking_number": "FR-2026-000001"},
    )
    assert stolen.status_code == 404


def test_the_peer_api_believes_no_header(client):
    """A forged certificate header on the plain test client (no TLS) is not a certificate."""
    response = client.post(
        "/interconnect/v1/search", json={}, headers={"SSL-Client-Cert": "x", "X-SSL-Client-Cert": "x"}
    )
    assert response.status_code == 403


def test_without_the_unit_certificate_a_search_still_runs_locally(gallery_app, submitted, people, tmp_path):
    from app.services.interconnect import peers

    with pytest.raises(ServiceError, match="no interconnect certificate"):
        trust.unit_identity()
    assert _search(submitted, people["first"], names=[]).repositories is None
    peers.add_peer("riverside", "https://127.0.0.1:9", Authority(tmp_path / "authority").file)
    db.session.commit()
    search = searches.run_search(
        submitted,
        reviewer=people["first"],
        works=[probes.probe_work(submitted.images[0], people["first"])],
        top_k=10,
        peers=peer_search.chosen_peers(None),
    )
    assert search.result_list and _status(search) == {"local": "answered", "riverside": "refused"}
    assert "no interconnect certificate" in search.repositories[1]["error"]


@pytest.mark.clause("AU-3")
def test_the_monthly_audit_and_the_figures_count_searches_for_and_by_each_peer(
    cafri, submitted, people, auth
):
    from app.services.oversight.monthly_figures import compute_month
    from app.services.oversight.transparency import transparency_rows

    _search(submitted, people["first"])
    month = submitted.submitted_at.strftime("%Y-%m")
    rows, _ = compute_month(month)
    by_name = {row["username"]: row for row in rows}
    assert by_name[people["first"].username]["peer_searches"] == 1
    assert by_name["peer:riverside"]["peer_searches"] == 1 and by_name["peer:sanbern"]["peer_searches"] == 1
    figures = {row["period"]: row for row in transparency_rows([month])}
    assert (
        figures[month]["searches_sent_to_peers"] == 1 and figures[month]["searches_answered_for_peers"] == 0
    )
    with cafri["units"]["riverside"].context():
        rows, _ = compute_month(month)
        answered = next(row for row in rows if row["username"] == "peer:losangeles")
        assert answered["searches"] == 1 and "Riley Chen (LACRIS" in answered["search_reasons"]
        figures = {row["period"]: row for row in transparency_rows([month])}
        assert figures[month]["searches_answered_for_peers"] == 1
    auth.login(people["admin"])
    page = auth.client.get("/admin/").data.decode()
    assert "riverside" in page and "Searches answered for it" in page


def test_the_reviewer_chooses_the_repositories_on_the_search_form(cafri, submitted, people, auth, client):
    from app.models import ProbeWork
    from tests.support.review import act, determination_form, workspace_url

    first = people["first"]
    cafri["runner"].invoke(
        args=[
            "interconnect",
            "peers",
            "add",
            "kern",
            "https://127.0.0.1:9",
            "--authority",
            str(cafri["authority"].file),
            "--not-by-default",
        ]
    )
    auth.login(first)
    act(auth, f"{workspace_url(submitted.id)}/claim", token_from=workspace_url(submitted.id))
    act(
        auth,
        f"{workspace_url(submitted.id)}/determinations",
        determination_form(submitted),
        token_from=workspace_url(submitted.id),
    )
    page = client.get(workspace_url(submitted.id)).data.decode()
    boxes = {
        re.search(r'value="(\w+)"', box).group(1): box
        for box in re.findall(r'<input[^>]*name="repositories"[^>]*>', page)
    }
    assert set(boxes) == {"kern", "riverside", "sanbern"}
    assert "checked" in boxes["riverside"] and "checked" in boxes["sanbern"]
    assert "checked" not in boxes["kern"]  # added --not-by-default
    works = db.session.scalars(select(ProbeWork).where(ProbeWork.reviewer_id == first.id)).all()
    response = auth.post(
        f"{workspace_url(submitted.id)}/search",
        {"work_id": [str(works[0].id)], "top_k": "10", "repositories": ["sanbern"]},
        token_from=workspace_url(submitted.id),
    )
    assert response.status_code == 302
    search = db.session.scalars(select(searches.FaceSearch).order_by(searches.FaceSearch.id.desc())).first()
    assert [r["name"] for r in search.repositories] == ["local", "sanbern"]
    listing = client.get(f"/review/searches/{search.id}").data.decode()
    assert "Repositories searched" in listing and "from sanbern" in listing


def test_the_app_checks_the_certificate_itself_whatever_the_tls_server_let_through(cafri, client, tmp_path):
    """The unit's own check, behind a TLS server that would accept anything: a certificate that
    names a peer but is from another authority, or expired, is refused and audited."""
    foreign = Authority(tmp_path / "foreign", name="Some other CA")
    _, _, forged = foreign.issue(tmp_path / "forged", "riverside")
    _, _, expired = cafri["authority"].issue(tmp_path / "expired", "riverside", expired=True)
    _, _, good = cafri["authority"].issue(tmp_path / "good", "riverside")
    for cert, expected in ((forged, "not from the interconnect's authority"), (expired, "not now")):
        pem = cert.public_bytes(trust.serialization.Encoding.PEM).decode()
        response = client.get("/interconnect/v1/seals", environ_base={"SSL_CLIENT_CERT": pem})
        assert response.status_code == 403 and expected in response.get_json()["error"]
    pem = good.public_bytes(trust.serialization.Encoding.PEM).decode()
    assert client.get("/interconnect/v1/seals", environ_base={"SSL_CLIENT_CERT": pem}).status_code == 200
    cafri["runner"].invoke(args=["interconnect", "peers", "disable", "riverside"])
    refused = client.get("/interconnect/v1/seals", environ_base={"SSL_CLIENT_CERT": pem})
    assert refused.status_code == 403 and "disabled" in refused.get_json()["error"]


@pytest.mark.clause("SR-3")
def test_a_record_sealed_at_the_peer_before_the_conclusion_is_never_revealed(cafri, submitted, people):
    first = people["first"]
    search = _search(submitted, first)
    entry = min(
        (e for e in search.result_list if e.get("repository") == "riverside"), key=lambda e: e["distance"]
    )
    examination = examinations.open_candidate(search, entry["rank"], reviewer=first)
    db.session.commit()
    with cafri["units"]["riverside"].context():
        sealed = db.session.scalar(select(Booking).where(Booking.booking_number == "RV-1001"))
        seal_booking(sealed, reference="Order 2026-78", actor=None)
        db.session.commit()
    with pytest.raises(ServiceError, match="sealed this record"):
        examinations.save_examination(
            examination, reviewer=first, checklist=CHECKLIST, conclusion=Conclusion.VIABLE_LEAD, note=""
        )
    db.session.rollback()
    booking = db.session.get(Booking, entry["booking_id"])
    assert "Not revealed" in booking.subject.name and booking.subject.date_of_birth is None
    assert db.session.get(type(examination), examination.id).conclusion is None
    with cafri["units"]["riverside"].context():
        assert (
            db.session.scalars(select(PeerDisclosure).where(PeerDisclosure.revealed_at.is_not(None))).all()
            == []
        )


def test_a_peer_firing_searches_at_once_gets_exactly_its_rate(cafri, submitted):
    """Ten questions released together against a rate of three: three answered, seven refused,
    three recorded (the count is taken under the peer's lock)."""
    from tests.support.live import at_once

    riverside = cafri["units"]["riverside"]
    with riverside.context():
        from app.services.interconnect.peers import peer_named

        peer_named("losangeles").rate_per_minute = 3
        db.session.commit()
    ours, question = trust.folder(), _question(submitted)
    codes = at_once(
        10,
        lambda _: (
            _call(
                riverside,
                "/search",
                ours / trust.CERT_FILE,
                ours / trust.KEY_FILE,
                cafri["authority"].file,
                json=question,
            ).status_code
        ),
    )
    assert sorted(codes) == [200] * 3 + [429] * 7
    with riverside.context():
        assert len(db.session.scalars(select(PeerSearch)).all()) == 3
