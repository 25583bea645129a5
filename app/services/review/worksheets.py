"""What an examiner applied and marked during a comparison, and the examiner's worksheet.

The view adjustments (per pane: brightness, contrast, gamma, invert, mirror, rotation) never
change an image: they are how the examiner looked, stored with the examination when it is saved
or concluded. Annotations are points, lines and outlines on either image with a note, tied to a
FISWG feature where the examiner chose one; they belong to that examiner's examination, so a
verifier (who examines in their own record) never sees the first examiner's marks. Both arrive
from the page as JSON and are checked here, value by value: anything else is refused.

The worksheet (``worksheet_of``) is everything of one examination a case file needs, drawn by
app/documents/worksheet.py.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime

from app.clock import utcnow
from app.documents.base import UnprintableText
from app.documents.worksheet import WorksheetData, render_worksheet
from app.extensions import db
from app.matching.images import encode_png
from app.matching.processing import describe_step
from app.models import Booking, CandidateExamination, FaceSearch, ProbeImage, ReviewDecision, User
from app.services.oversight.reads import Candidate, record_read
from app.services.platform import storage
from app.services.platform.errors import NotFound, ServiceError
from app.services.review.examinations import (
    FISWG_FEATURES,
    booking_chip,
    entry_at,
    latest_examination,
    probe_chip,
    probe_spec_of,
    require_reader,
)

PANES = ("probe", "candidate")
# name: (least, most, neutral)
ADJUSTMENTS = {
    "brightness": (0.2, 3.0, 1.0),
    "contrast": (0.2, 3.0, 1.0),
    "gamma": (0.2, 5.0, 1.0),
    "rotate": (-45.0, 45.0, 0.0),  # degrees, in small steps
}
FLAGS = ("invert", "mirror")
KINDS = {"point": (1, 1), "line": (2, 2), "outline": (3, 40)}  # how many points each takes
MAX_ANNOTATIONS = 60
MAX_NOTE = 300


def neutral() -> dict:
    values = {name: spec[2] for name, spec in ADJUSTMENTS.items()} | dict.fromkeys(FLAGS, False)
    return {pane: dict(values) for pane in PANES}


def _json(raw: str | None, empty, what: str):
    if raw is None or not raw.strip():
        return empty
    if len(raw) > 200_000:
        raise ServiceError(f"The {what} sent with the examination are too large; nothing was saved.")
    try:
        return json.loads(raw)
    except ValueError as exc:
        message = f"The {what} sent with the examination are not readable; nothing was saved."
        raise ServiceError(message) from exc


def clean_adjustments(raw: str | None) -> dict | None:
    """The view adjustments as the page sent them, checked; None when nothing was sent (an
    older page, or no script): the saved ones stay."""
    sent = _json(raw, None, "view adjustments")
    if sent is None:
        return None
    if not isinstance(sent, dict) or set(sent) - set(PANES):
        raise ServiceError("The view adjustments name an unknown image; nothing was saved.")
    clean = neutral()
    for pane, values in sent.items():
        if not isinstance(values, dict) or set(values) - set(ADJUSTMENTS) - set(FLAGS):
            raise ServiceError(f"Unknown view adjustment on the {pane}; nothing was saved.")
        for name, value in values.items():
            if name in FLAGS:
                if not isinstance(value, bool):
                    raise ServiceError(f"{name.capitalize()} of the {pane} is on or off; nothing was saved.")
                clean[pane][name] = value
                continue
            least, most, _ = ADJUSTMENTS[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ServiceError(f"The {name} of the {pane} is not a number; nothing was saved.")
            if not least <= value <= most:
                raise ServiceError(f"The {name} of the {pane} is outside {least}–{most}; nothing was saved.")
            clean[pane][name] = round(float(value), 3)
    return clean


def _fraction(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


def clean_annotations(raw: str | None) -> list | None:
    """The annotations as the page sent them, checked (points in fractions of the aligned image);
    None when nothing was sent."""
    sent = _json(raw, None, "annotations")
    if sent is None:
        return None
    if not isinstance(sent, list) or len(sent) > MAX_ANNOTATIONS:
        raise ServiceError(f"At most {MAX_ANNOTATIONS} annotations are kept; nothing was saved.")
    clean = []
    for number, item in enumerate(sent, 1):
        if not isinstance(item, dict) or set(item) - {"pane", "kind", "points", "note", "feature"}:
            raise ServiceError(f"Annotation {number} is not readable; nothing was saved.")
        pane, kind, points = item.get("pane"), item.get("kind"), item.get("points")
        feature, note = item.get("feature") or "", item.get("note") or ""
        if pane not in PANES or kind not in KINDS:
            raise ServiceError(f"Annotation {number}: a point, a line or an outline on either image.")
        least, most = KINDS[kind]
        if not isinstance(points, list) or not least <= len(points) <= most:
            raise ServiceError(f"Annotation {number}: a {kind} takes {least}–{most} points.")
        clean_points = []
        for point in points:
            if not isinstance(point, list) or len(point) != 2 or not all(_fraction(v) for v in point):
                raise ServiceError(f"Annotation {number}: each point lies on the image.")
            clean_points.append([round(float(point[0]), 4), round(float(point[1]), 4)])
        if feature and feature not in FISWG_FEATURES:
            raise ServiceError(f"Annotation {number}: {str(feature)[:40]} is not a FISWG feature.")
        if not isinstance(note, str) or len(note) > MAX_NOTE:
            raise ServiceError(f"Annotation {number}: the note is at most {MAX_NOTE} characters.")
        clean.append(
            {"pane": pane, "kind": kind, "points": clean_points, "feature": feature, "note": note.strip()}
        )
    return clean


def views_posted(adjustments: str | None, annotations: str | None) -> dict:
    """The view adjustments and annotations a checklist post carried, checked, as
    ``save_examination`` takes them."""
    return {"view_adjustments": clean_adjustments(adjustments), "annotations": clean_annotations(annotations)}


def describe_adjustments(adjustments: dict | None) -> list[str]:
    """One line per pane that was adjusted ("Probe: contrast 1.4, mirrored"); nothing when neutral."""
    lines = []
    base = neutral()
    for pane in PANES:
        values = (adjustments or {}).get(pane) or {}
        parts = [
            f"{name} {values[name]:g}" + ("°" if name == "rotate" else "")
            for name in ADJUSTMENTS
            if name in values and values[name] != base[pane][name]
        ]
        parts += [{"invert": "inverted", "mirror": "mirrored"}[f] for f in FLAGS if values.get(f)]
        if parts:
            lines.append(f"{pane.capitalize()}: {', '.join(parts)}")
    return lines


def _stamp(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def _certification(reviewer: User, on: date) -> str:
    current = [c for c in reviewer.certifications if c.is_current(on)]
    return "; ".join(
        f"{c.provider.value.upper()} {c.certificate_number} (to {c.expires_on})" for c in current
    ) or ("—")


def worksheet_of(search: FaceSearch, rank: int, *, reviewer: User, unit_name: str) -> bytes:
    """The examiner's worksheet (a PDF) of the reviewer's own latest examination of the
    candidate at ``rank``; audited as a read. Another examiner's worksheet is never shown: a
    verifier's examination stays blind."""
    require_reader(search, reviewer)
    entry = entry_at(search, rank)
    examination = latest_examination(search, entry["booking_id"], reviewer)
    if examination is None:
        raise NotFound("You have not examined this candidate: there is no worksheet.")
    data = worksheet_data(examination, search, unit_name=unit_name)
    record_read(
        "candidate.worksheet_view", Candidate(search, entry), actor=reviewer, revision=examination.revision
    )
    try:
        return render_worksheet(data)
    except UnprintableText as err:
        raise ServiceError(str(err)) from None


def lead_worksheets(
    decisions: list[ReviewDecision], lead: Booking, *, unit_name: str
) -> tuple[WorksheetData, ...]:
    """Each examiner's worksheet of the lead, in the order they decided (a report's appendix)."""
    return tuple(
        worksheet_data(d.examination, d.examination.search, unit_name=unit_name)
        for d in decisions
        if d.examination is not None and d.lead_booking_id == lead.id
    )


def worksheet_data(examination: CandidateExamination, search: FaceSearch, *, unit_name: str) -> WorksheetData:
    """Everything of one examination the worksheet prints. The candidate's identity only once
    the examiner's conclusion revealed it, as on the page."""
    entry = entry_at(search, examination.rank)
    probe = probe_chip(search, entry)
    candidate = booking_chip(examination.booking)
    spec = probe_spec_of(search, entry)
    image = db.session.get(ProbeImage, spec["probe_image_id"])
    original = storage.path_of(image.display_path).read_bytes() if image else b""
    reviewer = db.session.get(User, examination.reviewer_id)
    revealed = examination.conclusion is not None
    booking = examination.booking
    saved = examination.checklist or {}
    return WorksheetData(
        unit_name=unit_name,
        document_id=f"WS-{search.id}-{examination.rank}-r{examination.revision}",
        tracking_number=search.request.tracking_number if search.request else (search.case_number or ""),
        search_id=search.id,
        rank=examination.rank,
        score=str(entry.get("score", "")),
        examiner=reviewer.full_name,
        certification=_certification(reviewer, (examination.concluded_at or utcnow()).date()),
        opened_at=_stamp(examination.opened_at),
        concluded_at=_stamp(examination.concluded_at) if examination.concluded_at else "not concluded",
        conclusion=examination.conclusion.label if examination.conclusion else "No conclusion yet",
        note=examination.note or "",
        revision=examination.revision,
        after_reveal=examination.after_reveal,
        probe_original=original,
        probe_searched=encode_png(probe.pixels),
        candidate=encode_png(candidate.pixels),
        processing_steps=[describe_step(s) for s in spec.get("steps") or []],
        checklist=[
            (name, (saved.get(name) or {}).get("mark", ""), (saved.get(name) or {}).get("note", ""))
            for name in FISWG_FEATURES
        ],
        annotations=list(examination.annotations or []),
        adjustments=describe_adjustments(examination.view_adjustments),
        booking_number=booking.booking_number if revealed else "",
        candidate_name=booking.subject.name if revealed else "",
        model_id=search.model_id,
    )
