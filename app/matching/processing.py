"""Probe processing a facial reviewer may apply, step by step, to a copy of the probe.

Only operations that change how existing pixels look: nothing paints, pastes or adds
content. Each step is ``{"op": name, ...params}``; a chain is applied in order to the
original, so the same chain always gives the same pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps


class ProcessingError(ValueError):
    """A step that is unknown or has parameters out of range."""


def _number(step: dict, name: str, low: float, high: float) -> float:
    try:
        value = float(step[name])
    except (KeyError, TypeError, ValueError):
        raise ProcessingError(f"{step.get('op')}: {name} must be a number") from None
    if not low <= value <= high:
        raise ProcessingError(f"{step.get('op')}: {name} must be between {low:g} and {high:g}")
    return value


def _crop(image: Image.Image, step: dict) -> Image.Image:
    width, height = image.size
    left = _number(step, "left", 0, width - 1)
    top = _number(step, "top", 0, height - 1)
    right = _number(step, "right", left + 1, width)
    bottom = _number(step, "bottom", top + 1, height)
    if right - left < 16 or bottom - top < 16:
        raise ProcessingError("crop: the area must be at least 16 pixels on each side")
    return image.crop((round(left), round(top), round(right), round(bottom)))


# Each adjustable step's parameters and their ranges: the one statement of them, which the
# web forms are built from too.
PARAMETER_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "rotate": {"degrees": (-180, 180)},
    "brightness": {"factor": (0.2, 3.0)},
    "contrast": {"factor": (0.2, 3.0)},
    "gamma": {"value": (0.2, 5.0)},
    "sharpen": {"amount": (0, 300)},
}


def _ranged(step: dict, name: str) -> float:
    return _number(step, name, *PARAMETER_RANGES[step["op"]][name])


def _rotate(image: Image.Image, step: dict) -> Image.Image:
    degrees = _ranged(step, "degrees")
    # Counter-clockwise, canvas grown so no pixel is cut off; the new corners are black.
    return image.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True)


def _brightness(image: Image.Image, step: dict) -> Image.Image:
    return ImageEnhance.Brightness(image).enhance(_ranged(step, "factor"))


def _contrast(image: Image.Image, step: dict) -> Image.Image:
    return ImageEnhance.Contrast(image).enhance(_ranged(step, "factor"))


def _gamma(image: Image.Image, step: dict) -> Image.Image:
    gamma = _ranged(step, "value")
    table = [round(255 * (i / 255) ** (1 / gamma)) for i in range(256)] * len(image.getbands())
    return image.point(table)


def _equalize(image: Image.Image, step: dict) -> Image.Image:
    return ImageOps.equalize(image)


def _grayscale(image: Image.Image, step: dict) -> Image.Image:
    return ImageOps.grayscale(image).convert("RGB")


def _sharpen(image: Image.Image, step: dict) -> Image.Image:
    amount = _ranged(step, "amount")
    return image.filter(ImageFilter.UnsharpMask(radius=2, percent=round(amount), threshold=2))


OPERATIONS: dict[str, Callable[[Image.Image, dict], Image.Image]] = {
    "crop": _crop,
    "rotate": _rotate,
    "brightness": _brightness,
    "contrast": _contrast,
    "gamma": _gamma,
    "equalize": _equalize,
    "grayscale": _grayscale,
    "sharpen": _sharpen,
}
LABELS = {
    "crop": "Crop",
    "rotate": "Rotate",
    "brightness": "Brightness",
    "contrast": "Contrast",
    "gamma": "Gamma",
    "equalize": "Histogram equalization",
    "grayscale": "Grayscale",
    "sharpen": "Sharpen",
}
MAX_STEPS = 20
# A chain only changes how existing pixels look, so it never needs many more of them than the
# original had: a rotation grows the canvas (at 45° to twice the pixels), and repeating it would
# otherwise grow a small probe without bound (twelve 45° turns make 150² into 9,798²).
MAX_GROWTH = 2.2  # 45° turns a square into one of twice the area (and a few rounding pixels)


def describe_step(step: dict[str, Any]) -> str:
    params = ", ".join(f"{k} {v}" for k, v in step.items() if k != "op")
    return f"{LABELS.get(step.get('op'), step.get('op'))}" + (f" ({params})" if params else "")


MAX_STEP_PIXELS = 36_000_000  # no step's result may be larger: a 24 MP photo levelled by up to 12°


def apply_steps(
    pixels: np.ndarray, steps: list[dict[str, Any]], max_step_pixels: int = MAX_STEP_PIXELS
) -> np.ndarray:
    """The original (RGB array) with every step applied in order; raises ProcessingError.

    Every step's result is sized before it is computed and refused beyond the budget (twice
    the original, and ``max_step_pixels`` whatever the original), so no chain costs more than
    a bounded amount of memory and CPU: a 49 MP probe turned by 45° once took 95 s and 6.85 GB.
    """
    if len(steps) > MAX_STEPS:
        raise ProcessingError(f"at most {MAX_STEPS} processing steps")
    image = Image.fromarray(pixels)
    limit = min(MAX_GROWTH * image.width * image.height, max(max_step_pixels, image.width * image.height))
    for step in steps:
        operation = OPERATIONS.get(step.get("op")) if isinstance(step, dict) else None
        if operation is None:
            raise ProcessingError(f"unknown processing step {step!r}"[:200])
        if step["op"] == "rotate":  # check the canvas before paying for it
            width, height = _rotated_size(image.size, _ranged(step, "degrees"))
            if width * height > limit:
                bound = (
                    "twice the original" if limit < max_step_pixels else f"the {limit / 1e6:.0f} MP budget"
                )
                raise ProcessingError(
                    f"rotate: the result would be {width}x{height} pixels, more than {bound}; crop to the "
                    "face first, or undo the earlier rotation and rotate once by the whole angle"
                )
        image = operation(image, step).convert("RGB")
    return np.asarray(image, dtype=np.uint8).copy()


def _rotated_size(size: tuple[int, int], degrees: float) -> tuple[int, int]:
    width, height = size
    angle = math.radians(degrees)
    cos, sin = abs(math.cos(angle)), abs(math.sin(angle))
    return math.ceil(width * cos + height * sin), math.ceil(width * sin + height * cos)
