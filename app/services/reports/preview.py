"""The report as it would be issued, before it is: every page marked "PREVIEW — NOT ISSUED",
nothing stored, numbered or sent. It shows the lead's identity, so it is an audited read, and
only whoever may issue the report may preview it."""

from __future__ import annotations

from dataclasses import replace

from app.clock import utcnow
from app.documents.base import UnprintableText
from app.documents.report import render_report
from app.models import SearchRequest, User
from app.services.oversight.reads import record_read
from app.services.platform.errors import ServiceError
from app.services.reports.issuance import build_report_data
from app.services.review.decisions import final_decision
from app.services.review.workflow import Action, require


def preview_report(request: SearchRequest, *, actor: User, comments: str) -> bytes:
    require(request, actor, Action.ISSUE_REPORT)
    data = build_report_data(
        request,
        final_decision(request),
        report_number=f"{request.tracking_number}-R1",
        version=1,
        issued_on=utcnow().strftime("%Y-%m-%d"),
        comments=comments.strip(),
    )
    record_read("report.preview", request, actor=actor, kind=data.kind, worksheets=len(data.worksheets))
    try:
        return render_report(replace(data, preview=True))
    except UnprintableText as err:
        raise ServiceError(str(err)) from None
