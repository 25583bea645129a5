"""Preparing a probe for a search: the reviewer's processing chain applied to the original,
the faces found in the result, the one chosen (or one built from eye centres placed by hand),
its suitability, and aligned chips for the one-to-one comparison.

Pure: pixels and a recipe in, faces out. Loading the original and storing results is the
caller's business, so the web search, the report and a re-run all prepare a probe the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.matching.faces import Face, FaceEngine
from app.matching.processing import apply_steps
from app.matching.suitability import assess

COMPARISON_SIZE = 512  # the comparison view's chips: eyes at the same place in both, sharp when large


@dataclass(frozen=True)
class ProbeRecipe:
    """What a reviewer chose for one probe: processing steps, which face, or eyes by hand."""

    steps: tuple[dict, ...] = ()
    face_index: int = 0
    manual_eyes: tuple[tuple[float, float], tuple[float, float]] | None = None


@dataclass
class PreparedProbe:
    pixels: np.ndarray
    faces: list[Face]
    chosen: Face | None
    verdict: str
    reasons: list[str] = field(default_factory=list)


def prepare_probe(original: np.ndarray, recipe: ProbeRecipe, engine: FaceEngine) -> PreparedProbe:
    """Apply the chain to the original, find the faces, describe the chosen one.

    Raises ``ProcessingError`` for a step that is unknown, out of range or grows the image
    past the limit.
    """
    pixels = apply_steps(original, list(recipe.steps))
    chosen: Face | None = None
    if recipe.manual_eyes:
        left, right = recipe.manual_eyes
        chosen = face_from_eyes(pixels, left, right, engine)
        faces = [chosen]
    else:
        faces = engine.analyze(pixels)
        if faces:
            chosen = faces[min(max(recipe.face_index, 0), len(faces) - 1)]
    verdict, reasons = assess(chosen.quality if chosen else None)
    return PreparedProbe(pixels, faces, chosen, verdict, reasons)


def face_from_eyes(pixels: np.ndarray, left, right, engine: FaceEngine) -> Face:
    """A face from eye centres placed by hand: nose and box estimated from the eye line."""
    (lx, ly), (rx, ry) = sorted([tuple(left), tuple(right)])
    distance = max(float(np.hypot(rx - lx, ry - ly)), 4.0)
    mid_x, mid_y = (lx + rx) / 2, (ly + ry) / 2
    # Perpendicular to the eye line, pointing down the face: the nose base sits ~0.9 eye-distance below.
    ux, uy = (rx - lx) / distance, (ry - ly) / distance
    nose = (mid_x - uy * 0.9 * distance, mid_y + ux * 0.9 * distance)
    half = 1.1 * distance
    box = (
        round(mid_x - half),
        round(mid_y - 0.8 * distance),
        round(mid_x + half),
        round(mid_y + 1.6 * distance),
    )
    shape = engine.shape_from_eyes(box, (lx, ly), (rx, ry), nose)
    return engine.face_from_shape(pixels, shape, box, "manual", describe=True, keep_chip=True)


@dataclass
class AlignedChip:
    pixels: np.ndarray
    landmarks: list[list[float]]  # found again on the chip, for the landmark overlay
    # The chip as a transform of its source photo: CSS matrix(a, b, c, d, e, f) taking a point
    # of the source (pixel edges at integers) to the chip, and the source's width and height.
    # The workstation draws the source's own pixels through it at every zoom.
    transform: tuple[float, float, float, float, float, float] = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    source_size: tuple[int, int] = (0, 0)

    @property
    def chip_pixels_per_source_pixel(self) -> float:
        return float(np.hypot(self.transform[0], self.transform[1]))


def chip_transform(details, size: int) -> tuple[float, float, float, float, float, float]:
    """The similarity dlib's ``get_face_chip`` applies (from its chip details: the source
    rectangle and angle), as a CSS matrix from source to chip. dlib samples chip pixel u at
    centre + R(angle)·(u − (size−1)/2)·(width/size); in edge coordinates (+½ on both sides)
    that is source = origin + R·(chip − size/2)·s, inverted here."""
    rect, angle = details.rect, details.angle
    k = size / rect.width()  # chip pixels per source pixel
    ox, oy = (rect.left() + rect.right()) / 2 + 0.5, (rect.top() + rect.bottom()) / 2 + 0.5
    cos, sin = np.cos(angle) * k, np.sin(angle) * k
    half = size / 2
    return (
        float(cos),
        float(-sin),
        float(sin),
        float(cos),
        float(half - (cos * ox + sin * oy)),
        float(half - (-sin * ox + cos * oy)),
    )


def aligned_chip(
    pixels: np.ndarray, face: Face, engine: FaceEngine, size: int = COMPARISON_SIZE
) -> AlignedChip:
    """The face cut and rotated so the eyes sit at the same place whatever the photo."""
    import dlib

    shape = dlib.full_object_detection(
        dlib.rectangle(*face.box), [dlib.point(round(x), round(y)) for x, y in face.landmarks]
    )
    chip = dlib.get_face_chip(pixels, shape, size=size, padding=0.5)
    found = engine.analyze(chip, describe=False, detector="hog")
    points = [[round(x, 1), round(y, 1)] for x, y in found[0].landmarks] if found else []
    details = dlib.get_face_chip_details(shape, size=size, padding=0.5)
    height, width = pixels.shape[:2]
    return AlignedChip(chip, points, chip_transform(details, size), (int(width), int(height)))


def chip_from_box(
    pixels: np.ndarray, box: tuple[int, int, int, int], engine: FaceEngine, size: int
) -> AlignedChip:
    """The aligned chip of a face whose box is already known (an enrolled photo's): its
    landmarks found in the box, the chip cut, and the landmarks carried onto the chip by the
    chip's own transform (no second detection, so a peer answers a search quickly)."""
    import dlib

    shape = engine.shape(pixels, tuple(int(v) for v in box))
    chip = dlib.get_face_chip(pixels, shape, size=size, padding=0.5)
    details = dlib.get_face_chip_details(shape, size=size, padding=0.5)
    a, b, c, d, e, f = chip_transform(details, size)
    points = []
    for i in range(shape.num_parts):
        x, y = shape.part(i).x + 0.5, shape.part(i).y + 0.5  # the pixel's centre, in edge coordinates
        points.append([round(a * x + c * y + e - 0.5, 1), round(b * x + d * y + f - 0.5, 1)])
    height, width = pixels.shape[:2]
    return AlignedChip(chip, points, chip_transform(details, size), (int(width), int(height)))
