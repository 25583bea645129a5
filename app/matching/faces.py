"""Detection, landmarks, aligned chips, 128-d descriptors and quality figures (dlib).

Follows dlib's own example order: load the detector, shape predictor and recogniser once
per process (lazily), then loop.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from app.matching.images import downscaled
from app.matching.recognizer_onnx import OnnxRecognizer

RECOGNIZER = "dlib_face_recognition_resnet_model_v1"
RESNET_FILE = f"{RECOGNIZER}.dat"
# dlib's published same-person threshold for this model: pairs closer than 0.6 are
# judged the same person (99.38% on LFW pairs).
SAME_PERSON_DISTANCE = 0.6
RUNTIMES = ("onnx", "dlib")
CHIP_SIZE = 150  # the recogniser's input size
CHIP_PADDING = 0.25  # dlib's default; the network was trained on chips cut this way
MAX_TRUNCATED_SHARE = 0.2  # a box more than 20% outside the photo is a face cut by the border
MIN_PHOTO_SIDE = 32  # smaller holds no usable face, and dlib's CNN raises on it
# From this shorter side up a photo is first searched for faces without upsampling (80 px and
# larger); LFW-sized photos (250 px) and small stills keep the upsampled pass (40 px faces).
LARGE_PHOTO_SIDE = 400
CNN_MAX_SIDE = 640  # the mmod detector is slow on a CPU (~3 s here at 640 px): it looks at a downscaled copy

_models_lock = threading.Lock()
_models: dict[str, tuple[object, threading.Lock]] = {}  # each model with the lock for using it


# The SHA-256 of each model file as released (face_recognition_models 0.3.0): a changed file
# (a swapped network that would make every descriptor, and so every search, someone else's) is
# refused before it is loaded.
MODEL_SHA256 = {
    "dlib_face_recognition_resnet_model_v1.dat": (
        "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"
    ),
    "mmod_human_face_detector.dat": ("4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6"),
    "shape_predictor_5_face_landmarks.dat": (
        "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"
    ),
    "shape_predictor_68_face_landmarks.dat": (
        "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f"
    ),
}


class ModelFileError(RuntimeError):
    """A model file that is not the one released."""


def model_path(name: str) -> Path:
    """Path of one of dlib's model files shipped by ``face_recognition_models``, checked
    against its pinned SHA-256."""
    path = Path(str(resources.files("face_recognition_models") / "models" / name))
    require_pinned(path, MODEL_SHA256[name])
    return path


def require_pinned(path: Path, expected: str) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise ModelFileError(
            f"{path} is not the released model file (SHA-256 {digest.hexdigest()[:16]}…, expected "
            f"{expected[:16]}…): reinstall face-recognition-models; LeadDesk will not load it."
        )


@contextmanager
def _exclusive(key: str) -> Iterator:
    """A dlib model, loaded on first use and reused by the whole process, for one thread at a
    time: dlib's detectors and networks keep scratch state between calls, and two threads in
    one model at once crash the process (seen with gunicorn's threads). Processes, not
    threads, are what run face work in parallel."""
    if key not in _models:
        _load(key)
    model, lock = _models[key]
    with lock:
        yield model


def _load(key: str) -> None:
    with _models_lock:
        if key not in _models:
            import dlib

            loaders = {
                "hog": lambda: dlib.get_frontal_face_detector(),
                "cnn": lambda: dlib.cnn_face_detection_model_v1(
                    str(model_path("mmod_human_face_detector.dat"))
                ),
                "shape68": lambda: dlib.shape_predictor(
                    str(model_path("shape_predictor_68_face_landmarks.dat"))
                ),
                "shape5": lambda: dlib.shape_predictor(
                    str(model_path("shape_predictor_5_face_landmarks.dat"))
                ),
                "recognizer": lambda: dlib.face_recognition_model_v1(str(model_path(RESNET_FILE))),
                "recognizer_onnx": lambda: OnnxRecognizer(model_path(RESNET_FILE)),
            }
            _models[key] = (loaders[key](), threading.Lock())


def preload_models(keys: tuple[str, ...] = ("hog", "shape68", "recognizer_onnx")) -> None:
    """Load the models every analysis uses now (about a second), e.g. when a worker starts."""
    for key in keys:
        if key not in _models:
            _load(key)


@dataclass(frozen=True)
class FaceQuality:
    face_width_px: float
    inter_eye_px: float
    sharpness: float  # variance of the Laplacian on the grey chip
    yaw_deg: float  # estimated from the nose's offset between the eyes
    roll_deg: float  # tilt of the line between the eyes
    brightness: float  # mean grey level of the chip, 0-255
    contrast: float  # standard deviation of the chip's grey levels

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 2) for k, v in asdict(self).items()}


@dataclass
class Face:
    box: tuple[int, int, int, int]  # left, top, right, bottom in image pixels
    detector: str  # "hog" or "cnn"
    landmarks: list[tuple[float, float]]  # dlib's 68 points (or 5 when placed by hand)
    quality: FaceQuality
    descriptor: np.ndarray | None = None  # 128 float32
    chip: np.ndarray | None = field(default=None, repr=False)

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def area(self) -> int:
        return self.width * (self.box[3] - self.box[1])

    @property
    def eye_centres(self) -> tuple[tuple[float, float], tuple[float, float]]:
        return eye_centres(self.landmarks)


@dataclass(frozen=True)
class EngineSettings:
    upsample: int = 1  # HOG upsampling: 1 finds faces down to about 40 px wide
    cnn_fallback: bool = True
    jitters: int = 0  # extra jittered passes averaged into the descriptor (0: one pass)
    flip: bool = True  # also describe the mirrored chip and average (test-time augmentation)
    landmarks: int = 68  # 68-point alignment measured better than 5-point (docs/measured.md)
    drop_truncated: bool = True  # ignore faces cut by the border (then try the CNN detector)
    # Who runs the recogniser's network: "onnx" (ONNX Runtime, about 20x faster here) or
    # "dlib". The same weights give the same descriptors (within 1e-4, tested), so templates
    # made either way mix and the model id does not name the runtime. Jittered passes are
    # dlib's own (random crops), so they always run in dlib.
    runtime: str = "onnx"

    def __post_init__(self) -> None:
        if self.runtime not in RUNTIMES:
            raise ValueError(f"descriptor runtime must be one of {RUNTIMES}, not {self.runtime!r}")

    @property
    def model_id(self) -> str:
        """The recogniser plus how its input is prepared: templates made differently never mix."""
        return f"{RECOGNIZER};align={self.landmarks}" + (";mirror" if self.flip else "")


# The "plain" pipeline the benchmark compares against: HOG, 5 landmarks, one pass.
PLAIN_SETTINGS = EngineSettings(flip=False, landmarks=5, drop_truncated=False, cnn_fallback=False)


def _mean(points: list[tuple[float, float]]) -> tuple[float, float]:
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


def eye_centres(points: list[tuple[float, float]]) -> tuple[tuple[float, float], tuple[float, float]]:
    """Left and right (in the image) eye centres from dlib's 68 or 5 landmarks."""
    if len(points) == 68:  # iBUG layout: 36-41 and 42-47 are the eyes
        first, second = _mean(points[36:42]), _mean(points[42:48])
    else:  # 5-point layout: 0-1 one eye's corners, 2-3 the other's, 4 below the nose
        first, second = _mean(points[0:2]), _mean(points[2:4])
    return (first, second) if first[0] < second[0] else (second, first)


def nose_base(points: list[tuple[float, float]]) -> tuple[float, float]:
    return points[33] if len(points) == 68 else points[4]


def truncated_share(box: tuple[int, int, int, int], width: int, height: int) -> float:
    """How much of a detection box lies outside the photo (a face cut by the border)."""
    left, top, right, bottom = box
    area = max(1, (right - left) * (bottom - top))
    inside = max(0, min(right, width) - max(left, 0)) * max(0, min(bottom, height) - max(top, 0))
    return 1 - inside / area


def _quality(points: list[tuple[float, float]], box, chip: np.ndarray) -> FaceQuality:
    (lx, ly), (rx, ry) = eye_centres(points)
    inter_eye = math.hypot(rx - lx, ry - ly)
    roll = math.degrees(math.atan2(ry - ly, rx - lx))
    # Nose offset from the eyes' midpoint, measured along the eye line: about 0 when frontal.
    mid_x, mid_y = (lx + rx) / 2, (ly + ry) / 2
    nose_x, nose_y = nose_base(points)
    ux, uy = (rx - lx) / max(inter_eye, 1e-6), (ry - ly) / max(inter_eye, 1e-6)
    offset = (nose_x - mid_x) * ux + (nose_y - mid_y) * uy
    # The nose tip sits roughly 0.6 inter-eye distances in front of the eye plane.
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, offset / (0.6 * max(inter_eye, 1e-6))))))
    grey = chip.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    laplacian = -4 * grey[1:-1, 1:-1] + grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:]
    return FaceQuality(
        face_width_px=float(box[2] - box[0]),
        inter_eye_px=inter_eye,
        sharpness=float(laplacian.var()),
        yaw_deg=yaw,
        roll_deg=roll,
        brightness=float(grey.mean()),
        contrast=float(grey.std()),
    )


class FaceEngine:
    """Finds faces in an RGB array and describes them.

    With ``cache_size``, ``analyze`` remembers its answers by the pixels' content: a reviewer's
    pages ask about the same probe and gallery photos again and again (probe page, search,
    comparison, chips), and each answer costs hundreds of milliseconds of CPU. The cached
    faces are shared: callers read them and never change them. With a ``store`` (an
    ``AnalysisStore``), answers are also kept on disk for the instance's other processes.
    """

    def __init__(self, settings: EngineSettings | None = None, cache_size: int = 0, store=None) -> None:
        self.settings = settings or EngineSettings()
        self._cache_size = cache_size
        self._store = store
        self._cache: OrderedDict[tuple, tuple[Face, ...]] = OrderedDict()
        self._cache_lock = threading.Lock()

    def detect(self, rgb: np.ndarray, detector: str = "auto") -> list[tuple[tuple[int, int, int, int], str]]:
        """Face boxes, largest first. ``detector``: "auto" (HOG, then CNN if none), "hog", "cnn"."""
        h, w = rgb.shape[:2]
        boxes: list[tuple[tuple[int, int, int, int], str]] = []
        if min(h, w) < MIN_PHOTO_SIDE:
            return boxes
        if detector in ("auto", "hog"):
            boxes = self._whole(self._detect_hog(rgb, self._first_upsample(h, w)), w, h)
            if not boxes and self._first_upsample(h, w) < self.settings.upsample:
                boxes = self._whole(self._detect_hog(rgb, self.settings.upsample), w, h)
        # A face cut off by the photo's border makes a poor template; when that is all HOG
        # saw, the CNN detector often finds the whole face HOG missed.
        if detector == "cnn" or (detector == "auto" and not boxes and self.settings.cnn_fallback):
            boxes = self._whole(self._detect_cnn(rgb), w, h)
        clipped = [((max(0, x0), max(0, y0), min(w, x1), min(h, y1)), d) for (x0, y0, x1, y1), d in boxes]
        return sorted(
            [(b, d) for b, d in clipped if b[2] > b[0] and b[3] > b[1]],
            key=lambda item: (item[0][2] - item[0][0]) * (item[0][3] - item[0][1]),
            reverse=True,
        )

    def _first_upsample(self, height: int, width: int) -> int:
        """Upsampling quadruples HOG's work: a large photo is first looked at as it is (faces
        from 80 px), and upsampled only if no whole face is found there (docs/measured.md)."""
        return 0 if min(height, width) >= LARGE_PHOTO_SIDE else self.settings.upsample

    @staticmethod
    def _detect_hog(rgb: np.ndarray, upsample: int) -> list[tuple[tuple[int, int, int, int], str]]:
        with _exclusive("hog") as hog:
            found = hog(rgb, upsample)
        return [((r.left(), r.top(), r.right(), r.bottom()), "hog") for r in found]

    def _whole(self, boxes, width: int, height: int):
        if not self.settings.drop_truncated:
            return boxes
        return [(b, d) for b, d in boxes if truncated_share(b, width, height) <= MAX_TRUNCATED_SHARE]

    def _detect_cnn(self, rgb: np.ndarray) -> list[tuple[tuple[int, int, int, int], str]]:
        small = downscaled(rgb, CNN_MAX_SIDE)
        scale = small.shape[1] / rgb.shape[1]
        # Upsample only while the doubled image stays within the budget (small photos).
        upsample = 1 if 2 * max(small.shape[:2]) <= CNN_MAX_SIDE else 0
        with _exclusive("cnn") as cnn:
            found = cnn(small, upsample)
        return [
            (
                (
                    round(d.rect.left() / scale),
                    round(d.rect.top() / scale),
                    round(d.rect.right() / scale),
                    round(d.rect.bottom() / scale),
                ),
                "cnn",
            )
            for d in found
        ]

    def shape(self, rgb: np.ndarray, box: tuple[int, int, int, int]):
        import dlib

        predictor = "shape68" if self.settings.landmarks == 68 else "shape5"
        with _exclusive(predictor) as shape_predictor:
            return shape_predictor(rgb, dlib.rectangle(*box))

    def shape_from_eyes(self, box, left_eye, right_eye, nose):
        """A 5-point shape from eye centres placed by hand (when detection fails)."""
        import dlib

        (lx, ly), (rx, ry) = left_eye, right_eye
        half = 0.18 * math.hypot(rx - lx, ry - ly)
        points = [
            dlib.point(round(rx + half), round(ry)),
            dlib.point(round(rx - half), round(ry)),
            dlib.point(round(lx - half), round(ly)),
            dlib.point(round(lx + half), round(ly)),
            dlib.point(round(nose[0]), round(nose[1])),
        ]
        return dlib.full_object_detection(dlib.rectangle(*box), points)

    def chip(self, rgb: np.ndarray, shape) -> np.ndarray:
        import dlib

        return dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING)

    def describe_chip(
        self, chip: np.ndarray, jitters: int | None = None, flip: bool | None = None
    ) -> np.ndarray:
        """The 128-d descriptor of an aligned chip (averaged over jitters and the mirror)."""
        jitters = self.settings.jitters if jitters is None else jitters
        flip = self.settings.flip if flip is None else flip
        chips = [np.ascontiguousarray(chip)]
        if flip:
            chips.append(np.ascontiguousarray(chip[:, ::-1]))
        if self.settings.runtime == "onnx" and not jitters:
            with _exclusive("recognizer_onnx") as recognizer:
                vectors = recognizer.describe(chips)
        else:
            with _exclusive("recognizer") as recognizer:
                computed = recognizer.compute_face_descriptor(chips, jitters)
            vectors = [np.asarray(v, dtype=np.float32) for v in computed]
        return np.mean(vectors, axis=0).astype(np.float32)

    def analyze(
        self,
        rgb: np.ndarray,
        *,
        detector: str = "auto",
        describe: bool = True,
        max_faces: int | None = None,
        keep_chip: bool = False,
    ) -> list[Face]:
        """Every face in the photo (largest first), with landmarks, quality and descriptor."""
        key = None
        if self._cache_size or self._store is not None:
            content = hashlib.blake2b(np.ascontiguousarray(rgb).data, digest_size=16).hexdigest()
            question = (content, rgb.shape, str(rgb.dtype), detector, describe, max_faces, keep_chip)
            key = hashlib.blake2b(repr((question, self.settings)).encode(), digest_size=20).hexdigest()
            with self._cache_lock:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    return list(self._cache[key])
        faces = self._store.get(key) if key is not None and self._store is not None else None
        if faces is None:
            faces = [
                self.face_from_shape(rgb, self.shape(rgb, box), box, used, describe, keep_chip)
                for box, used in self.detect(rgb, detector)[:max_faces]
            ]
            if key is not None and self._store is not None:
                self._store.put(key, faces)
        if key is not None and self._cache_size:
            with self._cache_lock:
                self._cache[key] = tuple(faces)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return faces

    def face_from_shape(
        self, rgb, shape, box, detector: str, describe: bool = True, keep_chip: bool = False
    ) -> Face:
        points = [(float(p.x), float(p.y)) for p in shape.parts()]
        chip = self.chip(rgb, shape)
        return Face(
            box=tuple(int(v) for v in box),
            detector=detector,
            landmarks=points,
            quality=_quality(points, box, chip),
            descriptor=self.describe_chip(chip) if describe else None,
            chip=chip if keep_chip else None,
        )
