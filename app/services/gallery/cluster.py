"""Embedding an import's photos on a Dask distributed cluster (workers on other hosts).

The importing process stays the one database writer: it reads each photo, sends chunks of
photos (with their bytes, so workers need no shared disk) to the cluster and records results
as they come back, in manifest order. A worker lost mid-chunk returns nothing for that
chunk; the scheduler gives the chunk to another worker, so a chunk is recorded whole, once,
or not at all. Nothing here needs a request or the app.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from app.matching.enroll import PhotoEmbedding, embed_chunk, read_photo
from app.matching.faces import EngineSettings
from app.services.platform.errors import ServiceError

CHUNKS_IN_FLIGHT_PER_WORKER_THREAD = 3  # enough to keep workers busy, bounded memory


def embed_on_cluster(
    paths: list[str], settings: EngineSettings, scheduler: str, chunk_size: int, connect_timeout: float = 15
) -> Iterator[PhotoEmbedding]:
    """One outcome per path, in order; photos that cannot be read never leave this host."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - distributed is in requirements.txt
        raise ServiceError("The Dask 'distributed' package is not installed.") from None
    try:
        client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
    except OSError as exc:  # TimeoutError included
        raise ServiceError(f"Cannot reach the Dask scheduler at {scheduler}: {exc}.") from None
    try:
        threads = sum(client.nthreads().values()) or 1
        window = max(2, threads * CHUNKS_IN_FLIGHT_PER_WORKER_THREAD)
        chunks = (paths[start : start + chunk_size] for start in range(0, len(paths), chunk_size))
        in_flight: deque = deque()
        for chunk in chunks:
            in_flight.append(_submit(client, chunk, settings))
            if len(in_flight) >= window:
                yield from _collect(*in_flight.popleft())
        while in_flight:
            yield from _collect(*in_flight.popleft())
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
    return outcomes, future


def _collect(outcomes: list[PhotoEmbedding | None], future) -> Iterator[PhotoEmbedding]:
    try:
        embedded = iter(future.result() if future is not None else [])
    except Exception as exc:  # the chunk failed on every worker it was given to
        raise ServiceError(
            f"The cluster could not embed a chunk of photos: {str(exc).strip().rstrip('.')}. The "
            "scheduler and every worker must run this version of LeadDesk with the project on their "
            "PYTHONPATH (docs/operators.md, 'Enrolling on several hosts'); what was recorded before "
            "stays, and a re-run resumes."
        ) from exc
    for outcome in outcomes:
        yield outcome if outcome is not None else next(embedded)
