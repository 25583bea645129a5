"""Probe processing a facial reviewer may apply, step by step, to a copy of the probe.

Only operations that change how existing pixels look: nothing paints, pastes or adds
content. Each step is ``{"op": name, ...params}``; a chain is applied in order to the
original, so the same chain always gives the same pixels.
"""

from __future__ import annotations

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


def _rotate(image: Image.Image, step: dict) -> Image.Image:
    degrees = _number(step, "degrees", -180, 180)
    # Counter-clockwise, canvas grown so no pixel is cut off; the new corners are black.
    return image.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True)


def _brightness(image: Image.Image, step: dict) -> Image.Image:
    return ImageEnhance.Brightness(image).enhance(_number(step, "factor", 0.2, 3.0))


def _contrast(image: Image.Image, step: dict) -> Image.Image:
    return ImageEnhance.Contrast(image).enhance(_number(step, "factor", 0.2, 3.0))


def _gamma(image: Image.Image, step: dict) -> Image.Image:
    gamma = _number(step, "value", 0.2, 5.0)
    table = [round(255 * (i / 255) ** (1 / gamma)) for i in range(256)] * len(image.getbands())
    return image.point(table)


def _equalize(image: Image.Image, step: dict) -> Image.Image:
    return ImageOps.equalize(image)


def _grayscale(image: Image.Image, step: dict) -> Image.Image:
    return ImageOps.grayscale(image).convert("RGB")


def _sharpen(image: Image.Image, step: dict) -> Image.Image:
    amount = _number(step, "amount", 0, 300)
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


def describe_step(step: dict[str, Any]) -> str:
    params = ", ".join(f"{k} {v}" for k, v in step.items() if k != "op")
    return f"{LABELS.get(step.get('op'), step.get('op'))}" + (f" ({params})" if params else "")


def apply_steps(pixels: np.ndarray, steps: list[dict[str, Any]]) -> np.ndarray:
    """The original (RGB array) with every step applied in order; raises ProcessingError."""
    if len(steps) > MAX_STEPS:
        raise ProcessingError(f"at most {MAX_STEPS} processing steps")
    image = Image.fromarray(pixels)
    for step in steps:
        operation = OPERATIONS.get(step.get("op"))
        if operation is None:
            raise ProcessingError(f"unknown processing step {step.get('op')!r}")
        image = operation(image, step).convert("RGB")
    return np.asarray(image, dtype=np.uint8).copy()
