"""The browser tests' fixtures: a live server and Chromium (see browser.py)."""

from tests.e2e.browser import browser, live_server  # noqa: F401 - fixtures
