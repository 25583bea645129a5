"""Calling peers over mutual TLS: this unit's certificate presented, the peer's server checked
against its authority. A search goes to every chosen peer at once and waits for them together
at most ``INTERCONNECT_TIMEOUT_SECONDS``: a peer that is down, slow or answers nonsense never
holds the reviewer's list back (its outcome is recorded instead)."""

from __future__ import annotations

import json
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass

import requests
from flask import current_app

from app.models import InterconnectPeer
from app.services.interconnect import trust, wire

API = "/interconnect/v1"
MAX_ANSWER_BYTES = 40_000_000  # 150 chips of at most 400 kB, base64: anything larger is refused unread


@dataclass(frozen=True)
class Reply:
    status: str  # answered | down | slow | invalid | refused
    payload: object = None
    error: str = ""
    milliseconds: int = 0


@dataclass(frozen=True)
class Target:
    """What a call needs of a peer, read in the caller's thread (no database in the workers)."""

    peer_id: int
    name: str
    url: str
    authority: str  # the authority's certificate, as a file
    cert: tuple[str, str]


def target_of(peer: InterconnectPeer) -> Target:
    identity = trust.unit_identity()
    return Target(
        peer.id,
        peer.name,
        peer.url,
        str(trust.authority_file(peer.name, peer.authority_pem)),
        (str(identity.cert_file), str(identity.key_file)),
    )


def _read_limited(response: requests.Response, deadline: float) -> bytes:
    """The body, refused past its size bound, or past the call's deadline (a peer that drips
    its answer a byte at a time would otherwise reset the read timeout forever)."""
    body = bytearray()
    for chunk in response.iter_content(64 * 1024):
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            raise wire.Invalid(f"the answer is larger than {MAX_ANSWER_BYTES} bytes")
        if time.monotonic() > deadline:
            raise requests.exceptions.ReadTimeout("the answer did not finish in time")
    return bytes(body)


def call(target: Target, method: str, path: str, *, json=None, timeout: float) -> Reply:
    started = time.monotonic()
    try:
        with requests.request(
            method,
            target.url + API + path,
            json=json,
            cert=target.cert,
            verify=target.authority,
            timeout=(min(timeout, 3.0), timeout),
            stream=True,
            allow_redirects=False,
        ) as response:
            body = _read_limited(response, started + timeout)
            elapsed = int((time.monotonic() - started) * 1000)
            if response.status_code in (403, 410, 429):
                return Reply("refused", _json_or_none(body), f"HTTP {response.status_code}", elapsed)
            if response.status_code != 200:
                return Reply("invalid", None, f"HTTP {response.status_code}", elapsed)
            payload = _json_or_none(body)
            if payload is None:
                return Reply("invalid", None, "not JSON", elapsed)
            return Reply("answered", payload, "", elapsed)
    except requests.exceptions.Timeout:
        return Reply("slow", error=f"no answer within {timeout:g} s", milliseconds=int(timeout * 1000))
    except requests.exceptions.SSLError as exc:
        return Reply("refused", error=f"TLS: {_short(exc)}", milliseconds=_since(started))
    except wire.Invalid as exc:
        return Reply("invalid", error=exc.message, milliseconds=_since(started))
    except requests.exceptions.RequestException as exc:
        return Reply("down", error=_short(exc), milliseconds=_since(started))


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__


def _json_or_none(body: bytes):
    try:
        return json.loads(body)
    except ValueError:
        return None


def timeout() -> float:
    return float(current_app.config["INTERCONNECT_TIMEOUT_SECONDS"])


def ask_all(targets: list[Target], path: str, question: dict) -> dict[int, Reply]:
    """POST the question to every target at once; every reply by the bounded wait, the rest
    counted as slow (their threads are left to finish on their own)."""
    bound = timeout()
    pool = ThreadPoolExecutor(max_workers=max(1, len(targets)), thread_name_prefix="interconnect")
    futures = {t.peer_id: pool.submit(call, t, "POST", path, json=question, timeout=bound) for t in targets}
    wait(futures.values(), timeout=bound + 0.25, return_when=FIRST_EXCEPTION)
    pool.shutdown(wait=False, cancel_futures=True)
    replies = {}
    for peer_id, future in futures.items():
        if future.done() and not future.cancelled() and future.exception() is not None:
            replies[peer_id] = Reply("down", error=_short(future.exception()))
        elif future.done() and not future.cancelled():
            replies[peer_id] = future.result()
        else:
            replies[peer_id] = Reply(
                "slow", error=f"no answer within {bound:g} s", milliseconds=int(bound * 1000)
            )
    return replies
