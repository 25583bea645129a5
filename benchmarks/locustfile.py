"""Locust users for benchmarks/load_test.py: 50 facial reviewers and 10 requesters.

Each simulated person signs in once through both factors with an account of their own
(read from LEADDESK_LOAD_ACCOUNTS), then works at a human pace. Requests are named by page
so the report reads per page, searches included.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

import harness  # beside this file: locust puts its folder on sys.path
from locust import HttpUser, between, task

ACCOUNTS = json.loads(Path(os.environ["LEADDESK_LOAD_ACCOUNTS"]).read_text())
PHOTO = Path(ACCOUNTS["photo"]).read_bytes()
_lock = threading.Lock()


def take(kind: str) -> dict:
    with _lock:
        return ACCOUNTS[kind].pop()


class Person(HttpUser):
    abstract = True
    wait_time = between(1, 5)
    kind = ""

    def on_start(self) -> None:
        self.account = take(self.kind)
        harness.sign_in(self._sign_in_get, self._sign_in_post, harness.Account.from_record(self.account))

    def _sign_in_get(self, url: str) -> tuple[int, str]:
        response = self.client.get(url, name="sign-in", allow_redirects=False)
        return response.status_code, response.text

    def _sign_in_post(self, url: str, data: dict) -> tuple[int, str]:
        response = self.client.post(url, data, name="sign-in", allow_redirects=False)
        return response.status_code, response.text

    @staticmethod
    def csrf(page: str) -> str:
        """The page's token, or none when the page failed (the post then fails visibly)."""
        try:
            return harness.csrf(page)
        except RuntimeError:
            return ""


class Reviewer(Person):
    fixed_count = 50
    kind = "reviewers"

    def on_start(self) -> None:
        super().on_start()
        self.request_id = self.account["request_id"]
        page = self.client.get(f"/review/requests/{self.request_id}", name="review workspace").text
        self.works = sorted(set(re.findall(r"/review/probes/(\d+)\"", page)))
        self.search_id: str | None = None

    @task(3)
    def queue(self) -> None:
        self.client.get("/review/", name="review queue")

    @task(3)
    def workspace(self) -> None:
        self.client.get(f"/review/requests/{self.request_id}", name="review workspace")

    @task(2)
    def probe(self) -> None:
        if self.works:
            work = self.works[0]
            self.client.get(f"/review/probes/{work}", name="probe page")
            self.client.get(f"/review/probes/{work}/processed.png", name="probe image")

    @task(2)
    def search(self) -> None:
        page = self.client.get(f"/review/requests/{self.request_id}", name="review workspace").text
        response = self.client.post(
            f"/review/requests/{self.request_id}/search",
            {"csrf_token": self.csrf(page), "work_id": self.works, "top_k": "20"},
            name="search (fused, K=20)",
        )
        found = re.search(r"/review/searches/(\d+)", response.url)
        if found:
            self.search_id = found.group(1)

    @task(2)
    def candidates(self) -> None:
        if self.search_id:
            self.client.get(f"/review/searches/{self.search_id}", name="candidate list")

    @task(2)
    def compare(self) -> None:
        if self.search_id:
            base = f"/review/searches/{self.search_id}"
            self.client.get(f"{base}/candidates/1", name="compare page")
            self.client.get(f"{base}/chips/probe/1.png", name="aligned chip")
            self.client.get(f"{base}/chips/candidate/1.png", name="aligned chip")


class Requester(Person):
    fixed_count = 10
    kind = "requesters"

    @task(3)
    def my_requests(self) -> None:
        self.client.get("/requests/", name="agency requests")

    @task(2)
    def one_request(self) -> None:
        self.client.get(f"/requests/{self.account['request_id']}", name="request detail")

    @task(1)
    def dashboard(self) -> None:
        self.client.get("/", name="home")

    @task(1)
    def upload(self) -> None:
        page = self.client.get("/requests/new", name="request form").text
        self.client.post(
            "/requests/new",
            data={"csrf_token": self.csrf(page), "action": "check", "case_number": "LOAD-1"},
            files={"images": ("probe.jpg", PHOTO, "image/jpeg")},
            name="upload and check photo",
        )
