"""The filled *Facial Recognition Search Request* as a PDF, with the seed form's fields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.documents.base import LeadDeskPDF


@dataclass(frozen=True)
class ImageRow:
    """One attached image with the provenance its requester stated."""

    name: str
    source: str
    live_or_recorded: str
    extracted_from_video: bool | None
    provided_by: str
    legally_obtained: str
    with_answer: bool = False


YES_NO = {True: "Yes", False: "No", None: "—"}


@dataclass(frozen=True)
class RequestFormData:
    unit_name: str
    repository_name: str
    interconnect_name: str
    tracking_number: str
    agency: str
    agency_policy: str
    requester_name: str
    requester_phone: str
    requester_email: str
    case_number: str
    reason: str
    purpose: str
    situation: str
    reasonable_suspicion: str
    crime_type: str
    person_condition: str
    image_taken: str
    images: list[ImageRow]
    affirmation: str
    first_amendment_notice: str
    signature: str
    printed_name: str
    signed_at: datetime | None
    submitted_on: date | None


def render_request_form(data: RequestFormData) -> bytes:
    pdf = LeadDeskPDF(
        unit_name=data.unit_name,
        document_id=data.tracking_number,
        title=f"Facial Recognition Search Request {data.tracking_number}",
        lead_line=False,
    )
    pdf.field_label_width, pdf.field_line = 58.0, 4.6  # the seed is a one-page form: kept tight
    pdf.add_page()
    pdf.heading("Facial Recognition Search Request", 15)
    pdf.paragraph(f"Attention {data.unit_name} Staff:")
    pdf.paragraph(please_assist(data.repository_name, data.interconnect_name))
    pdf.paragraph(data.affirmation, bold=True)
    pdf.rule()
    pdf.field("Tracking number", data.tracking_number)
    pdf.field("Requesting Agency", data.agency)
    pdf.field("Requester Name", data.requester_name)
    pdf.field("Requester Phone Number", data.requester_phone)
    pdf.field("Requester Email", data.requester_email)
    pdf.field("Case/File Number", data.case_number)
    pdf.field("Reason for search", data.reason)
    sources = sorted({row.source for row in data.images})
    pdf.field("Source image obtained from", "; ".join(sources) if sources else "—")
    from_video = {row.extracted_from_video for row in data.images}
    pdf.field("Image extracted from video?", YES_NO[True in from_video] if data.images else "—")
    pdf.field("Number of Images attached", str(len(data.images)))
    pdf.field("Agency's own facial recognition policy", data.agency_policy)
    pdf.rule()
    pdf.heading("Justification", 11)
    pdf.field("Purpose", data.purpose)
    pdf.field("Situation description", data.situation)
    pdf.field("Circumstances amounting to reasonable suspicion", data.reasonable_suspicion)
    pdf.field("File class / crime type", data.crime_type)
    pdf.field("Known condition of the person", data.person_condition)
    pdf.field("Date and place taken", data.image_taken)
    pdf.heading("The images and where each came from", 11)
    pdf.data_table(
        [
            "Image",
            "Source image obtained from",
            "Live / recorded",
            "From video?",
            "Provided by",
            "How legally obtained",
        ],
        [
            [
                f"{n}. {row.name}" + (" (with an answer)" if row.with_answer else ""),
                row.source,
                row.live_or_recorded,
                YES_NO[row.extracted_from_video],
                row.provided_by,
                row.legally_obtained,
            ]
            for n, row in enumerate(data.images, 1)
        ],
        [26, 36, 16, 13, 42, 57],
    )
    pdf.paragraph(data.first_amendment_notice, size=8)
    pdf.keep_together(34)  # signature, printed name and date stay together
    pdf.rule()
    pdf.field("Requestor Signature", f"/s/ {data.signature}" if data.signature else "")
    signed = data.signed_at.strftime("%Y-%m-%d %H:%M UTC") if data.signed_at else ""
    pdf.field("Signed electronically", signed)
    pdf.field("Printed Name", data.printed_name)
    pdf.field("Date", data.submitted_on.isoformat() if data.submitted_on else "")
    return pdf.render()


def please_assist(repository_name: str, interconnect_name: str) -> str:
    """The seed form's request, with the unit's repository names."""
    return (
        "Please assist our agency's investigation by conducting a facial recognition search of the "
        f"attached image(s) in the {repository_name} and any searchable repositories through the "
        f"{interconnect_name}."
    )
