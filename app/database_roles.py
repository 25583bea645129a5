"""Two PostgreSQL roles: the owner, which migrates (and owns every table, so it alone may drop
a trigger), and the serving role the web workers and the scheduler connect as, which may only
append to the audit tables and read them.

``grant_serving_role`` gives a role what serving needs (run as the owner after each
migration: ``flask --app wsgi database grant ROLE``); ``serving_role_problems`` is the check
the served processes make at start in production: a role that owns the audit tables, or may
change or delete their rows, is refused.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

APPEND_ONLY = ("audit_event", "audit_checkpoint")
READ_ONLY = ("alembic_version",)


def grant_serving_role(connection: Connection, role: str) -> list[str]:
    """Grant ``role`` what the app needs and no more; returns the statements run."""
    quoted = connection.dialect.identifier_preparer.quote(role)
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
        *(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {quoted}" for table in APPEND_ONLY),
        *(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {table} FROM {quoted}" for table in READ_ONLY),
    ]
    for statement in statements:
        connection.execute(text(statement))
    return statements


def serving_role_problems(connection: Connection) -> list[str]:
    """Why the connected role must not serve (empty: it may). PostgreSQL only."""
    if connection.dialect.name != "postgresql":
        return []
    problems = []
    for table in APPEND_ONLY:
        owner = connection.execute(
            text("SELECT pg_get_userbyid(relowner) = current_user FROM pg_class WHERE relname = :t"),
            {"t": table},
        ).scalar()
        if owner:
            problems.append(f"the serving role owns {table} (it could drop its append-only trigger)")
        for privilege in ("UPDATE", "DELETE", "TRUNCATE"):
            if connection.execute(
                text("SELECT has_table_privilege(current_user, :t, :p)"), {"t": table, "p": privilege}
            ).scalar():
                problems.append(f"the serving role may {privilege} {table}")
    superuser = connection.execute(
        text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    ).scalar()
    if superuser:
        problems.append("the serving role is a superuser")
    return problems


def refuse_unsafe_serving_role(app) -> None:
    """At the start of a served process (a gunicorn worker, the scheduler): stop if the role
    it connects as could change the audit trail."""
    from app.extensions import db

    with app.app_context(), db.engine.connect() as connection:
        problems = serving_role_problems(connection)
    if problems:
        raise SystemExit("LeadDesk will not serve as this database role: " + "; ".join(problems))
