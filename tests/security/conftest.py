"""The live servers of the attacker's kit (``tests/support/live.py``) as fixtures."""

from __future__ import annotations

import pytest

from tests.support.live import serve


@pytest.fixture
def live(app):
    server, stop = serve(app)
    yield server
    stop()


@pytest.fixture
def gallery_live(gallery_app):
    server, stop = serve(gallery_app)
    yield server
    stop()
