"""The *Manual Search Report* (investigative lead, or no possible match) as a PDF."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.documents.base import FONT, LeadDeskPDF
from app.documents.worksheet import WorksheetData, draw_worksheet

# The template's words exactly (no full stop after NEEDED: the seed has none).
BANNER = (
    "THIS IS NOT A POSITIVE IDENTIFICATION. IT IS AN INVESTIGATIVE LEAD ONLY, AND FURTHER "
    "INVESTIGATION IS NEEDED THIS IS NOT PROBABLE CAUSE TO ARREST OR A REASON FOR DETENTION."
)
VIABILITY = (
    "The above investigative lead is deemed viable for further investigation based on a facial "
    "recognition search and morphological comparison. See the demographic information below:"
)

PREVIEW_LINE = "PREVIEW — NOT ISSUED. This copy is not a report and must not leave the unit."


@dataclass(frozen=True)
class ReportData:
    unit_name: str
    unit_contact: str
    owner_agency: str  # the agency that owns the report (the unit's agency)
    report_number: str
    version: int
    kind: str  # "lead" | "no_match"
    case_number: str  # Facial Recognition Case Number (the tracking number)
    submitted_by: str
    date_searched: str
    investigating_agency: str
    face_reviewer: str  # the examiner who searched, compared and decided first
    verifying_reviewer: str  # the blind second review, with whether it agreed
    agency_case_number: str
    issued_on: str
    probe_image: bytes | None = None  # PNG/JPEG bytes of the searched (processed) probe
    lead_image: bytes | None = None
    name: str = ""
    date_of_birth: str = ""
    cdl: str = ""
    main_number: str = ""
    sid: str = ""
    booking_number: str = ""
    repository: str = ""  # whose gallery the lead came from (this unit's, or a peer's)
    comments: str = ""
    candidate_list_size: int = 0
    lead_rank: int | None = None
    # the lead's conclusion was recorded after the examiner had seen the candidate's identity
    after_reveal: bool = False
    model_id: str = ""
    index_version: str = ""
    processing_steps: list[str] = field(default_factory=list)
    supersedes: str | None = None
    correction_reason: str | None = None
    logo: bytes | None = None
    third_reviewer: str | None = None  # who settled a dispute, if there was one
    # every booking the report prints, (booking id, role): a seal of any of them notices it
    printed_bookings: tuple[tuple[int, str], ...] = ()
    # the examiners' worksheets of the lead, one per examiner (the unit's REPORT_WORKSHEETS)
    worksheets: tuple[WorksheetData, ...] = ()
    preview: bool = False  # a preview before issuing: marked on every page, never issued


def closing_paragraphs(data: ReportData) -> list[str]:
    return [
        "If LACRIS is notified to seal/destroy this record, it is your agency's responsibility to "
        "destroy this information in compliance with California's Department of Justice Criminal "
        "Offender Record Information (Information Bulletin 13-04-CJIS).",
        f"This document is the property of {data.owner_agency} and is prepared for the limited "
        "purpose of information sharing. This information is designated U//LES and is shared in "
        "confidence. This document contains Personally Identifiable Information (PII) and must be "
        "handled in accordance with the LACRIS Policy and FBI CJIS Security Policy. It may be shared "
        "with other LE agencies but may not be posed within public view. This document must not be "
        "reclassified in any way, in whole or part. Questions about this document can be directed "
        f"to {data.unit_contact}.",
    ]


def render_report(data: ReportData) -> bytes:
    pdf = LeadDeskPDF(
        unit_name=data.unit_name,
        document_id=f"PREVIEW, NOT ISSUED · {data.report_number}" if data.preview else data.report_number,
        title=f"Manual Search Report {data.report_number}",
    )
    pdf.add_page()
    if data.preview:
        pdf.paragraph(
            "PREVIEW — NOT ISSUED. This copy is not a report and must not leave the unit.", 11, True
        )
    if data.logo:
        pdf.image(data.logo, x=pdf.l_margin, y=pdf.get_y(), h=16, keep_aspect_ratio=True)
        pdf.ln(18)
    pdf.heading(data.unit_name, 11)
    pdf.heading("Manual Search Report", 15)
    if data.supersedes:
        pdf.paragraph(
            f"Version {data.version}: supersedes report {data.supersedes}. Reason: {data.correction_reason}",
            bold=True,
        )
    pdf.set_fill_color(255, 244, 206)
    pdf.set_font(FONT, "B", 10)
    pdf.multi_cell(0, 5.5, BANNER, border=1, fill=True, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.field("Facial Recognition Case Number", data.case_number)
    pdf.field("Submitted by", data.submitted_by)
    pdf.field("Date Searched", data.date_searched)
    pdf.field("Investigating Agency", data.investigating_agency)
    pdf.field("Face Reviewer", data.face_reviewer)
    pdf.field("Verifying Reviewer", data.verifying_reviewer)
    if data.third_reviewer:
        pdf.field("Third Reviewer", data.third_reviewer)
    pdf.field("Agency Case Number", data.agency_case_number or "—")
    pdf.field("Date Issued", data.issued_on)
    pdf.rule()
    if data.kind == "lead":
        _lead_body(pdf, data)
    else:
        pdf.paragraph(no_match_paragraph(data.owner_agency), size=10)
        if data.comments:
            pdf.field("Comments", data.comments)
    pdf.rule()
    for paragraph in closing_paragraphs(data):
        pdf.paragraph(paragraph, size=8.5)
    # Beyond the template, after its closing paragraphs: how the result was reached.
    pdf.keep_together(40)
    pdf.rule()
    pdf.heading("How this result was reached", 10)
    pdf.field("Candidate list size", str(data.candidate_list_size))
    if data.kind == "lead":
        pdf.field("Rank of the lead", str(data.lead_rank))
        if data.after_reveal:
            pdf.field(
                "Examined after the reveal",
                "Yes: the examiner's conclusion on the lead was recorded after its identity was revealed "
                "(a re-examination, kept with the first).",
            )
    pdf.field("Model", data.model_id)
    pdf.field("Index version", data.index_version)
    processed = "Yes: " + "; ".join(data.processing_steps) if data.processing_steps else "No"
    pdf.field("Probe processed", processed)
    for number, worksheet in enumerate(data.worksheets, 1):
        pdf.add_page()
        draw_worksheet(
            pdf, worksheet, f"Appendix {number}: examiner's worksheet of the lead · {worksheet.examiner}"
        )
    return pdf.render(refuse_unprintable=True)


def no_match_paragraph(owner_agency: str) -> str:
    """The template's no-match sentence; it starts with the agency's name, capitalised."""
    agency = owner_agency[:1].upper() + owner_agency[1:]
    return (
        f"{agency} has determined that the image(s) provided did not result in a possible match in "
        "the digital mugshot repository. A new facial recognition search request form must be "
        "completed if your agency wishes to provide additional images."
    )


def _lead_body(pdf: LeadDeskPDF, data: ReportData) -> None:
    width = (pdf.w - pdf.l_margin - pdf.r_margin - 8) / 2
    height = 70
    top = pdf.get_y()
    pdf.set_font(FONT, "B", 9)
    pdf.cell(width, 5, "Submitted Image (Probe)", align="C")
    pdf.set_x(pdf.l_margin + width + 8)
    pdf.cell(width, 5, "Investigative Lead Image", align="C", new_x="LMARGIN", new_y="NEXT")
    for column, image in enumerate((data.probe_image, data.lead_image)):
        x = pdf.l_margin + column * (width + 8)
        pdf.rect(x, top + 6, width, height)
        if image:
            # keep_aspect_ratio fits the photo inside the box without distorting it
            pdf.image(image, x=x + 1, y=top + 7, w=width - 2, h=height - 2, keep_aspect_ratio=True)
    pdf.set_y(top + 6 + height + 4)
    pdf.paragraph(VIABILITY, size=9.5)
    pdf.field("Name", data.name)
    pdf.field("Date of Birth", data.date_of_birth)
    pdf.field("CDL", data.cdl)
    pdf.field("MAIN #", data.main_number)
    pdf.field("SID", data.sid)
    pdf.field("Recent booking number", data.booking_number)
    if data.repository:
        pdf.field("Repository", data.repository)
    pdf.field("Comments", data.comments)
