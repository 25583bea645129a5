"""Search and probe speed at county scale, through the app's own code: prints figures, asserts
nothing.

    .venv/bin/python benchmarks/bench_scale.py [--sections probe,app-search,index-alone,precision,rebuild]
        [--sizes 100000,1000000] [--sealed 100000] [--queries 100]
        [--database-url postgresql://...] [--lfw ../shared/lfw-dev] [--cache .bench-cache]

- probe:      one probe's path broken down (decode, HOG, landmarks, chip, descriptor passes)
              on real photos scaled to 250 px, 640 px and 1 MP, one core, models loaded; the
              detection as it was (always upsampled) beside the detection kept.
- app-search: a scratch instance (SQLite by default, or the PostgreSQL database given) filled
              with N synthetic templates shaped like real descriptors; the streamed rebuild
              (time, peak memory, the recall it measured and the setting it chose); then
              ``search_descriptor`` end to end, p50/p95, with the per-search database work
              as it was (a join over every unsealed booking, every sealed id) beside what it
              is now; then again with ``--sealed`` records sealed before the build and a few
              after it.
- index-alone: (not run by default) the index part of a rebuild and every search method at
              ``--index-sizes`` (10,000,000: about 40 minutes, 12 GB of disk), descriptors
              generated a chunk at a time into the streamed build, resident memory read, and
              a fresh process that only searches.
- precision:  one scan of ``--index-sizes`` PCA-32 vectors in float32, float16 and int8.
- rebuild:    the nightly rebuild alone through a scratch database filled a chunk at a time
              (``--rebuild-sizes``; 10,000,000: about 25 minutes and 23 GB of disk).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core for query latency, as the targets are stated

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_matching import (  # noqa: E402
    identity_model,
    lfw_rows,
    synthetic_gallery,
    synthetic_identities,
    synthetic_photos,
    timed_build,
)

from app.matching import faces as faces_module  # noqa: E402
from app.matching.faces import RUNTIMES, EngineSettings, FaceEngine, preload_models  # noqa: E402
from app.matching.images import load_image  # noqa: E402

PROBE_PHOTOS = [  # the fixtures' large real photos (0.7-2.1 MP), scaled down to each size
    "joe_biden__2.jpg",
    "john_lennon__1.jpg",
    "steve_wozniak__1.jpg",
    "rose_leslie__1.jpg",
    "barack_obama__4.jpg",
    "guido_van_rossum__2.jpg",
    "alex_lacamoire__1.jpg",
    "kit_harington__3.jpg",
]


def _describe(path: str) -> np.ndarray:
    from app.matching.enroll import embed_photo

    found = embed_photo(path, EngineSettings())
    return np.frombuffer(found.descriptor, "<f4").copy() if found.ok else np.full(128, np.nan, np.float32)


def fitted_model(lfw: Path, cache: Path, photos: int):
    """The synthetic galleries' identity model, fitted to real descriptors of LFW people with
    several photos (the first ``photos`` of them; cached)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"lfw-dev-identities-{photos}.npz"
    rows = [r for r in lfw_rows(lfw) if not r[2]][:photos]
    if not target.exists():
        with ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=get_context("spawn")) as pool:
            vectors = list(pool.map(_describe, [str(lfw / f) for f, _, _ in rows], chunksize=8))
        np.savez(target, chosen=np.stack(vectors), identities=np.array([i for _, i, _ in rows]))
    data = dict(np.load(target))
    keep = ~np.isnan(data["chosen"]).any(axis=1)
    data = {"chosen": data["chosen"][keep], "identities": data["identities"][keep]}
    data["distractor"] = np.zeros(len(data["chosen"]), bool)
    model = identity_model(data)
    compare_with_real(model, data)
    return model


def distance_figures(vectors: np.ndarray, labels: np.ndarray, rng) -> tuple[float, float, float]:
    """Same-person median distance, share of same-person pairs under 0.6, share of
    different-person pairs under 0.6."""
    same = [
        float(np.linalg.norm(vectors[i] - vectors[j]))
        for label in np.unique(labels)
        for i, j in [tuple(np.flatnonzero(labels == label)[:2])]
        if i != j
    ]
    a, b = rng.integers(0, len(vectors), (2, 20_000))
    different = np.linalg.norm(vectors[a] - vectors[b], axis=1)[labels[a] != labels[b]]
    return float(np.median(same)), float(np.mean(np.array(same) < 0.6)), float(np.mean(different < 0.6))


def compare_with_real(model, data: dict) -> None:
    """The generator against the real descriptors it was fitted to, on the same figures."""
    rng = np.random.default_rng(3)
    _, real_labels = np.unique(data["identities"], return_inverse=True)
    several = np.isin(real_labels, np.flatnonzero(np.bincount(real_labels) > 1))
    synthetic, labels, _ = synthetic_gallery(model, 20_000, rng)
    print("| descriptors | same-person median | same-person under 0.6 | different-person under 0.6 |")
    print("|---|---|---|---|")
    for name, (median, same_close, other_close) in (
        (
            f"real (LFW, {several.sum()} photos of people with several)",
            distance_figures(data["chosen"][several], real_labels[several], rng),
        ),
        ("synthetic (20,000)", distance_figures(synthetic, labels, rng)),
    ):
        print(f"| {name} | {median:.3f} | {same_close:.3f} | 1 in {1 / max(other_close, 1e-9):.0f} |")


def heading(text: str) -> None:
    print(f"\n## {text}", flush=True)


def ms(values: list[float], q: float = 50) -> float:
    return float(np.percentile(values, q)) * 1000


def scaled(path: Path, size: str) -> bytes:
    image = Image.open(path).convert("RGB")
    if size == "1 MP":
        factor = (1_000_000 / (image.width * image.height)) ** 0.5
        image = image.resize((round(image.width * factor), round(image.height * factor)), Image.BICUBIC)
    else:
        image.thumbnail((int(size.split()[0]), int(size.split()[0])), Image.BICUBIC)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def probe_path(engine: FaceEngine, data: bytes) -> dict[str, float] | None:
    times: dict[str, float] = {}
    start = time.perf_counter()
    rgb = load_image(data).pixels
    times["decode"] = time.perf_counter() - start
    start = time.perf_counter()
    boxes = engine.detect(rgb)
    times["detect"] = time.perf_counter() - start
    if not boxes:
        return None
    start = time.perf_counter()
    shape = engine.shape(rgb, boxes[0][0])
    times["landmarks"] = time.perf_counter() - start
    start = time.perf_counter()
    chip = engine.chip(rgb, shape)
    times["chip"] = time.perf_counter() - start
    start = time.perf_counter()
    engine.describe_chip(chip)
    times["descriptor (photo + mirror)"] = time.perf_counter() - start
    return times


def bench_probe(repeats: int = 3) -> None:
    heading("Probe path, one core, models loaded (median over photos and repeats)")
    preload_models(("hog", "shape68", "recognizer", "recognizer_onnx", "cnn"))
    engines = {runtime: FaceEngine(EngineSettings(runtime=runtime)) for runtime in RUNTIMES}  # no cache
    faces_dir = ROOT / "tests" / "fixtures" / "faces"
    kept_side = faces_module.LARGE_PHOTO_SIDE
    steps = (
        ("always upsampled, dlib network (before)", 10**9, "dlib"),
        ("large photos not upsampled first, dlib network", kept_side, "dlib"),
        ("large photos not upsampled first, ONNX Runtime network (now)", kept_side, "onnx"),
    )
    print("| photo | pipeline | decode | detect | landmarks | chip | descriptor (2 passes) | total |")
    print("|---|---|---|---|---|---|---|---|")
    for size in ("250 px", "640 px", "1 MP"):
        photos = [scaled(faces_dir / name, size) for name in PROBE_PHOTOS]
        for label, side, runtime in steps:
            faces_module.LARGE_PHOTO_SIDE = side
            runs = [probe_path(engines[runtime], data) for data in photos for _ in range(repeats)]
            runs = [r for r in runs if r]
            stages = list(runs[0])
            cells = [ms([r[s] for r in runs]) for s in stages]
            total = ms([sum(r.values()) for r in runs])
            print(f"| {size} | {label} | " + " | ".join(f"{c:.0f}" for c in cells) + f" | **{total:.0f}** |")
    faces_module.LARGE_PHOTO_SIDE = kept_side


STARTUP = """
import json, os, sys, tempfile, time
start = time.perf_counter()
sys.path.insert(0, sys.argv[1])
os.environ["LEADDESK_INSTANCE_PATH"] = tempfile.mkdtemp(prefix="leaddesk-bench-start-")
from app import create_app
create_app("development")
stages = {"import the app and create it": time.perf_counter() - start}
from app.matching import faces
for key in ("hog", "shape68", "recognizer", "recognizer_onnx", "cnn"):
    start = time.perf_counter()
    faces.preload_models((key,))
    stages[key] = time.perf_counter() - start
print(json.dumps(stages))
"""
STARTUP_LABELS = {
    "hog": "HOG detector",
    "shape68": "68-landmark predictor",
    "recognizer": "ResNet, dlib (before)",
    "recognizer_onnx": "ResNet read and converted for ONNX Runtime (now)",
    "cnn": "CNN detector (only when HOG finds no face)",
}


def bench_startup(runs: int = 3) -> None:
    """What a fresh process (the CLI's `flask search`, a web worker) spends before its first probe."""
    heading("Start-up before the first probe (fresh process, median of 3)")
    samples = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", STARTUP, str(ROOT)], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(runs)
    ]
    median = {key: float(np.median([s[key] for s in samples])) * 1000 for key in samples[0]}
    print("| stage | ms |")
    print("|---|---|")
    for key, value in median.items():
        print(f"| {STARTUP_LABELS.get(key, key)} | {value:.0f} |")
    common = median["import the app and create it"] + median["hog"] + median["shape68"]
    print(
        f"- before the first probe: {common + median['recognizer']:.0f} ms with dlib's network, "
        f"{common + median['recognizer_onnx']:.0f} ms with ONNX Runtime's"
    )


def resident_mb() -> dict[str, float]:
    """This process's resident memory (MB): its own (anonymous) and pages of mapped files,
    which the kernel can drop and read again, and the peak of the two together."""
    lines = Path("/proc/self/status").read_text().splitlines()
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    return {key: int(fields[key].split()[0]) / 1024 for key in ("RssAnon", "RssFile", "VmHWM")}


SERVING = """
import json, sys
from pathlib import Path
import numpy as np
sys.path.insert(0, sys.argv[1])
from app.matching.index import IndexStore, LoadedIndex
root, search_k = Path(sys.argv[2]), int(sys.argv[3])
store = IndexStore(root)
loaded = LoadedIndex(store.root, store.current_manifest(), verify=False)
for probe in np.load(root / "probes.npy"):
    loaded.search_annoy(probe, 50, search_k)
lines = Path("/proc/self/status").read_text().splitlines()
fields = dict(line.split(":", 1) for line in lines if ":" in line)
print(json.dumps({key: int(fields[key].split()[0]) / 1024 for key in ("RssAnon", "RssFile")}))
"""


def serving_memory(root: Path, probes: np.ndarray, search_k: int) -> dict[str, float]:
    """A fresh process that only opens the index and searches it, as a web worker does."""
    np.save(root / "probes.npy", probes)
    done = subprocess.run(
        [sys.executable, "-c", SERVING, str(ROOT), str(root), str(search_k)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def bench_index_alone(model, size: int, queries: int, forests: tuple[int, ...] = (25, 50)) -> None:
    """The index part of a rebuild and the search methods at a size too large to put through
    a scratch database here (10,000,000): descriptors generated a chunk at a time straight
    into the streamed build (the same ones for each forest), files memory-mapped, resident
    memory read from /proc."""
    from app.matching.index import IndexStore, LoadedIndex

    heading(f"Index alone at {size:,} synthetic templates (no database; one core for queries)")
    rng = np.random.default_rng(size + 1)
    centres, labels = synthetic_identities(model, size, rng)
    centres = centres.astype(np.float32)
    within = model[2]

    def chunks():
        for start in range(0, size, 500_000):
            part = labels[start : start + 500_000]
            chunk_rng = np.random.default_rng((size, start))
            block = synthetic_photos(chunk_rng, centres[part], within, len(part)).astype(np.float32)
            yield np.arange(start + 1, start + len(part) + 1, dtype=np.int64), block

    # A new photo of a person in the gallery, drawn like the gallery's own photos.
    probe_labels = rng.choice(np.unique(labels), size=queries, replace=False)
    probes = synthetic_photos(rng, centres[probe_labels], within, queries).astype(np.float32)
    mate_ids = [np.flatnonzero(labels == label) + 1 for label in probe_labels]
    truth: list[int] = []
    print("| forest | method | p50 ms | p95 ms | mates found vs exact (top 50) | own MB | mapped files MB |")
    print("|---|---|---|---|---|---|---|")
    settings = {25: (200_000, 400_000), 50: (100_000, 150_000, 200_000, 500_000)}
    for n_trees, search_ks in ((n, settings[n]) for n in forests):
        workdir = Path(tempfile.mkdtemp(prefix="leaddesk-bench-index-"))
        try:
            store = IndexStore(workdir)
            manifest, elapsed, files = timed_build(store, n_trees, chunks=chunks(), count=size)
            memory = resident_mb()
            print(
                f"| {n_trees} trees | streamed build (vectors, PCA-32, Annoy on disk), "
                f"{os.cpu_count()} cores: **{elapsed / 60:.1f} min**; "
                + ", ".join(f"{k} {v / 1e9:.2f} GB" for k, v in sorted(files.items()) if v > 1e8)
                + f" | | | | {memory['RssAnon']:,.0f} | {memory['RssFile']:,.0f} (peak of both "
                f"{memory['VmHWM']:,.0f}) |",
                flush=True,
            )
            loaded = LoadedIndex(store.root, manifest, verify=False)
            methods = []
            if not truth:
                methods += [("exact float32 scan (memory-mapped)", lambda q, i=loaded: i.search_exact(q, 50))]
                methods += [
                    (
                        f"two-stage: PCA-32 shortlist {n:,}, exact re-rank",
                        lambda q, n=n, i=loaded: i.search_two_stage(q, 50, n),
                    )
                    for n in (1_000, 5_000)
                ]
            methods += [
                (f"Annoy search_k {k:,}, exact re-rank", lambda q, k=k, i=loaded: i.search_annoy(q, 50, k))
                for k in search_ks
            ]
            for name, method in methods:
                method(probes[0])  # touch the files once
                latencies, found = [], []
                for probe in probes:
                    began = time.perf_counter()
                    ids, _ = method(probe)
                    latencies.append(time.perf_counter() - began)
                    found.append(ids)
                hits = [int(np.isin(ids, mates).sum()) for ids, mates in zip(found, mate_ids, strict=True)]
                truth = truth or hits  # the exact scan's mates: the reference for the rest
                memory = resident_mb()
                print(
                    f"| {n_trees} trees | {name} | {ms(latencies):.1f} | {ms(latencies, 95):.1f} | "
                    f"{sum(hits) / max(sum(truth), 1):.4f} | {memory['RssAnon']:,.0f} | "
                    f"{memory['RssFile']:,.0f} |",
                    flush=True,
                )
            loaded.close()
            alone = serving_memory(workdir, probes, search_ks[-1])
            print(
                f"| {n_trees} trees | a fresh process that only searches (Annoy search_k {search_ks[-1]:,}, "
                f"{queries} probes) | | | | {alone['RssAnon']:,.0f} | {alone['RssFile']:,.0f} |",
                flush=True,
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def scratch_app(database_url: str | None):
    from flask_migrate import upgrade

    from app import create_app

    folder = Path(tempfile.mkdtemp(prefix="leaddesk-bench-"))
    os.environ["LEADDESK_INSTANCE_PATH"] = str(folder)
    if database_url:
        os.environ["LEADDESK_DATABASE_URL"] = database_url
    app = create_app("development")
    context = app.app_context()
    context.push()
    upgrade(directory=str(ROOT / "migrations"))
    return app, folder


def fill_gallery(vectors: np.ndarray, labels: np.ndarray, model_id: str) -> None:
    """Subjects, bookings and templates inserted in bulk (a real import embeds photos first)."""
    insert_subjects(int(labels.max()) + 1)
    insert_bookings(0, vectors, labels, model_id)


def insert_subjects(count: int) -> None:
    from sqlalchemy import insert

    from app.extensions import db
    from app.models import Subject

    for start in range(0, count, 50_000):
        db.session.execute(
            insert(Subject),
            [{"id": i + 1, "name": f"Person {i}"} for i in range(start, min(count, start + 50_000))],
        )
    db.session.commit()


def insert_bookings(offset: int, vectors: np.ndarray, labels: np.ndarray, model_id: str) -> None:
    """Bookings and their templates, numbered from ``offset`` (rows ``offset + 1`` on)."""
    from sqlalchemy import insert

    from app.extensions import db
    from app.models import Booking, FaceTemplate

    for start in range(0, len(vectors), 50_000):
        rows = range(start, min(len(vectors), start + 50_000))
        db.session.execute(
            insert(Booking),
            [
                {
                    "id": offset + i + 1,
                    "booking_number": f"BK{offset + i:08d}",
                    "subject_id": int(labels[i]) + 1,
                    "photo_path": "gallery/bench.jpg",
                    "photo_sha256": f"{offset + i:064x}",
                    "photo_format": "JPEG",
                }
                for i in rows
            ],
        )
        db.session.execute(
            insert(FaceTemplate),
            [
                {
                    "id": offset + i + 1,
                    "booking_id": offset + i + 1,
                    "descriptor": vectors[i].astype("<f4").tobytes(),
                    "model_id": model_id,
                    "detector": "hog",
                    "quality": {},
                    "face_box": [0, 0, 1, 1],
                }
                for i in rows
            ],
        )
        db.session.commit()


def bench_precision(size: int, repeats: int = 5) -> None:
    """What a reduced-precision first stage would cost: one scan of ``size`` PCA-32 vectors
    in float32 (BLAS), float16 and int8 (numpy's own loops), one core."""
    heading(f"One scan of {size:,} PCA-32 vectors by precision (one core, median of {repeats})")
    rng = np.random.default_rng(5)
    base = rng.standard_normal((size, 32), dtype=np.float32)
    query = rng.standard_normal(32, dtype=np.float32)
    kinds = {
        "float32 (today's first stage)": (base, query),
        "float16": (base.astype(np.float16), query.astype(np.float16)),
        "int8 (scaled), int32 sums": (
            np.clip(base * 32, -127, 127).astype(np.int8),
            (query * 32).astype(np.int32),
        ),
    }
    print("| precision | bytes read | scan ms |")
    print("|---|---|---|")
    for name, (matrix, vector) in kinds.items():
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            matrix @ vector
            times.append(time.perf_counter() - began)
        print(f"| {name} | {matrix.nbytes / 1e9:.2f} GB | {ms(times):.0f} |", flush=True)


def bench_rebuild_only(model, size: int, database_url: str | None) -> None:
    """The nightly rebuild through the database at a size whose descriptors do not fit in
    memory as float64 (10,000,000): the gallery is filled a chunk at a time."""
    from app.services.gallery.index_builds import rebuild_index
    from app.services.gallery.search import gallery_model_id

    heading(f"Nightly rebuild at {size:,} templates ({'PostgreSQL' if database_url else 'SQLite'})")
    rng = np.random.default_rng(size + 2)
    centres, labels = synthetic_identities(model, size, rng)
    centres = centres.astype(np.float32)
    _app, folder = scratch_app(database_url)
    try:
        started = time.perf_counter()
        insert_subjects(int(labels.max()) + 1)
        for start in range(0, size, 500_000):
            part = labels[start : start + 500_000]
            block = synthetic_photos(np.random.default_rng((size, start)), centres[part], model[2], len(part))
            insert_bookings(start, block.astype(np.float32), part, gallery_model_id())
        print(f"- gallery filled in {(time.perf_counter() - started) / 60:.1f} min (not part of the rebuild)")
        del centres
        began = time.perf_counter()
        build = rebuild_index(triggered_by="bench")
        elapsed = time.perf_counter() - began
        tuning = build.tuning or {}
        print(
            f"- **rebuild: {elapsed / 60:.1f} min** for {build.template_count:,} templates "
            f"(streamed from the database, index built, recall measured, switched); peak RSS "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB; "
            f"parameters {build.parameters}"
        )
        print(f"- measured at the build: {json.dumps(tuning)}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def old_per_search_queries(max_template_id: int) -> None:
    """The per-search database work as it was: a join over every unsealed booking for the
    templates newer than the index, and every sealed template's id."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Booking, FaceTemplate
    from app.services.gallery.search import gallery_model_id

    db.session.execute(
        select(FaceTemplate.id, FaceTemplate.descriptor)
        .join(Booking)
        .where(
            Booking.sealed.is_(False),
            FaceTemplate.model_id == gallery_model_id(),
            FaceTemplate.id > max_template_id,
        )
        .order_by(FaceTemplate.id)
    ).all()
    set(db.session.scalars(select(FaceTemplate.id).join(Booking).where(Booking.sealed.is_(True))))


def new_per_search_queries(manifest) -> None:
    from app.services.gallery.search import templates_enrolled_after, templates_sealed_since

    templates_enrolled_after(manifest.max_template_id)
    templates_sealed_since(manifest.snapshot_at)


def timed(function, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def bench_app_search(size: int, sealed: int, queries: int, model, database_url: str | None) -> None:
    from sqlalchemy import update

    from app.clock import utcnow
    from app.extensions import db
    from app.models import Booking
    from app.services.gallery.index_builds import rebuild_index
    from app.services.gallery.search import gallery_model_id, index_store, search_descriptor

    heading(f"search_descriptor at {size:,} templates ({'PostgreSQL' if database_url else 'SQLite'})")
    rng = np.random.default_rng(size)
    vectors, labels, _ = synthetic_gallery(model, size, rng)
    app, folder = scratch_app(database_url)
    try:
        start = time.perf_counter()
        fill_gallery(vectors, labels, gallery_model_id())
        elapsed = time.perf_counter() - start
        print(f"- bulk insert of {size:,} bookings and templates: {elapsed:.0f} s")
        probes = [(vectors[i] + rng.normal(scale=0.03, size=128)).astype(np.float32) for i in range(queries)]

        def rebuild_and_report(label: str):
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            start = time.perf_counter()
            build = rebuild_index(triggered_by="bench")
            elapsed = time.perf_counter() - start
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            loaded = index_store().open_current()
            tuning = loaded.manifest.tuning
            print(
                f"- rebuild ({label}): {elapsed:.0f} s for {build.template_count:,} templates, streamed; "
                f"peak RSS of the process {peak / 1024:.0f} MB (was {before / 1024:.0f} MB before it)"
            )
            print(
                f"- measured at the build: {tuning['strategy']} {tuning['effort'] or ''} keeps "
                f"{tuning['share_of_exact_mates']:.4f} of exact's true mates ({tuning['queries']} queries, "
                f"{tuning['from_bookings']} with real other bookings), {tuning['p50_ms']} ms p50"
            )
            for m in tuning["measured"]:
                effort = m["effort"] or ""
                print(f"  - {m['strategy']} {effort}: share {m['share']:.4f}, p50 {m['p50_ms']} ms")
            return loaded.manifest

        manifest = rebuild_and_report("nothing sealed")
        search = [lambda q=q: search_descriptor(q, 20, bookings=60) for q in probes]
        for function in search[:5]:
            function()  # warm the memory maps
        totals = [t for function in search for t in timed(function, 1)]
        old = timed(lambda: old_per_search_queries(manifest.max_template_id), 20)
        new = timed(lambda: new_per_search_queries(manifest), 20)
        print("| per search | p50 ms | p95 ms |")
        print("|---|---|---|")
        for label, values in (
            ("search_descriptor, whole (K=20 people, 60 bookings)", totals),
            ("database work as it was (join over bookings, all sealed ids)", old),
            ("database work now (key range, sealed since the build)", new),
        ):
            print(f"| {label} | {ms(values):.1f} | {ms(values, 95):.1f} |")
        if sealed:
            earlier = utcnow() - timedelta(days=1)
            sealed_ids = rng.choice(size, size=sealed, replace=False) + 1
            for start in range(0, sealed, 20_000):
                chunk = [int(i) for i in sealed_ids[start : start + 20_000]]
                db.session.execute(
                    update(Booking).where(Booking.id.in_(chunk)).values(sealed=True, sealed_at=earlier)
                )
            db.session.commit()
            manifest = rebuild_and_report(f"{sealed:,} sealed before it")
            unsealed = np.setdiff1d(np.arange(1, size + 1), sealed_ids)
            late = [int(i) for i in rng.choice(unsealed, 20, replace=False)]
            db.session.execute(
                update(Booking).where(Booking.id.in_(late)).values(sealed=True, sealed_at=utcnow())
            )
            db.session.commit()
            with_sealed = [t for function in search for t in timed(function, 1)]
            old = timed(lambda: old_per_search_queries(manifest.max_template_id), 20)
            print(
                f"- {sealed:,} sealed before the build and 20 after: search_descriptor p50 "
                f"{ms(with_sealed):.1f} ms (none sealed: {ms(totals):.1f} ms; "
                f"{(ms(with_sealed) / ms(totals) - 1) * 100:+.0f}%); the old database work alone took "
                f"{ms(old):.1f} ms p50 and asked the index for {20 * 3 + sealed + 20:,} neighbours "
                f"(now {20 * 3 + 20})"
            )
    finally:
        from app.extensions import db as database

        database.session.remove()
        database.engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)
        del app


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sections", default="probe,app-search", help="also: index-alone")
    parser.add_argument("--index-sizes", default="10000000", help="sizes for the index-alone section")
    parser.add_argument("--index-trees", default="25,50", help="Annoy forests for the index-alone section")
    parser.add_argument("--rebuild-sizes", default="10000000", help="sizes for the rebuild section")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--sealed", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--database-url")
    parser.add_argument("--lfw", type=Path, default=ROOT.parent / "shared" / "lfw-dev")
    parser.add_argument("--cache", type=Path, default=ROOT / ".bench-cache")
    parser.add_argument("--model-photos", type=int, default=600, help="LFW photos the model is fitted on")
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    print(f"# LeadDesk scale benchmark · {os.cpu_count()} cores · one BLAS thread")
    if "probe" in sections:
        bench_startup()
        bench_probe()
    if "app-search" in sections:
        model = fitted_model(args.lfw, args.cache, args.model_photos)
        for size in (int(s) for s in args.sizes.split(",")):
            bench_app_search(size, min(args.sealed, size // 2), args.queries, model, args.database_url)
    if "precision" in sections:
        bench_precision(int(args.index_sizes.split(",")[0]))
    if "rebuild" in sections:  # the nightly rebuild alone at --rebuild-sizes
        model = fitted_model(args.lfw, args.cache, args.model_photos)
        for size in (int(s) for s in args.rebuild_sizes.split(",")):
            bench_rebuild_only(model, size, args.database_url)
    if "index-alone" in sections:  # 10,000,000: about 40 minutes and 12 GB of disk here
        model = fitted_model(args.lfw, args.cache, args.model_photos)
        for size in (int(s) for s in args.index_sizes.split(",")):
            forests = tuple(int(n) for n in args.index_trees.split(","))
            bench_index_alone(model, size, args.queries, forests)


if __name__ == "__main__":
    main()
