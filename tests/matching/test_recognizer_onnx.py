"""dlib's recogniser run by ONNX Runtime: the same descriptors as dlib's own, or none at all."""

from __future__ import annotations

import numpy as np
import pytest

from app.matching.faces import EngineSettings, FaceEngine, model_path
from app.matching.images import load_image
from app.matching.recognizer_onnx import ModelFormatError, OnnxRecognizer, read_dlib_network, to_onnx
from tests.support.photos import FACES

RESNET = model_path("dlib_face_recognition_resnet_model_v1.dat")


@pytest.fixture(scope="module")
def fixture_chips() -> list[np.ndarray]:
    """The aligned chip of every face in every fixture photo, and each one mirrored."""
    engine = FaceEngine(EngineSettings())
    chips = []
    for photo in sorted(FACES.glob("*.*")):
        if photo.suffix.lower() not in (".jpg", ".jpeg", ".png"):
            continue
        for face in engine.analyze(load_image(photo).pixels, describe=False, keep_chip=True):
            chips += [np.ascontiguousarray(face.chip), np.ascontiguousarray(face.chip[:, ::-1])]
    return chips


def test_onnx_descriptors_match_dlibs_on_every_fixture_face(fixture_chips):
    import dlib

    assert len(fixture_chips) >= 60
    recognizer = dlib.face_recognition_model_v1(str(RESNET))
    expected = np.array([np.asarray(v) for v in recognizer.compute_face_descriptor(fixture_chips, 0)])
    batched = OnnxRecognizer(RESNET).describe(fixture_chips)
    assert batched.shape == (len(fixture_chips), 128)
    assert np.abs(batched - expected).max() <= 1e-4
    one_by_one = np.concatenate([OnnxRecognizer(RESNET).describe([chip]) for chip in fixture_chips[:6]])
    assert np.abs(one_by_one - expected[:6]).max() <= 1e-4


def test_the_engine_gives_the_same_template_whichever_runtime_runs_the_network():
    pixels = load_image(FACES / "john_simm__1.jpg").pixels
    onnx = FaceEngine(EngineSettings(runtime="onnx")).analyze(pixels)[0].descriptor
    dlib_own = FaceEngine(EngineSettings(runtime="dlib")).analyze(pixels)[0].descriptor
    assert onnx.dtype == np.float32 and onnx.shape == (128,)
    assert np.abs(onnx - dlib_own).max() <= 1e-4
    assert EngineSettings(runtime="onnx").model_id == EngineSettings(runtime="dlib").model_id


def test_the_converted_network_is_dlibs_resnet():
    network = read_dlib_network(RESNET)
    kinds = [layer.kind for layer in network.layers]
    assert network.size == 150
    assert kinds.count("conv") == 29 and kinds.count("add_prev") == 14 and kinds[-1] == "fc"
    assert network.layers[-1].weights.shape == (256, 128)
    graph = to_onnx(network).graph
    assert [o.name for o in graph.output] == ["descriptors"]


def test_a_file_that_is_not_the_resnet_is_refused(tmp_path):
    with pytest.raises(ModelFormatError):
        read_dlib_network(model_path("shape_predictor_5_face_landmarks.dat"))
    truncated = tmp_path / "truncated.dat"
    truncated.write_bytes(RESNET.read_bytes()[:1_000_000])
    with pytest.raises(ModelFormatError):
        read_dlib_network(truncated)


def test_an_unknown_runtime_is_refused():
    with pytest.raises(ValueError, match="runtime"):
        EngineSettings(runtime="tensorflow")


def test_converting_twice_gives_the_same_graph():
    network = read_dlib_network(RESNET)
    assert to_onnx(network).SerializeToString() == to_onnx(network).SerializeToString()
