"""The command-line search belongs to a person and a request (Training: "Investigative searches
shall only be conducted by trained facial reviewers"; Audits: the justification): the operator
proves who they are (password on stdin, a current code, good once), has signed the agreements,
holds a current certification and holds the request past its determinations; the search is a
search of that request, audited under its justification. Anything missing exits 2 and searches
nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, FaceSearch, Outcome, PolicyAcknowledgement, SearchRequest
from app.services.review import assignments
from tests.gallery import FACES, booking_number_for
from tests.support.intake import submit, valid_form
from tests.support.photos import photo
from tests.support.review import determine_all, operator_search

MULTI = FACES / "special/multi__barack_obama_joe_biden.jpg"
NO_FACE = FACES / "special/noface_grayscale__table_objects.jpg"


@pytest.fixture
def app(gallery_app):
    return gallery_app


@pytest.fixture
def runner(gallery_app):
    return gallery_app.test_cli_runner()


def filed(auth, people, *names: str) -> SearchRequest:
    auth.login(people["requester"])
    assert submit(auth, valid_form(people["requester"]), [photo(n) for n in names]).status_code == 302
    auth.logout()
    return db.session.scalars(select(SearchRequest).order_by(SearchRequest.id.desc())).first()


def held_by_the_first_reviewer(auth, people, *photos: str) -> SearchRequest:
    request = filed(auth, people, *photos)
    assignments.claim(request, reviewer=people["first"])
    determine_all(request, people["first"])
    return request


@pytest.fixture
def held(auth, people):
    """A request of one photo, claimed and determined by reviewer one."""
    return held_by_the_first_reviewer(auth, people, "john_simm__2.jpg")


@pytest.fixture
def held_three(auth, people):
    """A request of three photos (a face, two faces, none), claimed and determined."""
    return held_by_the_first_reviewer(
        auth, people, "john_simm__2.jpg", "special/multi__barack_obama_joe_biden.jpg",
        "special/noface_grayscale__table_objects.jpg",
    )  # fmt: skip


def searches_made() -> int:
    return db.session.scalar(select(func.count(FaceSearch.id)))


@pytest.mark.clause("TR-2", "AU-5", "AU-2")
def test_a_search_of_the_request_in_json_lines(runner, clock, people, held_three):
    held = held_three
    operator = people["first"]
    result = operator_search(
        runner,
        clock,
        operator,
        held.tracking_number,
        FACES / "john_simm__2.jpg",
        MULTI,
        extra=("--top", "3", "--json"),
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert (
        len(lines) == 2 and lines[0]["probe"].endswith("john_simm__2.jpg") and lines[0]["index_version"] == 1
    )
    assert lines[0]["request"] == held.tracking_number and len(lines[0]["candidates"]) == 3
    assert set(lines[0]["candidates"][0]) == {"booking_number", "distance", "score"}
    assert lines[0]["candidates"][0]["booking_number"] == booking_number_for("john_simm")
    recorded = db.session.scalars(select(FaceSearch).order_by(FaceSearch.id)).all()
    assert [(s.channel, s.request_id, s.reviewer_id) for s in recorded] == [("cli", held.id, operator.id)] * 2
    assert "HC-2026-0042" in recorded[0].justification and "Identify the man" in recorded[0].justification
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "search.run")).all()
    assert len(events) == 2 and all(e.actor_id == operator.id and e.source_address == "cli" for e in events)
    assert all(json.loads(e.detail)["os_user"] and json.loads(e.detail)["channel"] == "cli" for e in events)
    signed_in = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.operator")).all()
    assert [e.outcome for e in signed_in] == [Outcome.SUCCESS]


def test_each_probe_has_its_exit_code(runner, clock, people, held_three):
    held = held_three
    operator = people["first"]
    no_face = operator_search(runner, clock, operator, held.tracking_number, NO_FACE, extra=("--json",))
    assert no_face.exit_code == 3 and json.loads(no_face.stdout)["code"] == 3
    probes = (FACES / "steve_wozniak__2.jpg", FACES / "john_simm__2.jpg")
    foreign = operator_search(runner, clock, operator, held.tracking_number, *probes, extra=("--json",))
    first, second = (json.loads(line) for line in foreign.stdout.splitlines())
    assert foreign.exit_code == 2 and "not an image of" in first["error"] and second["candidates"]
    refused = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "search.run", AuditEvent.outcome == Outcome.FAILED)
    ).all()
    assert len(refused) == 2 and all(e.actor_id == operator.id for e in refused)


@pytest.mark.clause("TR-1", "TR-2", "SD-8", "AU-1", "AU-5")
@pytest.mark.parametrize(
    ("attack", "reason"),
    [
        ("no code", "--code required"),
        ("wrong password", "the password or the code is wrong"),
        ("wrong code", "the password or the code is wrong"),
        ("never signed", "sign Facial Recognition Policy"),
        ("uncertified", "certification"),
        ("not holding it", "You do not hold this request"),
        ("requester", "the password or the code is wrong"),
        ("no request", "the request's tracking number"),
        ("unknown request", "there is no such request"),
        ("not determined", "Before any search"),
    ],
)
def test_anything_missing_exits_2_and_searches_nothing(
    runner, clock, auth, people, held, make_user, attack, reason
):
    operator, number, kwargs = people["first"], held.tracking_number, {}
    if attack == "no code":
        kwargs["code"] = ""
    elif attack == "wrong password":
        kwargs["password"] = "not the password at all"
    elif attack == "wrong code":
        kwargs["code"] = "000000" if pyotp.TOTP(operator.totp_secret).at(clock.now) != "000000" else "111111"
    elif attack == "never signed":
        db.session.execute(
            PolicyAcknowledgement.__table__.delete().where(PolicyAcknowledgement.user_id == operator.id)
        )
        db.session.commit()
    elif attack == "uncertified":
        for certification in operator.certifications:
            db.session.delete(certification)
        db.session.commit()
    elif attack == "not holding it":
        operator = people["second"]
    elif attack == "requester":
        operator = people["requester"]  # an account the CLI never lets search: refused like a bad sign-in
        kwargs["password"] = "wrong for the requester"
    elif attack == "no request":
        number = "FR-26-1"
    elif attack == "unknown request":
        number = "FR-2026-999999"
    elif attack == "not determined":
        number = filed(auth, people, "john_simm__3.jpg").tracking_number
        assignments.claim(db.session.scalars(select(SearchRequest).filter_by(tracking_number=number)).one(),
                          reviewer=operator)  # fmt: skip
        db.session.commit()
    before = searches_made()
    result = operator_search(
        runner, clock, operator, number, FACES / "john_simm__2.jpg", extra=("--json",), **kwargs
    )
    assert result.exit_code == 2 and reason in result.stderr, result.stderr
    assert result.stdout == "" and searches_made() == before


@pytest.mark.clause("TR-2")
def test_a_code_is_good_once_and_wrong_guesses_count_toward_the_lock(runner, clock, people, held):
    operator = people["first"]
    code = pyotp.TOTP(operator.totp_secret).at(clock.now + timedelta(seconds=30))
    assert (
        operator_search(
            runner, clock, operator, held.tracking_number, FACES / "john_simm__2.jpg", code=code
        ).exit_code
        == 0
    )
    clock.advance(seconds=-30)  # the same moment again: the same code, replayed
    replay = operator_search(
        runner, clock, operator, held.tracking_number, FACES / "john_simm__2.jpg", code=code
    )
    assert replay.exit_code == 2 and searches_made() == 1
    for _ in range(5):
        operator_search(
            runner, clock, operator, held.tracking_number, FACES / "john_simm__2.jpg", password="guess"
        )
    db.session.refresh(operator)
    assert operator.locked
