"""How well the approximate index finds true mates, measured at every build on the gallery
itself, and the fastest search setting that keeps the rule.

An approximate index's recall depends on the data, so it is measured, not assumed: queries
are gallery photos of people with other bookings (their other bookings are the true mates)
and, where there are too few, gallery descriptors perturbed by a same-person amount of noise
(the photo itself is the mate). For every setting the share of the true mates that the exact
search finds in its top 50 which the setting also finds is measured, with its latency; the
fastest setting keeping at least 99.5% is chosen, and the exact scan when none does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

RECALL_DEPTH = 50  # the top-K a reviewer can ask for
# How the indexed part of the gallery can be searched (SEARCH_STRATEGY also takes "auto").
STRATEGIES = ("exact", "two-stage", "annoy")
TARGET_SHARE = 0.995  # of the exact search's true mates (docs/measured.md)
# A same-person dlib distance is typically 0.3-0.5: noise of norm 0.4, spread over 128 dimensions.
SAME_PERSON_NOISE = 0.4


@dataclass(frozen=True)
class Setting:
    strategy: str  # "exact", "two-stage" (effort: shortlist) or "annoy" (effort: search_k)
    effort: int = 0

    @property
    def label(self) -> str:
        return self.strategy if self.strategy == "exact" else f"{self.strategy} {self.effort:,}"


@dataclass(frozen=True)
class Measured:
    setting: Setting
    share: float  # of the exact search's true mates, also found in the top 50
    p50_ms: float


@dataclass(frozen=True)
class Tuning:
    chosen: Setting
    share: float
    p50_ms: float
    queries: int
    from_bookings: int  # queries with real mates (other bookings of the person)
    measured: tuple[Measured, ...]

    def as_dict(self) -> dict:
        return {
            "strategy": self.chosen.strategy,
            "effort": self.chosen.effort,
            "share_of_exact_mates": round(self.share, 4),
            "p50_ms": round(self.p50_ms, 2),
            "queries": self.queries,
            "from_bookings": self.from_bookings,
            "target": TARGET_SHARE,
            "measured": [
                {**asdict(m.setting), "share": round(m.share, 4), "p50_ms": round(m.p50_ms, 2)}
                for m in self.measured
            ],
        }


Query = tuple[np.ndarray, frozenset[int]]  # the descriptor searched, and its true mates' template ids


def recall_queries(
    ids: np.ndarray,
    vectors: np.ndarray,
    mates: dict[int, Sequence[int]],
    count: int,
    seed: int = 20_260_101,
) -> tuple[list[Query], int]:
    """Up to ``count`` queries: real ones first (a template whose person has other bookings in
    the index), then perturbed gallery descriptors. Returns them and how many were real."""
    rng = np.random.default_rng(seed)
    row_of = {int(t): row for row, t in enumerate(np.asarray(ids).tolist())}
    queries: list[Query] = []
    real = [t for t in sorted(mates) if t in row_of and any(m in row_of for m in mates[t])]
    for template in rng.permutation(real)[:count].tolist() if real else []:
        others = frozenset(m for m in mates[template] if m in row_of and m != template)
        queries.append((np.asarray(vectors[row_of[template]], dtype=np.float32), others))
    from_bookings = len(queries)
    if len(ids):
        for row in rng.choice(len(ids), size=min(count - len(queries), len(ids)), replace=False).tolist():
            noise = rng.normal(size=vectors.shape[1]).astype(np.float32)
            noise *= SAME_PERSON_NOISE / float(np.linalg.norm(noise))
            queries.append((np.asarray(vectors[row], dtype=np.float32) + noise, frozenset({int(ids[row])})))
    return queries, from_bookings


Searcher = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]


def measure(searchers: dict[Setting, Searcher], queries: list[Query]) -> list[Measured]:
    """Each setting's share of the exact search's true mates, and its median latency."""
    exact = searchers[Setting("exact")]
    found_by_exact = [mates & set(exact(q, RECALL_DEPTH)[0].tolist()) for q, mates in queries]
    reference = sum(len(found) for found in found_by_exact)
    results = []
    for setting, search in searchers.items():
        kept, times = 0, []
        for (query, _), found in zip(queries, found_by_exact, strict=True):
            started = time.perf_counter()
            top = set(search(query, RECALL_DEPTH)[0].tolist())
            times.append((time.perf_counter() - started) * 1000)
            kept += len(found & top)
        share = kept / reference if reference else 1.0
        results.append(Measured(setting, share, float(np.median(times)) if times else 0.0))
    return results


def choose(measured: list[Measured], from_bookings: int, queries: int) -> Tuning:
    """The fastest setting keeping the target share; the exact scan when none does."""
    keeping = [m for m in measured if m.share >= TARGET_SHARE or m.setting.strategy == "exact"]
    best = min(keeping, key=lambda m: (m.p50_ms, m.setting.strategy != "exact"))
    return Tuning(best.setting, best.share, best.p50_ms, queries, from_bookings, tuple(measured))
