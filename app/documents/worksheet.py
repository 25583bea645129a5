"""The examiner's worksheet: one examination of one candidate, as the case file keeps it.

Probe (the untouched original, and as searched with its processing steps), the candidate
aligned the same way, the comparison figure with the examiner's annotations drawn on it, the
19 FISWG features with their marks and notes, the conclusion, the examiner and their
certification, the times, the view adjustments, and whether it was made after the reveal.
The figure shows the images as they are (the adjustments are how the examiner looked, listed
beside it, never baked into the evidence).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from PIL import Image, ImageDraw

from app.documents.base import FONT, LeadDeskPDF

MARK_LABELS = {"similar": "Similar", "dissimilar": "Dissimilar", "not_visible": "Not visible", "": "—"}
KIND_LABELS = {"point": "Point", "line": "Line", "outline": "Outline"}
FIGURE_SIDE = 1024  # the annotated chips are drawn at twice the comparison size, lines stay thin
COLOURS = {"probe": (255, 214, 0), "candidate": (0, 229, 255)}


@dataclass(frozen=True)
class WorksheetData:
    """One examination (app/services/review/worksheets.py gathers it)."""

    unit_name: str
    document_id: str
    tracking_number: str
    search_id: int
    rank: int
    score: str
    examiner: str
    certification: str
    opened_at: str
    concluded_at: str
    conclusion: str
    note: str
    revision: int
    after_reveal: bool
    probe_original: bytes  # the untouched upload, upright (its display copy)
    probe_searched: bytes  # as searched, aligned (PNG)
    candidate: bytes  # the booking photo aligned the same way (PNG)
    processing_steps: list[str]
    checklist: list[tuple[str, str, str]]  # feature, mark, note
    annotations: list[dict] = field(default_factory=list)
    adjustments: list[str] = field(default_factory=list)
    booking_number: str = ""  # only once the conclusion revealed it
    candidate_name: str = ""
    model_id: str = ""


def annotated(png: bytes, annotations: list[dict], pane: str) -> Image.Image:
    """The aligned chip with the pane's annotations drawn and numbered as in the table."""
    image = (
        Image.open(io.BytesIO(png))
        .convert("RGB")
        .resize((FIGURE_SIDE, FIGURE_SIDE), Image.Resampling.LANCZOS)
    )
    draw = ImageDraw.Draw(image)
    colour = COLOURS[pane]
    for number, item in enumerate(annotations, 1):
        if item["pane"] != pane:
            continue
        points = [(x * FIGURE_SIDE, y * FIGURE_SIDE) for x, y in item["points"]]
        if item["kind"] == "point":
            x, y = points[0]
            draw.ellipse((x - 9, y - 9, x + 9, y + 9), outline=colour, width=4)
        elif item["kind"] == "line":
            draw.line(points, fill=colour, width=4)
        else:
            draw.line([*points, points[0]], fill=colour, width=4, joint="curve")
        x, y = points[0]
        draw.rectangle((x + 10, y - 30, x + 48, y - 2), fill=(0, 0, 0))
        draw.text((x + 14, y - 28), str(number), fill=colour, font_size=24)
    return image


def render_worksheet(data: WorksheetData) -> bytes:
    pdf = LeadDeskPDF(
        unit_name=data.unit_name,
        document_id=data.document_id,
        title=f"Examiner's worksheet {data.document_id}",
    )
    pdf.add_page()
    pdf.heading(data.unit_name, 11)
    draw_worksheet(pdf, data, "Examiner's worksheet · one-to-one comparison")
    return pdf.render(refuse_unprintable=True)


def draw_worksheet(pdf: LeadDeskPDF, data: WorksheetData, title: str) -> None:
    """The worksheet from the current page on (its own PDF, or a report's appendix)."""
    pdf.heading(title, 14)
    pdf.field("Worksheet", data.document_id)
    pdf.field("Request", data.tracking_number or "—")
    pdf.field("Search", f"{data.search_id} (model {data.model_id})")
    pdf.field("Candidate", f"photo rank {data.rank} · score {data.score}")
    if data.candidate_name:
        pdf.field("Candidate record", f"{data.candidate_name} · booking {data.booking_number}")
    else:
        pdf.field("Candidate record", "Not revealed: no conclusion recorded")
    pdf.field("Examiner", data.examiner)
    pdf.field("Certification", data.certification)
    pdf.field("Opened", data.opened_at)
    pdf.field("Concluded", data.concluded_at)
    pdf.field("Conclusion", data.conclusion)
    revision = f"{data.revision}" + (" · made after the identity was revealed" if data.after_reveal else "")
    pdf.field("Revision", revision)
    pdf.rule()
    _figure(pdf, data)
    pdf.heading("FISWG morphological comparison", 11)
    pdf.data_table(
        ["Feature", "Mark", "Note"],
        [[feature, MARK_LABELS.get(mark, mark), note or ""] for feature, mark, note in data.checklist],
        [42, 24, 110],
        size=8,
    )
    if data.annotations:
        pdf.heading("Annotations", 11)
        pdf.data_table(
            ["#", "Image", "Kind", "Feature", "Note"],
            [
                [
                    str(n),
                    item["pane"].capitalize(),
                    KIND_LABELS[item["kind"]],
                    item["feature"] or "—",
                    item["note"],
                ]
                for n, item in enumerate(data.annotations, 1)
            ],
            [8, 22, 18, 40, 88],
            size=8,
        )
    pdf.keep_together(30)
    pdf.heading("How the examiner looked", 11)
    pdf.field("View adjustments", "; ".join(data.adjustments) or "None: both images as they are")
    pdf.field("Examination note", data.note or "—")
    _originals(pdf, data)


def _figure(pdf: LeadDeskPDF, data: WorksheetData) -> None:
    side = (pdf.epw - 6) / 2
    pdf.keep_together(side + 16)
    pdf.heading("Comparison figure", 11)
    top = pdf.get_y()
    for column, (pane, png, caption) in enumerate(
        (("probe", data.probe_searched, "Probe as searched"), ("candidate", data.candidate, "Candidate"))
    ):
        x = pdf.l_margin + column * (side + 6)
        figure = io.BytesIO()
        annotated(png, data.annotations, pane).save(figure, "JPEG", quality=90)
        pdf.image(figure, x=x, y=top, w=side, h=side)
        pdf.set_xy(x, top + side + 1)
        pdf.set_font(FONT, "", 8)
        pdf.cell(side, 4, caption, align="C")
    pdf.set_y(top + side + 7)
    pdf.paragraph(
        "Both images aligned the same way (eyes level, the same distance apart); numbers refer to the "
        "annotations table. Shown without the view adjustments.",
        size=8,
    )


def _originals(pdf: LeadDeskPDF, data: WorksheetData) -> None:
    pdf.add_page()
    pdf.heading("The probe: the untouched original and its processing", 11)
    steps = "; ".join(data.processing_steps) if data.processing_steps else "None: searched as submitted"
    pdf.field("Processing steps", steps)
    if not data.probe_original:
        pdf.paragraph("The original is no longer held.")
        return
    original = Image.open(io.BytesIO(data.probe_original))
    width, height = original.size
    room_w, room_h = pdf.epw, pdf.h - pdf.get_y() - 30
    scale = min(room_w / width, room_h / height)
    pdf.image(
        io.BytesIO(data.probe_original), x=pdf.l_margin, y=pdf.get_y() + 2, w=width * scale, h=height * scale
    )
    pdf.set_y(pdf.get_y() + height * scale + 4)
    pdf.paragraph(f"Original, {width} × {height} pixels, shown whole.", size=8)
