"""Embedding an import's photos on a Dask distributed cluster (workers on other hosts).

The importing process stays the one database writer: it reads each photo, sends chunks of
photos (with their bytes, so workers need no shared disk) to the cluster and records results
as they come back, in manifest order. A worker lost mid-chunk returns nothing for that
chunk; the scheduler gives the chunk to another worker, so a chunk is recorded whole, once,
or not at all. Nothing here needs a request or the app.

Trust: the cluster speaks Dask's TLS (``tls://``) with the unit's own authority
(``cluster_certs``): scheduler, workers and this client each prove themselves with a
certificate from it, and every byte between them is encrypted. A plain ``tcp://`` address is
refused unless ``insecure_local`` says it is a test on this machine's loopback. What a worker
answers is believed only after it is checked field by field: the photo it describes is the one
sent (same path, same SHA-256), the descriptor is 128 finite float32 of a plausible length,
and every other field has its type and range. Which worker embedded each chunk is recorded.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from app.matching.enroll import PhotoEmbedding, embed_chunk, read_photo
from app.matching.faces import EngineSettings
from app.matching.images import ALLOWED_FORMATS
from app.services.platform.errors import ServiceError

CHUNKS_IN_FLIGHT_PER_WORKER_THREAD = 3  # enough to keep workers busy, bounded memory
TLS_FILES = ("ca.pem", "client.pem", "client-key.pem")
DESCRIPTOR_BYTES = 128 * 4
QUALITY_KEYS = {"face_width_px", "inter_eye_px", "sharpness", "yaw_deg", "roll_deg", "brightness", "contrast"}
ERROR_CODES = {
    "unreadable",
    "no_face",
    "several_faces",
    "image_error",
    "not_an_image",
    "unsupported_format",
    "too_large",
}


@dataclass
class ClusterRun:
    """What the cluster did for one import: which worker embedded how many photos."""

    scheduler: str
    by_worker: Counter = field(default_factory=Counter)


def cluster_security(scheduler: str, *, tls_dir: str | None, insecure_local: bool):
    """Dask's ``Security`` for ``scheduler``, or None for a loopback test; refuses the rest."""
    from distributed.security import Security

    parts = urlsplit(scheduler)
    if parts.scheme == "tcp":
        if not insecure_local:
            raise ServiceError(
                f"{scheduler} is plain TCP: anyone who reaches it could send the importer code to run "
                "and read the photos. Use tls:// with the unit's certificates (flask cluster certs); "
                "--insecure-local is for a test on this machine's loopback only."
            )
        if not _loopback(parts.hostname):
            raise ServiceError(f"--insecure-local is for a loopback address, not {parts.hostname}.")
        return None
    if parts.scheme != "tls":
        raise ServiceError(f"{scheduler}: the scheduler's address is tls://host:port.")
    folder = Path(tls_dir or "")
    missing = [name for name in TLS_FILES if not (folder / name).is_file()]
    if not tls_dir or missing:
        raise ServiceError(
            "GALLERY_CLUSTER_TLS_DIR must hold the unit's cluster CA and this client's pair "
            f"({', '.join(TLS_FILES)}); missing in {folder if tls_dir else '(unset)'}: {', '.join(missing)}."
        )
    return Security(
        tls_ca_file=str(folder / "ca.pem"),
        tls_client_cert=str(folder / "client.pem"),
        tls_client_key=str(folder / "client-key.pem"),
        require_encryption=True,
    )


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def embed_on_cluster(
    paths: list[str],
    settings: EngineSettings,
    scheduler: str,
    chunk_size: int,
    connect_timeout: float = 15,
    *,
    tls_dir: str | None = None,
    insecure_local: bool = False,
    run: ClusterRun | None = None,
) -> Iterator[PhotoEmbedding]:
    """One outcome per path, in order; photos that cannot be read never leave this host."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - distributed is in requirements.txt
        raise ServiceError("The Dask 'distributed' package is not installed.") from None
    security = cluster_security(scheduler, tls_dir=tls_dir, insecure_local=insecure_local)
    run = run if run is not None else ClusterRun(scheduler)
    try:
        client = Client(scheduler, timeout=connect_timeout, set_as_default=False, security=security)
    except (OSError, ValueError) as exc:  # TimeoutError and refused handshakes included
        raise ServiceError(f"Cannot reach the Dask scheduler at {scheduler}: {exc}.") from None
    try:
        threads = sum(client.nthreads().values()) or 1
        window = max(2, threads * CHUNKS_IN_FLIGHT_PER_WORKER_THREAD)
        chunks = (paths[start : start + chunk_size] for start in range(0, len(paths), chunk_size))
        in_flight: deque = deque()
        for chunk in chunks:
            in_flight.append(_submit(client, chunk, settings))
            if len(in_flight) >= window:
                yield from _collect(client, run, *in_flight.popleft())
        while in_flight:
            yield from _collect(client, run, *in_flight.popleft())
    finally:
        client.close()


def _submit(client, chunk: list[str], settings: EngineSettings):
    """Read the chunk here; send what was read. Returns what ``_collect`` needs."""
    outcomes: list[PhotoEmbedding | None] = []
    readable: list[tuple[str, bytes]] = []
    for path in chunk:
        data = read_photo(path)
        if isinstance(data, PhotoEmbedding):
            outcomes.append(data)
        else:
            outcomes.append(None)
            readable.append((path, data))
    # pure=False: a chunk re-sent by a re-run is computed again, never answered from memory.
    future = client.submit(embed_chunk, readable, settings, pure=False) if readable else None
    sent = [(path, hashlib.sha256(data).hexdigest()) for path, data in readable]
    return outcomes, future, sent


def _collect(client, run: ClusterRun, outcomes, future, sent) -> Iterator[PhotoEmbedding]:
    try:
        answers = future.result() if future is not None else []
    except Exception as exc:  # the chunk failed on every worker it was given to
        raise ServiceError(
            f"The cluster could not embed a chunk of photos: {str(exc).strip().rstrip('.')}. The "
            "scheduler and every worker must run this version of LeadDesk with the project on their "
            "PYTHONPATH (docs/operators.md, 'Enrolling on several hosts'); what was recorded before "
            "stays, and a re-run resumes."
        ) from exc
    worker = _worker_of(client, future) if future is not None else None
    checked = checked_answers(answers, sent, worker)
    if future is not None:
        run.by_worker[worker] += len(checked)
    embedded = iter(checked)
    for outcome in outcomes:
        yield outcome if outcome is not None else next(embedded)


def _worker_of(client, future) -> str:
    holders = client.who_has([future]).get(future.key) or ()
    return holders[0] if holders else "unknown"


def checked_answers(answers, sent: list[tuple[str, str]], worker: str | None) -> list[PhotoEmbedding]:
    """A worker's answers, believed only if each is exactly what was asked for; refuses the
    chunk (naming the worker) otherwise, so nothing forged is ever enrolled."""
    if not isinstance(answers, list) or len(answers) != len(sent):
        raise _forged(worker, "answered a different number of photos than it was sent")
    return [
        _checked(answer, path, sha256, worker) for answer, (path, sha256) in zip(answers, sent, strict=True)
    ]


def _checked(answer, path: str, sha256: str, worker: str | None) -> PhotoEmbedding:
    if not isinstance(answer, dict) or set(answer) != set(PhotoEmbedding.__dataclass_fields__):
        raise _forged(worker, "answered something that is not a photo's outcome")
    if answer["path"] != path or answer["sha256"] != sha256:
        raise _forged(worker, f"answered for another photo than {Path(path).name}")
    if answer["error"] is not None:
        if answer["error_code"] not in ERROR_CODES or not isinstance(answer["error"], str):
            raise _forged(worker, "answered an unknown error")
        return PhotoEmbedding(
            path, sha256=sha256, error_code=answer["error_code"], error=answer["error"][:300]
        )
    descriptor = answer["descriptor"]
    if not isinstance(descriptor, bytes) or len(descriptor) != DESCRIPTOR_BYTES:
        raise _forged(worker, "answered a descriptor that is not 128 float32")
    vector = np.frombuffer(descriptor, dtype="<f4")
    norm = float(np.linalg.norm(vector)) if np.isfinite(vector).all() else math.nan
    if not 0.1 < norm < 10:
        raise _forged(worker, "answered a descriptor no face gives")
    quality, box = answer["quality"], answer["box"]
    if (
        answer["format"] not in ALLOWED_FORMATS
        or answer["detector"] not in ("hog", "cnn")
        or not isinstance(quality, dict)
        or set(quality) != QUALITY_KEYS
        or not all(isinstance(v, int | float) and math.isfinite(v) for v in quality.values())
        or not isinstance(box, list | tuple)
        or len(box) != 4
        or not all(isinstance(v, int) and 0 <= v < 100_000 for v in box)
    ):
        raise _forged(worker, "answered fields out of their types or ranges")
    return PhotoEmbedding(
        path,
        sha256=sha256,
        format=answer["format"],
        descriptor=descriptor,
        detector=answer["detector"],
        quality={k: float(v) for k, v in quality.items()},
        box=tuple(box),
    )


def _forged(worker: str | None, what: str) -> ServiceError:
    return ServiceError(
        f"The cluster worker {worker or 'unknown'} {what}: its chunk is refused and nothing from it is "
        "recorded. Check that host; what was recorded before stays, and a re-run resumes."
    )
