"""Matching benchmark: prints figures, asserts nothing.

    .venv/bin/python benchmarks/bench_matching.py [--sections enroll,accuracy,search,crops]
        [--sizes 100000,1000000] [--lfw ../shared/lfw-dev] [--cache .bench-cache]

- enroll:   per-image cost split into decode / detection / landmarks / descriptor on real
            photos, one process; then throughput with 1 process and with every core.
- accuracy: rank-1 and rank-20 on the LFW dev set (first photo of each of 300 people plus
            2,000 distractors enrolled; the other 745 photos probe), for the plain pipeline
            and the variants considered.
- search:   galleries of 100,000 and 1,000,000 synthetic descriptors shaped like real ones
            (a Gaussian identity model fitted to the LFW descriptors: identity clusters with
            several photos each); build time, file size, memory; query latency p50/p99 on
            one core; recall@10/@50 against exact search; the share of true mates found
            (relative to what exact search finds) for exact, two-stage and Annoy settings.
"""

from __future__ import annotations

import os

# One core for query latency, as the targets are stated; must precede numpy's import.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import collections  # noqa: E402
import csv  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import replace  # noqa: E402
from multiprocessing import get_context  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.matching.enroll import embed_photo  # noqa: E402
from app.matching.faces import PLAIN_SETTINGS, RUNTIMES, EngineSettings, FaceEngine  # noqa: E402
from app.matching.images import load_image  # noqa: E402
from app.matching.index import (  # noqa: E402
    BuildParameters,
    IndexStore,
    LoadedIndex,
)

PLAIN = PLAIN_SETTINGS  # HOG, 5 landmarks, one pass
CHOSEN = EngineSettings()  # what LeadDesk uses: 68 landmarks, mirror-averaged, cut-off faces ignored


def heading(text: str) -> None:
    print(f"\n## {text}", flush=True)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


# --- enrollment ------------------------------------------------------------------------


def bench_enroll(lfw: Path) -> None:
    heading("Enrollment cost per image (one process)")
    photos = [ROOT / "tests/fixtures/faces/barack_obama__1.jpg", sorted(lfw.glob("*/*.jpg"))[0]]
    print(
        "| photo | pixels | network run by | decode ms | detection ms | landmarks ms "
        "| descriptor ms (1 pass) | descriptor ms (+mirror) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for photo in photos:
        for runtime in RUNTIMES:
            engine = FaceEngine(replace(CHOSEN, runtime=runtime))
            engine.analyze(load_image(photos[1]).pixels)  # load the models before timing
            runs = collections.defaultdict(list)
            for _ in range(5):
                t0 = time.perf_counter()
                image = load_image(photo)
                t1 = time.perf_counter()
                box, _ = engine.detect(image.pixels, "hog")[0]
                t2 = time.perf_counter()
                shape = engine.shape(image.pixels, box)
                t3 = time.perf_counter()
                chip = engine.chip(image.pixels, shape)
                engine.describe_chip(chip, jitters=0, flip=False)
                t4 = time.perf_counter()
                engine.describe_chip(chip, jitters=0, flip=True)
                t5 = time.perf_counter()
                for key, value in zip(
                    ("decode", "detect", "landmarks", "plain", "flip"),
                    (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4),
                    strict=True,
                ):
                    runs[key].append(value * 1000)
            med = {k: float(np.median(v)) for k, v in runs.items()}
            print(
                f"| {photo.name} | {image.width}x{image.height} | {runtime} | {med['decode']:.1f} | "
                f"{med['detect']:.1f} | {med['landmarks']:.1f} | {med['plain']:.1f} | {med['flip']:.1f} |"
            )

    heading("Enrollment throughput (the import's worker pool, real LFW photos)")
    sources = sorted(lfw.glob("distractors/*.jpg"))[:240]
    cores = os.cpu_count() or 1
    print(f"| photos | network run by | 1 process | {cores} processes |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        # The LFW set holds small photos only; a 640 px mugshot costs what its size costs, so
        # the same faces are enlarged to that size.
        enlarged = []
        for source in sources:
            target = Path(folder) / source.name
            Image.open(source).convert("RGB").resize((640, 640), Image.BICUBIC).save(target, quality=92)
            enlarged.append(target)
        width, height = Image.open(sources[0]).size
        sets = ((f"LFW as supplied, {width}x{height}", sources), ("LFW enlarged to 640 px", enlarged))
        for label, files in sets:
            for runtime in RUNTIMES:
                settings = replace(CHOSEN, runtime=runtime)
                paths = [str(f) for f in files]
                rates = [enrollment_rate(paths, settings, workers) for workers in (1, cores)]
                refused = rates[0][1]
                note = f" ({refused} refused: no face or several faces)" if refused else ""
                print(
                    f"| {label}{note} | {runtime} | {rates[0][0]:.1f}/s | {rates[1][0]:.1f}/s |", flush=True
                )


def enrollment_rate(files: list[str], settings: EngineSettings, workers: int) -> tuple[float, int]:
    """Photos per second through ``embed_photo`` in a spawned pool, models loaded first, and
    how many photos were refused (they cost their detection all the same)."""
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        list(pool.map(embed_photo, files[: workers * 2], [settings] * (workers * 2)))  # warm: models loaded
        start = time.perf_counter()
        done = list(pool.map(embed_photo, files, [settings] * len(files), chunksize=8))
        elapsed = time.perf_counter() - start
    assert not [r for r in done if r.error_code == "unreadable"]
    return len(files) / elapsed, sum(not r.ok for r in done)


# --- accuracy on LFW -----------------------------------------------------------------


def lfw_rows(lfw: Path) -> list[tuple[str, str, bool]]:
    rows = []
    with (lfw / "manifest.csv").open() as handle:
        rows += [(r["file"], r["identity"], False) for r in csv.DictReader(handle)]
    with (lfw / "distractors" / "manifest.csv").open() as handle:
        rows += [("distractors/" + r["file"], r["identity"], True) for r in csv.DictReader(handle)]
    return rows


_ENGINES: dict[EngineSettings, FaceEngine] = {}


def _embed_variants(path: str, runtime: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plain, plain-mirrored (5 landmarks) and LeadDesk's chosen descriptor of the largest face."""
    plain, chosen = replace(PLAIN, runtime=runtime), replace(CHOSEN, runtime=runtime)
    plain_engine = _ENGINES.setdefault(plain, FaceEngine(plain))
    chosen_engine = _ENGINES.setdefault(chosen, FaceEngine(chosen))
    pixels = load_image(Path(path)).pixels
    face = plain_engine.analyze(pixels, describe=False, keep_chip=True)[0]
    plain = plain_engine.describe_chip(face.chip, jitters=0, flip=False)
    mirrored = plain_engine.describe_chip(np.ascontiguousarray(face.chip[:, ::-1]), jitters=0, flip=False)
    chosen = chosen_engine.analyze(pixels)
    return plain, mirrored, chosen[0].descriptor if chosen else np.full(128, np.nan, np.float32)


def lfw_descriptors(lfw: Path, cache: Path, runtime: str = "onnx") -> dict:
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"lfw-dev-descriptors-v3-{runtime}.npz"
    rows = lfw_rows(lfw)
    if target.exists():
        data = np.load(target)
        if len(data["files"]) == len(rows):
            return dict(data)
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=get_context("spawn")) as pool:
        paths = [str(lfw / f) for f, _, _ in rows]
        out = list(pool.map(_embed_variants, paths, [runtime] * len(paths), chunksize=16))
    elapsed = time.perf_counter() - start
    print(f"(embedded {len(rows)} LFW photos with the {runtime} runtime in {elapsed:.0f} s)")
    data = {
        "files": np.array([f for f, _, _ in rows]),
        "identities": np.array([i for _, i, _ in rows]),
        "distractor": np.array([d for _, _, d in rows]),
        "plain": np.stack([o[0] for o in out]),
        "mirrored": np.stack([o[1] for o in out]),
        "chosen": np.stack([o[2] for o in out]),
    }
    np.savez(target, **data)
    return data


def lfw_protocol(data: dict) -> tuple[np.ndarray, list[tuple[int, str]]]:
    people = collections.defaultdict(list)
    for i, (file, identity, distractor) in enumerate(
        zip(data["files"], data["identities"], data["distractor"], strict=True)
    ):
        if not distractor:
            people[identity].append((file, i))
    gallery, probes = [], []
    for identity, photos in people.items():
        photos.sort()
        gallery.append(photos[0][1])
        probes += [(i, identity) for _, i in photos[1:]]
    gallery += [i for i, d in enumerate(data["distractor"]) if d]
    return np.asarray(gallery), probes


def first_hits(
    gallery_vectors, gallery_identities, probe_vectors, probe_identities, adjust=None
) -> np.ndarray:
    """Each probe's rank (from 0) of its first true mate in the gallery."""
    norms = np.einsum("ij,ij->i", gallery_vectors, gallery_vectors)
    first_hit = []
    for vector, identity in zip(probe_vectors, probe_identities, strict=True):
        distances = np.sqrt(np.maximum(norms - 2 * gallery_vectors @ vector + vector @ vector, 0))
        if adjust is not None:
            distances = distances - adjust
        order = np.argsort(distances, kind="stable")
        hits = np.flatnonzero(gallery_identities[order] == identity)
        first_hit.append(hits[0] if len(hits) else 10**9)
    return np.asarray(first_hit)


def rank_figures(
    gallery_vectors, gallery_identities, probe_vectors, probe_identities, adjust=None
) -> tuple[float, float]:
    first_hit = first_hits(gallery_vectors, gallery_identities, probe_vectors, probe_identities, adjust)
    return float((first_hit == 0).mean()), float((first_hit < 20).mean())


def hub_offsets(vectors: np.ndarray, k: int) -> np.ndarray:
    """Mean distance of each gallery item to its k nearest others, centred (hubs: negative)."""
    norms = np.einsum("ij,ij->i", vectors, vectors)
    means = np.empty(len(vectors), np.float32)
    for start in range(0, len(vectors), 1024):
        block = vectors[start : start + 1024]
        d = np.sqrt(np.maximum(norms[start : start + 1024, None] - 2 * block @ vectors.T + norms[None, :], 0))
        d[np.arange(len(block)), np.arange(start, start + len(block))] = np.inf
        means[start : start + 1024] = np.sort(np.partition(d, k, axis=1)[:, :k], axis=1).mean(axis=1)
    return means - means.mean()


def bench_accuracy(lfw: Path, cache: Path) -> dict:
    heading("1:N accuracy on the LFW dev set")
    data = lfw_descriptors(lfw, cache)
    gallery, probes = lfw_protocol(data)
    probe_rows = np.array([i for i, _ in probes])
    probe_identities = np.array([p for _, p in probes])
    gallery_identities = data["identities"][gallery]
    print(f"gallery {len(gallery)} faces, {len(probes)} probes")
    print("| pipeline | rank-1 | rank-20 |")
    print("|---|---|---|")
    plain, mirrored = data["plain"], data["mirrored"]
    averaged = (plain + mirrored) / 2
    variants = [
        ("plain (HOG, 5 landmarks, 1 pass, euclidean)", plain, plain, None),
        ("mirror-averaged probe only", plain, averaged, None),
        ("mirror-averaged gallery and probe", averaged, averaged, None),
    ]
    for k, beta in ((50, 0.5),):
        variants.append(
            (f"mirror-averaged + hub normalisation (k={k}, beta={beta})", averaged, averaged, (k, beta))
        )
    chosen = data["chosen"]
    variants.append(
        (
            "LeadDesk: 68 landmarks, mirror-averaged, cut-off faces ignored (CNN fallback)",
            chosen,
            chosen,
            None,
        )
    )
    for name, gallery_source, probe_source, hub in variants:
        adjust = None
        if hub is not None:
            adjust = hub[1] * hub_offsets(gallery_source[gallery], hub[0])
        r1, r20 = rank_figures(
            gallery_source[gallery], gallery_identities, probe_source[probe_rows], probe_identities, adjust
        )
        print(f"| {name} | {r1:.3f} | {r20:.3f} |")
    compare_runtimes(lfw, cache, data, gallery, probe_rows, probe_identities)
    bench_fusion(data, chosen)
    return data


def compare_runtimes(lfw: Path, cache: Path, data: dict, gallery, probe_rows, probe_identities) -> None:
    """The same network run by dlib and by ONNX Runtime: the same descriptors, the same ranks."""
    heading("The recogniser's network run by dlib and by ONNX Runtime (every LFW dev photo)")
    own = lfw_descriptors(lfw, cache, "dlib")
    print("| network run by | rank-1 | rank-20 |")
    print("|---|---|---|")
    for runtime, source in (("dlib", own), ("onnx", data)):
        r1, r20 = rank_figures(
            source["chosen"][gallery],
            source["identities"][gallery],
            source["chosen"][probe_rows],
            probe_identities,
        )
        print(f"| {runtime} | {r1:.3f} | {r20:.3f} |")
    found = ~np.isnan(own["chosen"]).any(axis=1) & ~np.isnan(data["chosen"]).any(axis=1)
    for variant in ("plain", "mirrored", "chosen"):
        gap = np.abs(own[variant][found] - data[variant][found]).max()
        print(f"- largest |dlib - onnx| over {found.sum()} photos ({variant}): {gap:.2e}")


# Shifted crops: a wider chip whose central 150 px are the usual chip (the same 100 px between
# the landmark template's edges), cut at the centre and 3 px to each side.
CROP_SHIFTS = ((0, 0), (-3, 0), (3, 0), (0, -3), (0, 3))
WIDE_CHIP = 158


def _shifted_crops(path: str) -> np.ndarray | None:
    """The ONNX network's descriptors of the five shifted crops and their mirrors (10 x 128)."""
    import dlib

    from app.matching.faces import _exclusive

    engine = _ENGINES.setdefault(CHOSEN, FaceEngine(CHOSEN))
    pixels = load_image(Path(path)).pixels
    boxes = engine.detect(pixels)
    if not boxes:
        return None
    shape = engine.shape(pixels, boxes[0][0])
    wide = dlib.get_face_chip(pixels, shape, size=WIDE_CHIP, padding=(WIDE_CHIP / 100 - 1) / 2)
    margin = (WIDE_CHIP - 150) // 2
    crops = [wide[margin + dy : margin + dy + 150, margin + dx : margin + dx + 150] for dx, dy in CROP_SHIFTS]
    crops += [crop[:, ::-1] for crop in crops]
    with _exclusive("recognizer_onnx") as recognizer:
        return recognizer.describe([np.ascontiguousarray(crop) for crop in crops])


def bench_crops(lfw: Path) -> None:
    """Spending the faster network on more passes: shifted crops averaged, both sides."""
    heading("Shifted crops on the LFW dev set (ONNX Runtime network, 10 passes a photo)")
    rows = lfw_rows(lfw)
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=get_context("spawn")) as pool:
        out = list(pool.map(_shifted_crops, [str(lfw / f) for f, _, _ in rows], chunksize=16))
    print(f"(embedded {len(rows)} photos in {time.perf_counter() - start:.0f} s)")
    passes = np.full((len(rows), 2 * len(CROP_SHIFTS), 128), np.nan, np.float32)
    for i, found in enumerate(out):
        if found is not None:
            passes[i] = found
    data = {
        "files": np.array([f for f, _, _ in rows]),
        "identities": np.array([i for _, i, _ in rows]),
        "distractor": np.array([d for _, _, d in rows]),
    }
    gallery, probes = lfw_protocol(data)
    probe_rows = np.array([i for i, _ in probes])
    probe_identities = np.array([p for _, p in probes])
    count = len(CROP_SHIFTS)
    centre, shifted = [0, count], list(range(2 * count))

    def vectors(columns):
        return np.nan_to_num(passes[:, columns].mean(axis=1), nan=10.0)

    print("| gallery | probes | rank-1 | rank-20 |")
    print("|---|---|---|---|")
    for gallery_columns, probe_columns, label in (
        (centre, centre, ("centre + mirror (kept)", "centre + mirror")),
        (shifted, shifted, ("5 shifted crops + mirrors", "5 shifted crops + mirrors")),
        (centre, shifted, ("centre + mirror", "5 shifted crops + mirrors")),
    ):
        g, p = vectors(gallery_columns), vectors(probe_columns)
        r1, r20 = rank_figures(g[gallery], data["identities"][gallery], p[probe_rows], probe_identities)
        print(f"| {label[0]} | {label[1]} | {r1:.3f} | {r20:.3f} |")
    gallery_identities = data["identities"][gallery]
    kept, more = (
        first_hits(
            vectors(columns)[gallery], gallery_identities, vectors(columns)[probe_rows], probe_identities
        )
        for columns in (centre, shifted)
    )
    rank1 = ((kept > 0) & (more == 0)).sum(), ((kept == 0) & (more > 0)).sum()
    top20 = ((kept >= 20) & (more < 20)).sum(), ((kept < 20) & (more >= 20)).sum()
    print(
        "- shifted crops on both sides against the kept pipeline: rank 1 gained by "
        f"{rank1[0]} probes, lost by {rank1[1]}; top 20 gained by {top20[0]}, lost by {top20[1]}"
    )


def bench_fusion(data: dict, vectors: np.ndarray) -> None:
    """Several photos of one person searched together: which fusion rule ranks the mate best."""
    heading("Multi-probe fusion on the LFW dev set (two probe photos of the same person)")
    gallery, probes = lfw_protocol(data)
    gallery_vectors = vectors[gallery]
    gallery_identities = data["identities"][gallery]
    by_person = collections.defaultdict(list)
    for row, identity in probes:
        by_person[identity].append(row)
    pairs = [(identity, rows[:2]) for identity, rows in by_person.items() if len(rows) >= 2]
    norms = np.einsum("ij,ij->i", gallery_vectors, gallery_vectors)

    def distances(v):
        return np.sqrt(np.maximum(norms - 2 * gallery_vectors @ v + v @ v, 0))

    rules = {
        "single probe (the first photo only)": lambda a, b: distances(vectors[a]),
        "min-distance (each candidate at its best distance)": lambda a, b: np.minimum(
            distances(vectors[a]), distances(vectors[b])
        ),
        "mean distance": lambda a, b: (distances(vectors[a]) + distances(vectors[b])) / 2,
        "mean descriptor": lambda a, b: distances((vectors[a] + vectors[b]) / 2),
    }
    print(f"{len(pairs)} people with two probe photos; gallery {len(gallery)}")
    print("| fusion rule | rank-1 | rank-20 |")
    print("|---|---|---|")
    for name, rule in rules.items():
        firsts = []
        for identity, (a, b) in pairs:
            order = np.argsort(rule(a, b), kind="stable")
            hits = np.flatnonzero(gallery_identities[order] == identity)
            firsts.append(hits[0] if len(hits) else 10**9)
        firsts = np.asarray(firsts)
        print(f"| {name} | {(firsts == 0).mean():.3f} | {(firsts < 20).mean():.3f} |")


# --- search at scale -----------------------------------------------------------------


def identity_model(data: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and Cholesky factors of the between- and within-identity covariances."""
    vectors = data["chosen"]
    groups = collections.defaultdict(list)
    for i, (identity, distractor) in enumerate(zip(data["identities"], data["distractor"], strict=True)):
        if not distractor:
            groups[identity].append(i)
    deviations = np.concatenate([vectors[g] - vectors[g].mean(0) for g in groups.values()])
    within = deviations.T @ deviations / sum(len(g) - 1 for g in groups.values())
    between = np.cov(vectors.T) - within
    values, axes = np.linalg.eigh(between)
    between = (axes * np.clip(values, 0, None)) @ axes.T
    jitter = 1e-9 * np.eye(128)
    return vectors.mean(0), np.linalg.cholesky(between + jitter), np.linalg.cholesky(within + jitter)


def synthetic_photos(rng, centres, within_factor, count):
    # A heavier upper tail than a Gaussian (mean variance kept): some photos are much worse
    # than the typical one, as in real galleries; none is better than about 0.8 of it.
    scale = np.sqrt(0.8 + rng.exponential(0.2, size=(count, 1)))
    return centres + scale * (rng.standard_normal((count, 128)) @ within_factor.T)


def synthetic_identities(model, size: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Identity centres and each photo's identity: 2-6 photos each, about 4 on average."""
    mean, between, _ = model
    identities = size // 4
    centres = mean + rng.standard_normal((identities, 128)) @ between.T
    per_identity = rng.integers(2, 7, size=identities)
    labels = np.repeat(np.arange(identities), per_identity)[:size]
    if len(labels) < size:
        labels = np.concatenate([labels, rng.integers(0, identities, size - len(labels))])
    return centres, labels


def synthetic_gallery(model, size: int, rng):
    centres, labels = synthetic_identities(model, size, rng)
    vectors = synthetic_photos(rng, centres[labels], model[2], size).astype(np.float32)
    return vectors, labels, centres


def bench_search(data: dict, sizes: list[int], queries: int) -> None:
    model = identity_model(data)
    rng = np.random.default_rng(7)
    heading("Synthetic descriptors against real ones")
    vectors, labels, _ = synthetic_gallery(model, 20_000, rng)
    same = [np.linalg.norm(vectors[a] - vectors[b]) for a, b in zip(*_same_pairs(labels, rng), strict=True)]
    a, b = rng.integers(0, len(vectors), (2, 20_000))
    different = np.linalg.norm(vectors[a] - vectors[b], axis=1)[labels[a] != labels[b]]
    print(
        f"- synthetic: same-person distance median {np.median(same):.3f}, "
        f"under 0.6: {np.mean(np.array(same) < 0.6):.3f}; "
        f"different-person under 0.6: 1 in {1 / max(np.mean(different < 0.6), 1e-9):.0f}"
    )
    real = data["chosen"]
    d = real[data["distractor"]]
    rd = np.linalg.norm(d[:1000] - d[1000:2000], axis=1)
    print(f"- LFW (real): different-person under 0.6: 1 in {1 / max(np.mean(rd < 0.6), 1e-9):.0f}")
    for size in sizes:
        bench_search_size(model, size, queries, rng)


def _same_pairs(labels, rng):
    first = {}
    pairs_a, pairs_b = [], []
    for i, label in enumerate(labels):
        if label in first and len(pairs_a) < 5000:
            pairs_a.append(first[label])
            pairs_b.append(i)
        first.setdefault(label, i)
    return pairs_a, pairs_b


def timed_build(store: IndexStore, n_trees: int, chunks, count: int):
    """Build version 1 from ``chunks``: its manifest, the seconds taken, each file's size."""
    start = time.perf_counter()
    manifest = store.build_from_chunks(
        version=1,
        chunks=chunks,
        count=count,
        model_id="bench",
        parameters=BuildParameters(n_trees=n_trees),
        built_at="bench",
    )
    elapsed = time.perf_counter() - start
    files = {p.name: p.stat().st_size for p in (store.root / manifest.directory).iterdir()}
    return manifest, elapsed, files


def bench_search_size(model, size: int, queries: int, rng) -> None:
    heading(f"Gallery of {size:,} synthetic descriptors")
    vectors, labels, centres = synthetic_gallery(model, size, rng)
    ids = np.arange(1, size + 1, dtype=np.int64)
    probe_labels = rng.choice(np.unique(labels), size=queries, replace=False)
    probes = synthetic_photos(rng, centres[probe_labels], model[2], queries).astype(np.float32)
    workdir = Path(tempfile.mkdtemp(prefix="leaddesk-bench-"))
    try:
        trees = [50] if size >= 1_000_000 else [20, 50]
        indexes = {}
        for n_trees in trees:
            store = IndexStore(workdir / f"trees{n_trees}")
            manifest, elapsed, files = timed_build(store, n_trees, chunks=[(ids, vectors)], count=len(ids))
            print(
                f"- build with n_trees={n_trees}: {elapsed:.1f} s on {os.cpu_count()} cores; files: "
                + ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in sorted(files.items()))
                + " (all memory-mapped: resident memory follows what queries touch)"
            )
            indexes[n_trees] = LoadedIndex(store.root, manifest, verify=False)
        loaded = indexes[trees[-1]]
        loaded.vectors = np.ascontiguousarray(loaded.vectors)  # warm, resident: as after the first queries
        loaded.reduced = np.ascontiguousarray(loaded.reduced)
        truth = [loaded.search_exact(q, 50) for q in probes]
        truth_mates = [
            np.isin(ids_, ids[labels == label]).sum()
            for (ids_, _), label in zip(truth, probe_labels, strict=True)
        ]
        print(f"- true mates in exact top-50: {np.mean(truth_mates):.2f} per probe on average")
        print("| method | p50 ms | p99 ms | recall@10 | recall@50 | mates found vs exact (top-50) |")
        print("|---|---|---|---|---|---|")
        methods = [("exact numpy scan (float32)", lambda q: loaded.search_exact(q, 50))]
        for shortlist in (500, 1000, 2000):
            methods.append(
                (
                    f"two-stage: PCA-32 shortlist {shortlist}, exact re-rank",
                    lambda q, s=shortlist: loaded.search_two_stage(q, 50, s),
                )
            )
        for n_trees, index in indexes.items():
            for search_k in (20_000, 100_000, 500_000) if size >= 1_000_000 else (5_000, 20_000, 100_000):
                methods.append(
                    (
                        f"annoy n_trees={n_trees} search_k={search_k:,}",
                        lambda q, i=index, s=search_k: i.search_annoy(q, 50, s),
                    )
                )
        for name, method in methods:
            latencies, r10, r50, mates = [], [], [], []
            for q, (true_ids, _), label, true_count in zip(
                probes, truth, probe_labels, truth_mates, strict=True
            ):
                start = time.perf_counter()
                found, _ = method(q)
                latencies.append((time.perf_counter() - start) * 1000)
                r10.append(len(set(found[:10]) & set(true_ids[:10])) / 10)
                r50.append(len(set(found[:50]) & set(true_ids[:50])) / 50)
                mates.append((np.isin(found[:50], ids[labels == label]).sum(), true_count))
            found_mates = sum(m for m, _ in mates) / max(sum(t for _, t in mates), 1)
            print(
                f"| {name} | {percentile(latencies, 50):.1f} | {percentile(latencies, 99):.1f} | "
                f"{np.mean(r10):.4f} | {np.mean(r50):.4f} | {found_mates:.4f} |",
                flush=True,
            )
        for index in indexes.values():
            index.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sections", default="enroll,accuracy,search")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--lfw", type=Path, default=ROOT.parent / "shared" / "lfw-dev")
    parser.add_argument("--cache", type=Path, default=ROOT / ".bench-cache")
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    print(
        f"# LeadDesk matching benchmark — {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"
    )
    if not args.lfw.exists():
        sys.exit(f"LFW dev set not found at {args.lfw} (see --lfw)")
    if "enroll" in sections:
        bench_enroll(args.lfw)
    data = None
    if "accuracy" in sections:
        data = bench_accuracy(args.lfw, args.cache)
    if "crops" in sections:  # not by default: about three minutes more
        bench_crops(args.lfw)
    if "search" in sections:
        data = data or lfw_descriptors(args.lfw, args.cache)
        bench_search(data, [int(s) for s in args.sizes.split(",")], args.queries)


if __name__ == "__main__":
    main()
