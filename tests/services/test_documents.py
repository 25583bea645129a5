"""The PDFs as paper: the request form fits one or two pages, the monthly audit's table stays
on the page (landscape, wrapped cells, the header row repeated), and no text is drawn outside
a page. Positions are read back from the PDF itself with pypdf."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from fpdf import FPDF
from pypdf import PdfReader

from app.documents.base import FONT_DIR
from app.documents.monthly_audit import HEADERS, MonthlyAuditDocument, render_monthly_audit
from app.documents.request_form import ImageRow, RequestFormData, render_request_form


def drawn_text(pdf: bytes) -> list[tuple[int, float, float, str, float, float]]:
    """(page, x, y, text, right edge, page width, page height) for every run of text drawn."""
    runs = []
    for number, page in enumerate(PdfReader(io.BytesIO(pdf)).pages, start=1):
        width, height = float(page.mediabox.width), float(page.mediabox.height)

        def visit(text, cm, tm, font, size, number=number, width=width, height=height):
            if not text.strip():
                return
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            points = size * abs(tm[0] or 1) * abs(cm[0] or 1)
            widest = max(text_width(line.strip(), points, font) for line in text.splitlines() or [text])
            runs.append((number, x, y, text, x + widest, width, height))

        page.extract_text(visitor_text=visit)
    return runs


MEASURE = FPDF(unit="pt")
MEASURE.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
MEASURE.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))


def text_width(text: str, points: float, font) -> float:
    """The run measured in the face it was drawn in (justified text's stretched spaces as one)."""
    base = str((font or {}).get("/BaseFont", ""))
    style = "B" if "Bold" in base else ""
    MEASURE.set_font("DejaVu" if "DejaVu" in base else "helvetica", style, points)
    return MEASURE.get_string_width(" ".join(text.split()))


def assert_all_on_the_page(pdf: bytes) -> None:
    runs = drawn_text(pdf)
    assert runs
    for page, x, y, text, right, width, height in runs:
        assert x >= 0 and right <= width + 1, f"page {page}: {text!r} runs off the right edge ({right:.0f})"
        assert 0 <= y <= height, f"page {page}: {text!r} drawn above or below the page"


def request_form(**changes) -> RequestFormData:
    values = dict(
        unit_name="Harbor County Facial Recognition Unit",
        repository_name="Harbor County booking photo repository",
        interconnect_name="California Facial Recognition Interconnect",
        tracking_number="FR-2026-000042",
        agency="Harbor City Police Department (HCPD)",
        requester_name="Dana Whitfield",
        requester_phone="(555) 010-0100",
        requester_email="dana.whitfield@hcpd.example",
        case_number="HC-2026-0042",
        reason="Identify the man who robbed the Main Street liquor store at gunpoint. " * 6,
        purpose="Active criminal investigation",
        situation="On 1 November a man robbed the Main Street liquor store; the clerk was unhurt. " * 8,
        reasonable_suspicion="The store's camera shows the robber's face as he points the gun. " * 6,
        crime_type="Robbery",
        person_condition="Unknown",
        agency_policy="Policy 345: Facial Recognition, adopted 2025-01-15",
        image_taken="2026-11-01, Main Street liquor store",
        images=[
            ImageRow(
                name=f"still-{n:02d}.jpg",
                source="Fixed or surveillance camera",
                live_or_recorded="Recorded",
                extracted_from_video=True,
                provided_by="A business or property owner (Main Street Liquor)",
                legally_obtained="The store owner gave us the footage voluntarily.",
            )
            for n in range(1, 7)
        ],
        affirmation="I affirm that this request is made under the unit's facial recognition use policy. " * 2,
        first_amendment_notice="No search may be based solely on First Amendment activity. " * 4,
        signature="Dana Whitfield",
        printed_name="Dana Whitfield",
        signed_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        submitted_on=date(2026, 11, 2),
    )
    values.update(changes)
    return RequestFormData(**values)


@pytest.mark.parametrize("long_text", [False, True], ids=["typical", "every field long"])
def test_the_request_form_stays_short(long_text):
    data = request_form()
    if long_text:
        data = request_form(
            situation=data.situation * 2, reason=data.reason * 2, person_condition=data.reason
        )
    pdf = render_request_form(data)
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert 1 <= len(pages) <= (3 if long_text else 2)  # six images, each with its own provenance row
    assert_all_on_the_page(pdf)
    last = pages[-1].extract_text()
    assert "Requestor Signature" in last and "Printed Name" in last  # the signature block is whole


def monthly(users: int) -> MonthlyAuditDocument:
    reasons = " | ".join(
        f"HC-2026-{n:04d} active criminal investigation: armed robbery of a convenience store"
        for n in range(6)
    )
    rows = [
        {
            "username": f"detective.with.a.long.username{n}",
            "agency": "HCPD",
            "last_logon": "2026-10-30T08:00:00",
            "first_search": "2026-10-01T08:00:00",
            "last_search": "2026-10-30T17:45:00",
            "searches": 6,
            "search_reasons": reasons,
            "requests_handled": 6,
            "reports_issued": 3,
            "seal_notices_received": 1,
            "seal_notices_confirmed": 1,
            "records_read": 240,
        }
        for n in range(users)
    ]
    flags = [("reviewer7", "after_hours", "Searched at 02:14 local time on 2026-10-12.")] * 3
    return MonthlyAuditDocument("Harbor County FRU", "2026-10", 1234, "ab" * 32, rows, flags)


def test_the_monthly_audit_table_stays_on_the_page_and_repeats_its_header():
    pdf = render_monthly_audit(monthly(users=30))
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) > 2
    assert all(float(p.mediabox.width) > float(p.mediabox.height) for p in pages)  # landscape
    assert_all_on_the_page(pdf)
    table_pages = [p.extract_text() for p in pages if "detective.with" in p.extract_text()]
    assert len(table_pages) >= 2
    assert all("Search reasons" in text and "Seal notices" in text for text in table_pages)
    assert "Flags for the administrator" in pages[-1].extract_text()
    assert len(HEADERS) == 15


def test_the_layout_check_catches_text_off_the_page():
    """The check itself: a line written past the right margin is caught."""
    pdf = FPDF(format="Letter")
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.set_xy(150, 40)
    pdf.cell(text="This sentence runs well past the right edge of the page.")
    with pytest.raises(AssertionError, match="right edge"):
        assert_all_on_the_page(bytes(pdf.output()))
