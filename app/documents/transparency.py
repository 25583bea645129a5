"""The transparency figures (counts only) as a one-page PDF."""

from __future__ import annotations

from app.documents.base import LeadDeskPDF

HEADERS = [
    "Period",
    "Requests",
    "Investig.",
    "Threat",
    "Deceased",
    "Unable",
    "Rejected",
    "Withdrawn",
    "Searches",
    "At peers",
    "For peers",
    "Leads",
    "No match",
    "Corrob.",
    "Excluded",
    "Open",
    "Sealed",
]


def render_transparency(rows: list[list], unit_name: str) -> bytes:
    pdf = LeadDeskPDF(
        unit_name=unit_name,
        document_id="Transparency figures",
        title="Transparency figures",
        lead_line=False,
        orientation="L",
    )
    pdf.add_page()
    pdf.heading("Facial recognition: transparency figures (counts only)", 13)
    pdf.data_table(HEADERS, rows, [1] * len(HEADERS))
    return pdf.render()
