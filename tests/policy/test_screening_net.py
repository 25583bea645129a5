"""The screening net on its own: normalised matching of terms kept as data, harmless phrases
masked, denials told apart, and its rates on a labelled phrase set (forbidden, doubtful, First
Amendment, harmless) and on wording written after the terms were tuned."""

from __future__ import annotations

import pytest

from app.services.policy import screening
from tests.support.screening import measure, rates


def found(text: str, field: str = "f") -> set[tuple[str, str]]:
    return {(m.category, m.words) for m in screening.screen_text(field, text)}


def test_text_is_normalised_before_matching():
    assert screening.normalise("Vídeo de la CÁMARA-corporal, Evidence.com!") == [
        "video",
        "de",
        "la",
        "camara",
        "corporal",
        "evidence",
        "com",
    ]
    assert ("body_worn_camera", "camara corporal") in found("VIDEO DE LA CÁMARA   CORPORAL")
    assert ("body_worn_camera", "evidence com") in found("exported from EVIDENCE.COM")


@pytest.mark.clause("FA-1", "FA-2")
def test_harmless_phrases_are_masked_and_the_term_still_found_elsewhere():
    assert found("Harbor Credit Union, Union Station, March 3") == set()
    assert ("first_amendment_2", "union") in found("the union organised it; the Credit Union was closed")
    assert ("first_amendment_1", "march") in found("leaflets at the march on March 3")


def test_gaps_prefixes_and_alternatives_follow_the_terms_file():
    assert ("live_video", "ongoing ring doorbell feed") in found("an ongoing Ring doorbell feed")
    assert ("body_worn_camera", "worn by deputy") in found("camera worn by Deputy Ruiz")
    jacket = screening.screen_text("f", "the jacket was worn by the suspect")
    assert [(m.words, m.strength) for m in jacket] == [("worn by", "doubtful")]  # a hint, not a statement


@pytest.mark.clause("SD-7", "IS-1")
def test_a_denial_is_told_apart():
    [mention] = [m for m in screening.screen_text("f", "not from a bodycam") if m.strength == "term"]
    assert mention.negated and mention.category == "body_worn_camera"
    assert not screening.screen_text("f", "from a bodycam")[0].negated


def test_a_malformed_terms_file_stops_the_start(tmp_path):
    bad = tmp_path / "screening.toml"
    bad.write_text(
        '[category.x]\nlabel = "x"\nclause = "SD-7"\nrule = "refuse"\nterms = ["e-mail|post"]\n'
        "[harmless]\nphrases = []\n[negation]\nwords = []\nwindow = 3\n"
    )
    with pytest.raises(ValueError, match="one word"):
        screening.vocabulary(bad)
    bad.write_text(bad.read_text().replace('rule = "refuse"', 'rule = "maybe"'))
    with pytest.raises(ValueError, match="unknown rule"):
        screening.vocabulary(bad)


@pytest.mark.clause("SD-7", "PU-1", "PU-2", "PU-3", "LR-1", "LR-2", "IS-1", "FA-1", "FA-2", "FA-3")
def test_every_labelled_phrase_gets_its_verdict():
    outcomes = measure()
    misses = (
        [o.text for o in outcomes["forbidden"] if not o.refused]
        + [o.text for o in outcomes["doubtful"] if o.verdict == "passed"]
        + [o.text for o in outcomes["first_amendment"] if not o.first_amendment]
        + [o.text for o in outcomes["harmless"] if o.verdict != "passed"]
    )
    assert misses == []
    measured = rates(outcomes)
    assert measured["forbidden refused"] == 1.0 and measured["harmless false flags"] == 0.0


@pytest.mark.clause("SD-7", "PU-2", "LR-1", "LR-2", "FA-1", "FA-2", "FA-3")
def test_the_net_holds_on_wording_it_was_not_tuned_on():
    measured = rates(measure(held_out=True))
    assert measured["forbidden refused"] >= 0.9
    assert measured["doubtful flagged or refused"] >= 0.9
    assert measured["first amendment flagged"] >= 0.9
    assert measured["harmless false flags"] <= 0.1
