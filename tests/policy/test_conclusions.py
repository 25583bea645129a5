"""A conclusion means what it says (slides: "A one-to-one morphological comparison is conducted
when continuing with a candidate"; FISWG): a viable lead rests on observed similarities (a
configurable number of features marked similar), every dissimilarity explained, and each mark is
bound to its feature by the feature's key, so a post that leaves a feature out is refused, never
shifted onto the next one. A lead decision names a viable-lead conclusion only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import CandidateExamination, Conclusion, DecisionOutcome
from app.services.platform.errors import ServiceError
from app.services.review import decisions, examinations
from app.services.review.examinations import FEATURE_KEYS
from tests.support.review import checklist_form, claim_and_search


@pytest.fixture
def app(gallery_app):
    return gallery_app


@pytest.fixture
def candidate(auth, client, people, submitted):
    search = claim_and_search(auth, client, submitted.id, people["first"])
    url = f"/review/searches/{search.id}/candidates/1"
    client.get(url)
    return search, url


def post(auth, url, form, conclusion="viable_lead"):
    return auth.post(f"{url}/examine", {**form, "conclusion": conclusion, "note": ""}, token_from=url)


def concluded() -> Conclusion | None:
    return db.session.scalars(select(CandidateExamination)).one().conclusion


@pytest.mark.clause("SD-4")
@pytest.mark.parametrize(
    ("form", "message"),
    [
        (checklist_form("not_visible"), "rests on observed similarities: 0 of the 19"),
        (checklist_form("dissimilar"), "rests on observed similarities: 0 of the 19"),
        (checklist_form("not_visible", **dict.fromkeys(list(FEATURE_KEYS)[:5], "similar")), "5 of the 19"),
        (checklist_form("similar", ears="dissimilar"), "An unexplained dissimilarity excludes"),
        (checklist_form("", **dict.fromkeys(list(FEATURE_KEYS)[:12], "similar")), "Mark every feature"),
    ],
)
def test_a_viable_lead_needs_a_positive_basis(auth, candidate, form, message):
    _, url = candidate
    page = post(auth, url, form).get_data(as_text=True)
    assert message in page and concluded() is None


@pytest.mark.clause("SD-4")
def test_enough_similarities_and_explained_differences_make_a_viable_lead(auth, candidate):
    _, url = candidate
    six = checklist_form("not_visible", **dict.fromkeys(list(FEATURE_KEYS)[:6], "similar"))
    six |= {"feature_scars-mark": "dissimilar", "feature_scars-note": "a scar acquired after the booking"}
    assert post(auth, url, six).status_code == 302 and concluded() is Conclusion.VIABLE_LEAD


@pytest.mark.clause("SD-4")
def test_the_minimum_is_the_units_setting(app, auth, candidate):
    app.config["VIABLE_LEAD_MIN_SIMILAR"] = 12
    _, url = candidate
    ten = checklist_form("not_visible", **dict.fromkeys(list(FEATURE_KEYS)[:10], "similar"))
    assert "at least 12 are needed" in post(auth, url, ten).get_data(as_text=True) and concluded() is None


@pytest.mark.clause("SD-4")
def test_a_checklist_missing_a_feature_is_refused_not_shifted(auth, candidate):
    _, url = candidate
    form = checklist_form(nose="dissimilar")
    del form["feature_ears-mark"], form["feature_ears-note"]  # the ears' block never arrived
    page = post(auth, url, form, conclusion="").get_data(as_text=True)
    assert "arrived without Ears" in page
    saved = db.session.scalars(select(CandidateExamination)).one().checklist
    assert saved == {}  # nothing was saved, and the nose's mark never moved onto the ears
    assert post(auth, url, checklist_form(nose="dissimilar"), conclusion="").status_code == 302
    saved = db.session.scalars(select(CandidateExamination)).one().checklist
    assert saved["Nose"]["mark"] == "dissimilar" and saved["Ears"]["mark"] == "similar"


@pytest.mark.clause("SD-4")
def test_a_lead_is_only_a_candidate_concluded_a_viable_lead(people, candidate):
    search, _ = candidate
    reviewer = people["first"]
    examination = examinations.open_candidate(search, 1, reviewer=reviewer)
    examinations.save_examination(
        examination,
        reviewer=reviewer,
        checklist={f: {"mark": "similar", "note": ""} for f in examinations.FISWG_FEATURES},
        conclusion=Conclusion.INCONCLUSIVE,
        note="",
    )
    with pytest.raises(ServiceError, match="Only a candidate concluded a viable investigative lead"):
        decisions.decide(
            search.request,
            reviewer=reviewer,
            outcome=DecisionOutcome.LEAD,
            search=search,
            examination=examination,
        )
    db.session.rollback()
