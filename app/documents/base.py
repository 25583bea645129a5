"""The shared page frame of every LeadDesk PDF: embedded Unicode font, markings on every page,
page X of Y, and deterministic output (same inputs, same bytes)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF, FontFace
from fpdf.enums import TableHeadingsDisplay, WrapMode

FONT_DIR = Path(__file__).resolve().parents[1] / "static" / "fonts"
FONT = "DejaVu"
MARKING = "UNCLASSIFIED//LAW ENFORCEMENT SENSITIVE"
LEAD_LINE = "Investigative lead only — not a positive identification"
# Fixed document dates keep output byte-identical for identical inputs.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class UnprintableText(ValueError):
    """Text the document's font cannot print: never dropped without a word (the caller refuses
    the document and says which characters)."""

    def __init__(self, characters: list[str]) -> None:
        shown = ", ".join(f"'{c}' (U+{ord(c):04X})" for c in characters[:8])
        more = f" and {len(characters) - 8} more" if len(characters) > 8 else ""
        super().__init__(
            f"The document cannot print {shown}{more}: its font has Latin, Greek, Cyrillic, Armenian, "
            "Georgian and Hebrew letters, not Chinese, Japanese or Korean. Write the name or text "
            "in Latin letters (as on the booking record) or leave the characters out; nothing was issued."
        )


class LeadDeskPDF(FPDF):
    def __init__(
        self, *, unit_name: str, document_id: str, title: str, lead_line: bool = True, orientation: str = "P"
    ) -> None:
        super().__init__(orientation=orientation, unit="mm", format="Letter")
        self.unit_name = unit_name
        self.document_id = document_id
        self.lead_line = lead_line
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_title(title)
        self.set_author(unit_name)
        self.set_creator("LeadDesk")
        self.set_creation_date(EPOCH)
        self.set_auto_page_break(auto=True, margin=24)
        self.set_margins(18, 26, 18)
        self.alias_nb_pages()

    def header(self) -> None:
        self.set_y(8)
        self.set_font(FONT, "B", 8)
        self.set_text_color(75, 46, 131)
        self.cell(0, 4, MARKING, align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0, 0, 0)
        self.set_font(FONT, "", 8)
        self.cell(0, 4, f"{self.unit_name}  ·  {self.document_id}", align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_y(26)

    def footer(self) -> None:
        self.set_y(-18)
        self.set_font(FONT, "", 7.5)
        if self.lead_line:
            self.cell(0, 4, LEAD_LINE, align="C", new_x="LMARGIN", new_y="NEXT")
        self.cell(
            0,
            4,
            f"{self.document_id}  ·  Page {self.page_no()} of {{nb}}",
            align="C",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        self.set_font(FONT, "B", 8)
        self.set_text_color(75, 46, 131)
        self.cell(0, 4, MARKING, align="C")
        self.set_text_color(0, 0, 0)

    # --- helpers used by the documents -------------------------------------------------

    def heading(self, text: str, size: float = 13) -> None:
        self.set_font(FONT, "B", size)
        self.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    # Label column and line height of ``field``; a long form sets them tighter.
    field_label_width = 66.0
    field_line = 5.5

    def field(self, label: str, value: str | None) -> None:
        """A label and its value side by side, kept on one page (a long value is the exception)."""
        value = value if value else "—"
        label_width, line = self.field_label_width, self.field_line
        self.set_font(FONT, "B", 9)
        label_lines = len(self.multi_cell(label_width, line, label, dry_run=True, output="LINES"))
        self.set_font(FONT, "", 9.5)
        value_width = self.w - self.r_margin - self.l_margin - label_width
        value_lines = len(self.multi_cell(value_width, line, value, dry_run=True, output="LINES"))
        height = line * max(label_lines, value_lines)
        if height < self.eph / 2 and self.will_page_break(height):
            self.add_page()
        self.set_font(FONT, "B", 9)
        y = self.get_y()
        self.multi_cell(label_width, line, label, new_x="RIGHT", new_y="TOP")
        self.set_font(FONT, "", 9.5)
        self.multi_cell(value_width, line, value, new_x="LMARGIN", new_y="NEXT")
        self.set_y(max(self.get_y(), y + line) + 0.8)

    def keep_together(self, height: float) -> None:
        """Start a new page unless ``height`` more millimetres fit on this one."""
        if self.will_page_break(height):
            self.add_page()

    def paragraph(self, text: str, size: float = 9, bold: bool = False) -> None:
        self.set_font(FONT, "B" if bold else "", size)
        self.multi_cell(0, 4.8, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(1.5)

    def rule(self) -> None:
        self.set_draw_color(170, 170, 170)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2)

    def data_table(
        self, headers: list[str], rows: list[list[str]], col_widths: list[float], size: float = 7.5
    ) -> None:
        """A table that stays on the page: cells wrap, long words break, and the header row
        repeats at the top of every page the table runs onto."""
        self.set_font(FONT, "", size)
        with self.table(
            col_widths=col_widths,
            width=self.epw,
            line_height=size * 0.55,
            text_align="LEFT",
            wrapmode=WrapMode.WORD,  # a word longer than its cell is still broken
            repeat_headings=TableHeadingsDisplay.ON_TOP_OF_EVERY_PAGE,
            headings_style=FontFace(emphasis="BOLD", fill_color=(235, 232, 243)),
            padding=0.8,
        ) as table:
            table.row(headers)
            for values in rows:
                table.row([str(v) for v in values])
        self.ln(3)

    def render(self, *, refuse_unprintable: bool = False) -> bytes:
        """The PDF's bytes; with ``refuse_unprintable`` (a document that leaves the unit), text
        the font cannot print raises instead of vanishing."""
        data = bytes(self.output())
        fonts = self.fonts.values()
        missing = sorted({chr(c) for font in fonts for c in getattr(font, "missing_glyphs", ())})
        if missing and refuse_unprintable:
            raise UnprintableText(missing)
        return data
