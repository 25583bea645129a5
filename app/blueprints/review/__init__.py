"""Facial reviewers: the queue and workspace, probe work, searches and the comparison
workstation. One blueprint, its views in one module per concern (each registers on ``bp``).
Views validate a form, call one service, commit at the boundary (``perform``) and redirect."""

from flask import Blueprint

bp = Blueprint("review", __name__)

from app.blueprints.review import candidates, probes, videos, work, worksheets  # noqa: E402, F401 - register views

__all__ = ["bp"]
