"""Template globals and filters."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, current_app
from flask_login import current_user

from app.documents.base import MARKING
from app.models import Capacity, RequestStatus, ReviewState, Role
from app.services.policy import provenance
from app.services.reports.issuance import can_download_report, can_open_report
from app.services.review.workflow import Action, decisions_visible


def format_datetime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M UTC") -> str:
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime(fmt)


def register(app: Flask) -> None:
    app.jinja_env.filters["dt"] = format_datetime

    @app.context_processor
    def frame_globals():
        return {
            "Role": Role,
            "Action": Action,
            "Capacity": Capacity,
            "RequestStatus": RequestStatus,
            "ReviewState": ReviewState,
            "can_open_report": can_open_report,
            "can_download_report": can_download_report,
            "decisions_visible": decisions_visible,
            "provenance": provenance,
            "unit_name": current_app.config["UNIT_NAME"],
            "data_marking": MARKING,
            "current_user": current_user,
        }
