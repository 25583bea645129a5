"""The browser tests' fixtures: a live server and Chromium (see browser.py)."""

from tests.support.browser import browser, live_server  # noqa: F401 - fixtures
