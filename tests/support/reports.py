"""Requests taken all the way through review: verified (lead or no match), disputed; a PDF's text."""

from __future__ import annotations

import io

from pypdf import PdfReader

from app.extensions import db
from app.models import Conclusion, DecisionOutcome, ReviewState
from app.services.review import assignments, decisions, examinations, probes, searches
from tests.support.review import determine_all

CHECKLIST = {f: {"mark": "similar", "note": ""} for f in examinations.FISWG_FEATURES}


def verified(request, people, outcome=DecisionOutcome.LEAD, processing=None):
    """Drive a request to a verified decision through the services."""
    first, second = people["first"], people["second"]
    assignments.claim(request, reviewer=first)
    determine_all(request, first)
    work = probes.probe_work(request.images[0], first)
    if processing:
        probes.update_probe_work(work, reviewer=first, steps=processing)
    search = searches.run_search(request, reviewer=first, works=[work], top_k=20)
    examination = None
    if outcome is DecisionOutcome.LEAD:
        examination = examinations.open_candidate(search, 1, reviewer=first)
        examinations.save_examination(
            examination, reviewer=first, checklist=CHECKLIST, conclusion=Conclusion.VIABLE_LEAD, note=""
        )
    decisions.decide(
        request,
        reviewer=first,
        outcome=outcome,
        search=search,
        examination=examination,
        confirmed_unexamined=examination is None,
    )
    assignments.claim_verification(request, reviewer=second)
    mine = None
    if outcome is DecisionOutcome.LEAD:
        mine = examinations.open_candidate(search, 1, reviewer=second)
        examinations.save_examination(
            mine, reviewer=second, checklist=CHECKLIST, conclusion=Conclusion.VIABLE_LEAD, note=""
        )
    decisions.decide(
        request,
        reviewer=second,
        outcome=outcome,
        search=search,
        examination=mine,
        confirmed_unexamined=mine is None,
    )
    db.session.commit()
    assert request.review_state is ReviewState.VERIFIED
    return search


def no_match(request, reviewer, search):
    """The reviewer's "no possible match", the candidates not compared (confirmed, recorded)."""
    return decisions.decide(
        request,
        reviewer=reviewer,
        outcome=DecisionOutcome.NO_MATCH,
        search=search,
        examination=None,
        confirmed_unexamined=True,
    )


def disputed(request, people, top_k: int = 10):
    """The first reviewer's lead against the verifier's no possible match: a dispute."""
    first = people["first"]
    assignments.claim(request, reviewer=first)
    determine_all(request, first)
    work = probes.probe_work(request.images[0], first)
    search = searches.run_search(request, reviewer=first, works=[work], top_k=top_k)
    lead = examinations.open_candidate(search, 1, reviewer=first)
    examinations.save_examination(
        lead, reviewer=first, checklist=CHECKLIST, conclusion=Conclusion.VIABLE_LEAD, note=""
    )
    decisions.decide(request, reviewer=first, outcome=DecisionOutcome.LEAD, search=search, examination=lead)
    assignments.claim_verification(request, reviewer=people["second"])
    no_match(request, people["second"], search)
    return search


def pdf_text(data: bytes) -> str:
    """The PDF's text with line breaks folded, since labels and values wrap."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())
