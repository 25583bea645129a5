"""One commit point, checked by reading the code: no view, access rule or error page commits
(``app/blueprints/common.py`` does: ``perform`` for a unit of work, ``commit_point`` after the
view); services commit only where a batch job must (a gallery import commits whole records in
batches, an index build records its start and its end)."""

from __future__ import annotations

import ast

import pytest

from tests.architecture.test_house_rules import APP, sources

COMMIT_POINT = {"blueprints/common.py"}
BATCH_JOBS = {
    "services/gallery/enrollment.py",
    "services/gallery/index_builds.py",
    "services/notify/outbox.py",  # the sender: one short transaction per message
}


@pytest.fixture
def app(gallery_app):
    return gallery_app


def commits_in(folder):
    for path, tree in sources(folder):
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "commit"
                and ast.unparse(node.func.value).endswith("session")
            ):
                yield path.relative_to(APP).as_posix(), node.lineno


def test_views_access_rules_and_error_pages_never_commit():
    web = [
        f"{where}:{line}"
        for folder in ("blueprints", "security")
        for where, line in commits_in(APP / folder)
        if where not in COMMIT_POINT
    ]
    web += [f"errors.py:{line}" for path, line in commits_in(APP) if path == "errors.py"]
    assert web == []


def test_services_commit_only_in_the_batch_jobs():
    assert {where for where, _ in commits_in(APP / "services")} <= BATCH_JOBS


def test_a_workspace_page_load_writes_nothing_but_its_audit(gallery_app, auth, client, people, submitted):
    """The workspace used to create each probe's work row on a GET and commit it."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import ProbeWork
    from app.services.review import assignments

    assignments.claim(submitted, reviewer=people["first"])
    db.session.commit()
    works = db.session.scalar(select(func.count(ProbeWork.id)))
    assert works == len(submitted.images)  # made when the request was taken
    auth.login(people["first"])
    assert client.get(f"/review/requests/{submitted.id}").status_code == 200
    assert db.session.scalar(select(func.count(ProbeWork.id))) == works
