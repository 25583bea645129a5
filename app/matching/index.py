"""The search index: versioned files built together, switched atomically, memory-mapped.

Layout under the index folder::

    current.json           {"version": 7, "directory": "v000007"} (replaced atomically)
    v000007/manifest.json  parameters, counts, the SHA-256 of every file
    v000007/annoy.ann      Annoy forest, metric "euclidean" (dlib's distance), fixed seed
    v000007/ids.npy        item i of the forest is template ids[i] (Annoy ids are dense)
    v000007/vectors.npy    the same descriptors, float32, for exact scans and re-ranking
    v000007/norms.npy      their squared norms (exact scan via one matrix-vector product)
    v000007/pca.npz        mean and leading principal axes of the gallery's descriptors
    v000007/reduced.npy    the descriptors projected on those axes (the two-stage scan's
                           first pass: a quarter of the bytes to stream per query)

A build writes a new folder and only then points ``current.json`` at it, so a search never
sees a half-written index and a failed build leaves the previous one serving. Every process
memory-maps the current version and notices a new one by the pointer file's change.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

DIMENSIONS = 128
METRIC = "euclidean"
DEFAULT_SEED = 20_260_101
POINTER = "current.json"


class IndexUnavailable(Exception):
    """The index is missing or damaged; callers fall back to an exact scan of the database."""


@dataclass(frozen=True)
class BuildParameters:
    n_trees: int = 50
    seed: int = DEFAULT_SEED
    metric: str = METRIC
    reduced_dims: int = 32

    def as_dict(self) -> dict:
        return {
            "n_trees": self.n_trees,
            "seed": self.seed,
            "metric": self.metric,
            "reduced_dims": self.reduced_dims,
        }


@dataclass(frozen=True)
class IndexManifest:
    version: int
    directory: str
    count: int
    max_template_id: int
    parameters: dict
    model_id: str
    built_at: str
    files: dict[str, str] = field(default_factory=dict)
    # When the templates were read: records sealed from then on are filtered at search time
    # (older ones were left out by the build). None in manifests written before it was kept.
    snapshot_at: str | None = None
    tuning: dict | None = None  # the recall measured at the build and the setting chosen

    @classmethod
    def read(cls, path: Path) -> IndexManifest:
        return cls(**json.loads(path.read_text()))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _atomic_write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def squared_distances(vectors: np.ndarray, norms: np.ndarray, query: np.ndarray) -> np.ndarray:
    """||v - q||^2 for every row, with one BLAS matrix-vector product."""
    query = np.asarray(query, dtype=np.float32)
    result = norms - 2.0 * (vectors @ query) + float(query @ query)
    np.maximum(result, 0.0, out=result)
    return result


def exact_top_k(
    vectors: np.ndarray, norms: np.ndarray, query: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices and distances of the k nearest rows, nearest first."""
    if len(vectors) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    squared = squared_distances(vectors, norms, query)
    k = min(k, len(squared))
    part = np.argpartition(squared, k - 1)[:k] if k < len(squared) else np.arange(len(squared))
    order = part[np.lexsort((part, squared[part]))]  # ties broken by row, so results are stable
    return order.astype(np.int64), np.sqrt(squared[order]).astype(np.float32)


def principal_axes(vectors: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and the ``dims`` leading principal axes (rows) of ``vectors``."""
    mean = vectors.mean(axis=0, dtype=np.float64)
    covariance = np.zeros((DIMENSIONS, DIMENSIONS))
    for start in range(0, len(vectors), 200_000):  # chunked: bounded memory at 1M rows
        block = vectors[start : start + 200_000].astype(np.float64) - mean
        covariance += block.T @ block
    values, axes = np.linalg.eigh(covariance)
    order = np.argsort(values)[::-1][:dims]
    axes = axes[:, order].T
    axes *= np.where(axes[:, :1] < 0, -1.0, 1.0)  # fixed signs: identical builds, identical files
    return mean.astype(np.float32), np.ascontiguousarray(axes, dtype=np.float32)


def two_stage_top_k(
    query: np.ndarray,
    k: int,
    *,
    vectors: np.ndarray,
    reduced: np.ndarray,
    reduced_norms: np.ndarray,
    mean: np.ndarray,
    axes: np.ndarray,
    shortlist: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Shortlist by distance in the principal subspace, then rank the shortlist exactly.

    Distances in the subspace never exceed the true ones, so true mates stay near the top
    of the shortlist; the benchmark measures how long the shortlist must be.
    """
    projected = (np.asarray(query, dtype=np.float32) - mean) @ axes.T
    rows, _ = exact_top_k(reduced, reduced_norms, projected, max(shortlist, k))
    rows = np.sort(rows)  # ascending rows read the memory map in order
    candidates = np.asarray(vectors[rows])
    distances = np.sqrt(np.maximum(((candidates - query) ** 2).sum(axis=1), 0)).astype(np.float32)
    order = np.lexsort((rows, distances))[:k]
    return rows[order], distances[order]


def files_signature(directory: Path, names) -> tuple:
    """Size and modification time of each file: cheap to take on every search."""
    return tuple((name, *_stat_pair(directory / name)) for name in sorted(names))


def _stat_pair(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


class LoadedIndex:
    """One built version, memory-mapped."""

    def __init__(self, root: Path, manifest: IndexManifest, verify: bool = True) -> None:
        from annoy import AnnoyIndex

        self.manifest = manifest
        self.version = manifest.version
        directory = root / manifest.directory
        self.directory = directory
        try:
            self.signature = files_signature(directory, manifest.files)
            if verify:
                for name, expected in manifest.files.items():
                    if sha256_file(directory / name) != expected:
                        raise IndexUnavailable(f"index file {name} of version {manifest.version} is damaged")
            self.ids = np.load(directory / "ids.npy", mmap_mode="r")
            self.vectors = np.load(directory / "vectors.npy", mmap_mode="r")
            self.norms = np.load(directory / "norms.npy", mmap_mode="r")
            self.reduced = np.load(directory / "reduced.npy", mmap_mode="r")
            self.reduced_norms = np.load(directory / "reduced_norms.npy", mmap_mode="r")
            with np.load(directory / "pca.npz") as pca:
                self.pca_mean, self.pca_axes = pca["mean"], pca["axes"]
            self.annoy = AnnoyIndex(DIMENSIONS, manifest.parameters.get("metric", METRIC))
            self.annoy.load(str(directory / "annoy.ann"))  # memory-mapped by Annoy itself
        except IndexUnavailable:
            raise
        except (OSError, ValueError) as exc:
            raise IndexUnavailable(f"index version {manifest.version} cannot be opened: {exc}") from exc
        if not (len(self.ids) == len(self.vectors) == self.annoy.get_n_items() == manifest.count):
            raise IndexUnavailable(f"index version {manifest.version} has inconsistent files")

    def search_exact(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        rows, distances = exact_top_k(self.vectors, self.norms, query, k)
        return np.asarray(self.ids)[rows], distances

    def search_two_stage(self, query: np.ndarray, k: int, shortlist: int) -> tuple[np.ndarray, np.ndarray]:
        if self.manifest.count == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        rows, distances = two_stage_top_k(
            query,
            k,
            vectors=self.vectors,
            reduced=self.reduced,
            reduced_norms=self.reduced_norms,
            mean=self.pca_mean,
            axes=self.pca_axes,
            shortlist=shortlist,
        )
        return np.asarray(self.ids)[rows], distances

    def search_annoy(self, query: np.ndarray, k: int, search_k: int) -> tuple[np.ndarray, np.ndarray]:
        if self.manifest.count == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        rows, _ = self.annoy.get_nns_by_vector(query.tolist(), k, search_k=search_k, include_distances=True)
        rows = np.asarray(rows, dtype=np.int64)
        # Re-rank on the float32 vectors: Annoy's own distances are rounded differently.
        vectors = np.asarray(self.vectors[rows])
        distances = np.sqrt(np.maximum(((vectors - query) ** 2).sum(axis=1), 0)).astype(np.float32)
        order = np.lexsort((rows, distances))
        return np.asarray(self.ids)[rows[order]], distances[order]

    def close(self) -> None:
        self.annoy.unload()


class IndexStore:
    """The index folder: builds versions, switches the pointer, opens the current one."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._cached: tuple[int, LoadedIndex] | None = None  # (pointer mtime_ns, index)

    @property
    def pointer(self) -> Path:
        return self.root / POINTER

    def current_manifest(self) -> IndexManifest | None:
        try:
            pointer = json.loads(self.pointer.read_text())
            return IndexManifest.read(self.root / pointer["directory"] / "manifest.json")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexUnavailable(f"the index pointer or manifest is damaged: {exc}") from exc

    def open_current(self) -> LoadedIndex | None:
        """The current version (cached per process until the pointer changes), or None
        if no index was ever built. Raises IndexUnavailable if it is damaged."""
        try:
            mtime = self.pointer.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        with self._lock:
            if self._cached and self._cached[0] == mtime:
                cached = self._cached[1]
                # A file changed in place since it was verified (a bad disk, a stray write):
                # check it again rather than serve what the memory map now holds.
                try:
                    unchanged = files_signature(cached.directory, cached.manifest.files) == cached.signature
                except OSError:
                    unchanged = False
                if unchanged:
                    return cached
            self._cached = None
            manifest = self.current_manifest()
            if manifest is None:
                return None
            loaded = LoadedIndex(self.root, manifest)
            self._cached = (mtime, loaded)
            return loaded

    def build(self, *, template_ids: np.ndarray, vectors: np.ndarray, **kwargs) -> IndexManifest:
        """``build_from_chunks`` for descriptors already in memory (tests, benchmarks)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, DIMENSIONS)
        ids = np.asarray(template_ids, dtype=np.int64)
        return self.build_from_chunks(chunks=[(ids, vectors)], count=len(ids), **kwargs)

    def build_from_chunks(
        self,
        *,
        version: int,
        chunks: Iterable[tuple[np.ndarray, np.ndarray]],
        count: int,
        model_id: str,
        parameters: BuildParameters,
        built_at: str,
        snapshot_at: str | None = None,
        tune: Callable[[LoadedIndex], dict] | None = None,
        n_jobs: int = -1,
    ) -> IndexManifest:
        """Write version ``version`` into its own folder and switch to it.

        The descriptors arrive in chunks (at most ``count`` rows; fewer when records were sealed
        while they were read) and go straight to memory-mapped files, and the Annoy forest is
        built on disk: memory stays bounded at ten million templates. ``tune`` measures the
        finished files before the switch. Anything that fails before the switch leaves the
        previous version serving.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        directory_name = f"v{version:06d}"
        staging = self.root / f".{directory_name}.building"
        final = self.root / directory_name
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        try:
            written = _write_vectors(staging, chunks, count)
            ids = np.load(staging / "ids.npy", mmap_mode="r") if written else np.empty(0, np.int64)
            vectors = np.load(staging / "vectors.npy", mmap_mode="r") if written else None
            _write_derived(staging, vectors, parameters)
            _build_forest(staging, vectors, parameters, n_jobs)
            files = {p.name: sha256_file(p) for p in sorted(staging.iterdir())}
            manifest = IndexManifest(
                version=version,
                directory=directory_name,
                count=written,
                max_template_id=int(ids.max()) if written else 0,
                parameters=parameters.as_dict(),
                model_id=model_id,
                built_at=built_at,
                files=files,
                snapshot_at=snapshot_at,
            )
            del ids, vectors
            if tune is not None:
                provisional = LoadedIndex(self.root, replace(manifest, directory=staging.name), verify=False)
                try:
                    manifest = replace(manifest, tuning=tune(provisional))
                finally:
                    provisional.close()
            _atomic_write(staging / "manifest.json", json.dumps(manifest.__dict__, indent=2))
            shutil.rmtree(final, ignore_errors=True)
            os.replace(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _atomic_write(self.pointer, json.dumps({"version": version, "directory": directory_name}))
        return manifest

    def prune(self, keep: int = 3) -> list[str]:
        """Remove all but the newest ``keep`` versions (never the current one)."""
        current = self.current_manifest()
        versions = sorted(p for p in self.root.glob("v??????") if p.is_dir())
        removed = []
        for path in versions[:-keep]:
            if current and path.name == current.directory:
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
        return removed


CHUNK_ROWS = 200_000  # rows per step when deriving files: bounded memory at any gallery size


def _write_vectors(staging: Path, chunks: Iterable[tuple[np.ndarray, np.ndarray]], count: int) -> int:
    """ids.npy and vectors.npy from the chunks, straight into memory-mapped files; the number
    of rows written (fewer than ``count`` if records were sealed while they were read)."""
    if count == 0:
        np.save(staging / "ids.npy", np.empty(0, np.int64))
        np.save(staging / "vectors.npy", np.empty((0, DIMENSIONS), np.float32))
        return 0
    ids = np.lib.format.open_memmap(staging / "ids.npy", mode="w+", dtype=np.int64, shape=(count,))
    vectors = np.lib.format.open_memmap(
        staging / "vectors.npy", mode="w+", dtype=np.float32, shape=(count, DIMENSIONS)
    )
    written = 0
    for chunk_ids, chunk_vectors in chunks:
        rows = len(chunk_ids)
        if written + rows > count:
            raise ValueError(f"more templates arrived than the {count} counted")
        ids[written : written + rows] = chunk_ids
        vectors[written : written + rows] = np.reshape(chunk_vectors, (-1, DIMENSIONS))
        written += rows
    ids.flush()
    vectors.flush()
    if written < count:  # sealed while being read: keep what was written
        kept_ids, kept_vectors = np.array(ids[:written]), np.array(vectors[:written])
        del ids, vectors
        np.save(staging / "ids.npy", kept_ids)
        np.save(staging / "vectors.npy", kept_vectors)
    return written


def _write_derived(staging: Path, vectors: np.ndarray | None, parameters: BuildParameters) -> None:
    """Norms, the principal axes and the reduced descriptors, a chunk at a time."""
    count = 0 if vectors is None else len(vectors)
    dims = parameters.reduced_dims
    if count:
        mean, axes = principal_axes(vectors, dims)
    else:
        mean, axes = np.zeros(DIMENSIONS, np.float32), np.eye(dims, DIMENSIONS, dtype=np.float32)
    np.savez(staging / "pca.npz", mean=mean, axes=axes)
    if not count:
        for name, shape in (("norms", (0,)), ("reduced", (0, dims)), ("reduced_norms", (0,))):
            np.save(staging / f"{name}.npy", np.empty(shape, np.float32))
        return
    norms = np.lib.format.open_memmap(staging / "norms.npy", mode="w+", dtype=np.float32, shape=(count,))
    reduced = np.lib.format.open_memmap(
        staging / "reduced.npy", mode="w+", dtype=np.float32, shape=(count, dims)
    )
    reduced_norms = np.lib.format.open_memmap(
        staging / "reduced_norms.npy", mode="w+", dtype=np.float32, shape=(count,)
    )
    for start in range(0, count, CHUNK_ROWS):
        block = np.asarray(vectors[start : start + CHUNK_ROWS], dtype=np.float32)
        norms[start : start + len(block)] = np.einsum("ij,ij->i", block, block)
        projected = (block - mean) @ axes.T
        reduced[start : start + len(block)] = projected
        reduced_norms[start : start + len(block)] = np.einsum("ij,ij->i", projected, projected)
    for array in (norms, reduced, reduced_norms):
        array.flush()


def _build_forest(
    staging: Path, vectors: np.ndarray | None, parameters: BuildParameters, n_jobs: int
) -> None:
    from annoy import AnnoyIndex

    forest = AnnoyIndex(DIMENSIONS, parameters.metric)
    forest.set_seed(parameters.seed)
    path = str(staging / "annoy.ann")
    if vectors is None or not len(vectors):
        forest.build(parameters.n_trees, n_jobs=n_jobs)
        forest.save(path)
    else:
        forest.on_disk_build(path)  # the forest grows in its file, not in memory
        for start in range(0, len(vectors), CHUNK_ROWS):
            block = np.asarray(vectors[start : start + CHUNK_ROWS], dtype=np.float32)
            for offset, vector in enumerate(block):
                forest.add_item(start + offset, vector)
        forest.build(parameters.n_trees, n_jobs=n_jobs)
    forest.unload()
