"""The aligned view as a transform of the photo itself: the workstation draws the evidence's own
pixels through ``AlignedChip.transform``, so that transform must put every source pixel where
dlib's chip put it, for upright, tilted and small photos alike."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.matching.faces import EngineSettings, FaceEngine
from app.matching.images import load_image
from app.matching.probe import aligned_chip
from tests.support.photos import FACES


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    return FaceEngine(EngineSettings(cnn_fallback=True))


def resampled_through(chip, source: np.ndarray) -> np.ndarray:
    """The chip drawn again from the source through the transform (nearest pixel)."""
    a, b, c, d, e, f = chip.transform
    inverse = np.linalg.inv(np.array([[a, c, e], [b, d, f], [0, 0, 1]]))
    size = chip.pixels.shape[0]
    v, u = np.mgrid[0:size, 0:size] + 0.5
    x = inverse[0, 0] * u + inverse[0, 1] * v + inverse[0, 2]
    y = inverse[1, 0] * u + inverse[1, 1] * v + inverse[1, 2]
    inside = (x >= 0) & (y >= 0) & (x < source.shape[1]) & (y < source.shape[0])
    drawn = np.zeros_like(chip.pixels)
    drawn[inside] = source[np.floor(y[inside]).astype(int), np.floor(x[inside]).astype(int)]
    return drawn, inside


@pytest.mark.parametrize("tilt", [0, 14])
@pytest.mark.parametrize("photo", ["john_simm__1.jpg", "barack_obama__2.jpg"])
def test_the_transform_puts_each_source_pixel_where_the_chip_has_it(engine, photo, tilt):
    image = Image.fromarray(load_image(FACES / photo).pixels).rotate(tilt, expand=True, fillcolor=(0, 0, 0))
    source = np.asarray(image)
    face = engine.analyze(source, describe=False)[0]
    chip = aligned_chip(source, face, engine)
    assert chip.source_size == (source.shape[1], source.shape[0])
    drawn, inside = resampled_through(chip, source)
    error = np.abs(drawn[inside].astype(float) - chip.pixels[inside].astype(float)).mean()
    assert inside.mean() > 0.5 and error < 6, error  # interpolation apart, the same picture
    shifted = np.roll(drawn, 6, axis=1)  # a transform 6 px off is visibly wrong
    assert np.abs(shifted[inside].astype(float) - chip.pixels[inside].astype(float)).mean() > error * 1.5
    # the source's scale in the chip is what the page uses for 1:1
    assert chip.chip_pixels_per_source_pixel == pytest.approx(np.hypot(chip.transform[0], chip.transform[1]))
