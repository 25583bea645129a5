"""The dlib pipeline on real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.matching.faces import PLAIN_SETTINGS, EngineSettings, FaceEngine, model_path
from app.matching.images import load_image
from tests.support.photos import FACES

REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "descriptors"


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    return FaceEngine(EngineSettings())  # the production pipeline


def faces_in(engine: FaceEngine, name: str, **kwargs):
    return engine.analyze(load_image(FACES / name).pixels, **kwargs)


def test_models_come_from_the_package():
    assert model_path("dlib_face_recognition_resnet_model_v1.dat").stat().st_size > 20_000_000


def test_descriptor_is_stable_across_runs(engine):
    first = faces_in(engine, "john_simm__1.jpg")[0].descriptor
    second = faces_in(FaceEngine(EngineSettings()), "john_simm__1.jpg")[0].descriptor
    assert first.shape == (128,) and first.dtype == np.float32
    assert np.array_equal(first, second)
    reference = np.load(REFERENCE / "john_simm__1.npy")  # recorded with dlib-bin 20.0.1
    assert np.abs(first - reference).max() < 1e-4
    plain = faces_in(FaceEngine(PLAIN_SETTINGS), "john_simm__1.jpg")[0].descriptor
    assert np.abs(plain - np.load(REFERENCE / "john_simm__1.plain.npy")).max() < 1e-4


def test_truncated_faces_are_ignored():
    from app.matching.faces import truncated_share

    assert truncated_share((-15, 49, 43, 101), 150, 150) > 0.2
    assert truncated_share((10, 10, 60, 60), 150, 150) == 0


def test_same_person_close_different_people_far(engine):
    obama_1 = faces_in(engine, "barack_obama__1.jpg")[0].descriptor
    obama_2 = faces_in(engine, "barack_obama__2.jpg")[0].descriptor
    biden = faces_in(engine, "joe_biden__1.jpg")[0].descriptor
    assert np.linalg.norm(obama_1 - obama_2) < 0.6 < np.linalg.norm(obama_1 - biden)


def test_face_counts(engine):
    assert len(faces_in(engine, "special/multi__eva_longoria_bradley_cooper.jpg", describe=False)) == 2
    assert faces_in(engine, "special/noface__street_cars.jpg", describe=False) == []
    grey = faces_in(engine, "special/grayscale__grace_hopper.jpg")
    assert len(grey) == 1 and grey[0].descriptor is not None


def test_exif_orientation_matters(engine):
    from PIL import Image

    with Image.open(FACES / "special" / "exif_orientation6__grace_hopper.jpg") as raw:
        sideways = np.asarray(raw.convert("RGB"))
    assert engine.detect(sideways, "hog") == []
    assert len(faces_in(engine, "special/exif_orientation6__grace_hopper.jpg")) == 1


def test_quality_figures(engine):
    sharp = faces_in(engine, "barack_obama__1.jpg")[0].quality
    low = faces_in(engine, "special/lowres__barack_obama.jpg")[0].quality
    assert sharp.face_width_px > 3 * low.face_width_px
    assert sharp.inter_eye_px > 80 and abs(sharp.yaw_deg) < 10 and abs(sharp.roll_deg) < 10
    assert 0 < sharp.brightness < 255 and sharp.contrast > 10 and sharp.sharpness > 0


def test_several_faces_come_largest_first(engine):
    faces = faces_in(engine, "special/multi__barack_obama_joe_biden.jpg", describe=False)
    assert faces[0].area >= faces[1].area


def test_cnn_detector_on_request(engine):
    faces = faces_in(engine, "john_simm__1.jpg", detector="cnn", describe=False)
    assert len(faces) == 1 and faces[0].detector == "cnn"


def test_threads_sharing_one_engine_get_the_serial_answers(engine):
    """gunicorn's threads share the models: concurrent use must neither crash nor mix results."""
    from concurrent.futures import ThreadPoolExecutor

    photos = [load_image(FACES / n).pixels for n in ("john_simm__1.jpg", "john_simm__2.jpg")] * 4
    serial = [engine.analyze(p)[0].descriptor for p in photos]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(lambda p: engine.analyze(p)[0].descriptor, photos))
    for one, other in zip(serial, concurrent, strict=True):
        np.testing.assert_array_equal(one, other)


@pytest.mark.parametrize("size", [(1, 1), (31, 400), (16, 16)])
def test_tiny_photos_have_no_faces_and_no_errors(size):
    """dlib's CNN detector raises on images smaller than its filters; tiny photos hold no face."""
    engine = FaceEngine(EngineSettings(cnn_fallback=True))
    assert engine.analyze(np.zeros((*size, 3), dtype=np.uint8)) == []


def test_analysis_cache_answers_by_content():
    engine = FaceEngine(cache_size=2)
    simm, other = (load_image(FACES / n).pixels for n in ("john_simm__1.jpg", "john_simm__2.jpg"))
    first = engine.analyze(simm)
    again = engine.analyze(simm.copy())  # same content, another array: the remembered faces
    assert again[0] is first[0]
    assert engine.analyze(simm, describe=False)[0] is not first[0]  # another question
    different = engine.analyze(other)
    assert not np.array_equal(different[0].descriptor, first[0].descriptor)
    engine.analyze(np.ascontiguousarray(other[:, ::-1]))  # a third photo evicts the oldest
    assert engine.analyze(simm)[0] is not first[0]


def test_a_changed_model_file_is_refused(tmp_path):
    """Found (finding 15): the dlib model file was not checked; a swapped network would make
    every descriptor, and so every search, someone else's."""
    from app.matching.faces import MODEL_SHA256, ModelFileError, require_pinned

    name = "shape_predictor_5_face_landmarks.dat"
    changed = tmp_path / name
    data = bytearray(model_path(name).read_bytes())
    data[1000] ^= 0xFF
    changed.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="not the released model file"):
        require_pinned(changed, MODEL_SHA256[name])
    require_pinned(model_path(name), MODEL_SHA256[name])  # the released one passes
