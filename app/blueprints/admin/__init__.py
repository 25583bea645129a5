"""Local administrators: people and agencies, the audit trail, monthly audits, oversight.

One blueprint, its views in one module per concern (each registers on ``bp``).
"""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from app.blueprints.admin import audit, monthly, oversight, people  # noqa: E402, F401 - register views

__all__ = ["bp"]
