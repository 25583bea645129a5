"""The monthly audit of facial recognition use as a PDF: landscape, one row per user with the
figures the policy's audit lists (username, last logon, search period, number of searches,
search reasons, sealed-record notices), a row per peer unit of the interconnect (the searches
answered for it and sent to it), then the flags for the administrator."""

from __future__ import annotations

from dataclasses import dataclass

from app.documents.base import LeadDeskPDF

HEADERS = [
    "User",
    "Agency",
    "Last logon",
    "First search",
    "Last search",
    "Searches",
    "Search reasons",
    "Handled",
    "Reports",
    "Seal notices",
    "Confirmed",
    "Records read",
    "Sources determined",
    "1st Am. determined",
    "At peers",
]
# relative widths: numbers' columns just fit their one-word headers, the reasons take the rest
WIDTHS = [28, 13, 18, 22, 22, 16, 46, 16, 16, 16, 18, 16, 17, 17, 14]


@dataclass(frozen=True)
class MonthlyAuditDocument:
    unit_name: str
    month: str
    head_seq: int
    head_hash: str
    rows: list[dict]
    flags: list[tuple[str | None, str, str]]


def render_monthly_audit(doc: MonthlyAuditDocument) -> bytes:
    pdf = LeadDeskPDF(
        unit_name=doc.unit_name,
        document_id=f"Monthly audit {doc.month}",
        title=f"Monthly audit {doc.month}",
        lead_line=False,
        orientation="L",
    )
    pdf.add_page()
    pdf.heading(f"Monthly audit of facial recognition use — {doc.month}", 14)
    pdf.paragraph(f"Audit chain head at generation: event {doc.head_seq}, {doc.head_hash}.", size=8)
    rows = [
        [
            row["username"],
            row["agency"],
            row["last_logon"][:10],
            row["first_search"][:16].replace("T", " "),
            row["last_search"][:16].replace("T", " "),
            row["searches"],
            row["search_reasons"].replace(" | ", "\n") or "—",
            row["requests_handled"],
            row["reports_issued"],
            row["seal_notices_received"],
            row["seal_notices_confirmed"],
            row.get("records_read", 0),
            row.get("source_determinations", 0),
            row.get("first_amendment_determinations", 0),
            row.get("peer_searches", 0),
        ]
        for row in doc.rows
    ]
    pdf.data_table(HEADERS, rows, WIDTHS)
    pdf.heading("Flags for the administrator", 11)
    for username, kind, description in doc.flags or [(None, "none", "No flags this month.")]:
        pdf.paragraph(f"[{kind}] {username or ''} {description}".strip(), size=8.5)
    return pdf.render()
