"""The clause map cannot drift: every clause that software enforces or evidences has a test
that carries its id, every id a test carries is a clause, and CLAUSE_MAP.md is current."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Role, SearchRequest
from app.services.policy.clause_map import BY_ID, CLAUSES, Kind, markdown, needs_a_test, proofs_by_clause

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent


def test_every_enforced_or_evidenced_clause_has_a_test():
    proved = proofs_by_clause(TESTS)
    missing = [c.id for c in CLAUSES if needs_a_test(c) and not proved.get(c.id)]
    assert missing == [], f"clauses with no test carrying their id: {missing}"


def test_every_clause_id_a_test_carries_exists():
    unknown = sorted(set(proofs_by_clause(TESTS)) - set(BY_ID))
    assert unknown == [], f"markers naming no clause of the map: {unknown}"


def test_the_map_covers_every_section_of_the_seeds():
    prefixes = {c.id.split("-")[0] for c in CLAUSES}
    assert prefixes >= {"PS", "PU", "FA", "DB", "DOC", "IS", "TR", "AU", "SD", "SR", "RF", "MR", "LR"}
    assert {c.kind for c in CLAUSES} == set(Kind)


def test_clause_map_md_is_current():
    """Regenerate with: flask --app wsgi policy map --output CLAUSE_MAP.md"""
    assert (ROOT / "CLAUSE_MAP.md").read_text("utf-8") == markdown(proofs_by_clause(TESTS))


def test_the_map_in_the_portal_with_its_evidence(app, auth, client, make_user):
    auth.login(make_user(Role.ADMIN))
    page = client.get("/admin/policy").get_data(as_text=True)
    for clause in CLAUSES:
        assert clause.id in page
    assert "requests refused quoting it" in page and "enforced" in page and "outside" in page


@pytest.mark.clause("SD-7", "FA-1", "AU-3")
def test_the_map_shows_each_control_and_the_months_refusals_flags_and_determinations(
    app, auth, client, make_user, clock
):
    """A refusal naming SD-7 and a flagged submission, counted for the month on /admin/policy."""
    from tests.support.intake import submit, valid_form
    from tests.support.photos import photo

    requester = make_user(Role.REQUESTER, full_name="Dana Whitfield")
    auth.login(requester)
    submit(auth, valid_form(requester, **{"new-device": "officer_worn"}), [photo("john_simm__1.jpg")])
    flagged = valid_form(requester, reason="Identify the man seen at the protest who later robbed the store.")
    draft = db.session.scalars(select(SearchRequest)).one()
    image = draft.images[0].id  # the photo's own card, now saying what captured it
    flagged |= {k.replace("new-", f"image-{image}-"): v for k, v in flagged.items() if k.startswith("new-")}
    assert submit(auth, flagged, url=f"/requests/drafts/{draft.id}").status_code == 302
    auth.logout()
    auth.login(make_user(Role.ADMIN))
    page = client.get(f"/admin/policy?month={clock.now:%Y-%m}").get_data(as_text=True)
    row = page.split('id="clause-SD-7"')[1].split("</tr>")[0]
    assert "Fact" in row and "Confirmed by" in row and "Gate" in row
    assert "1 requests refused quoting it" in row
    fa = page.split('id="clause-FA-1"')[1].split("</tr>")[0]
    assert "1 mentions flagged by the screening" in fa and "0 reviewer determinations recorded" in fa
