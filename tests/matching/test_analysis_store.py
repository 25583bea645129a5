"""Face analyses shared on disk between worker processes."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from app.matching.analysis_store import AnalysisStore
from app.matching.faces import EngineSettings, FaceEngine
from app.matching.images import load_image
from tests.support.photos import FACES


@pytest.fixture(scope="module")
def simm() -> np.ndarray:
    return load_image(FACES / "john_simm__1.jpg").pixels


def refuse_dlib(engine: FaceEngine, monkeypatch) -> None:
    def no_detection(*args, **kwargs):
        raise AssertionError("dlib was asked again")

    monkeypatch.setattr(engine, "detect", no_detection)


def test_another_process_reuses_the_stored_analysis(tmp_path, simm, monkeypatch):
    first = FaceEngine(store=AnalysisStore(tmp_path)).analyze(simm)
    assert len(list(tmp_path.glob("*/*.npz"))) == 1
    # a second worker: its own memory is empty, the disk answers exactly as dlib did
    second = FaceEngine(cache_size=4, store=AnalysisStore(tmp_path))
    refuse_dlib(second, monkeypatch)
    again = second.analyze(simm.copy())
    assert len(again) == len(first) == 1
    assert again[0].box == first[0].box and again[0].detector == first[0].detector
    assert again[0].landmarks == first[0].landmarks and again[0].quality == first[0].quality
    np.testing.assert_array_equal(again[0].descriptor, first[0].descriptor)
    assert again[0].descriptor.dtype == np.float32


def test_the_question_and_the_settings_are_part_of_the_key(tmp_path, simm):
    store = AnalysisStore(tmp_path)
    FaceEngine(store=store).analyze(simm)
    FaceEngine(store=store).analyze(simm, describe=False)
    assert FaceEngine(store=store).analyze(simm, describe=False)[0].descriptor is None
    FaceEngine(EngineSettings(flip=False), store=store).analyze(simm)
    brighter = np.clip(simm.astype(int) + 1, 0, 255).astype(np.uint8)
    FaceEngine(store=store).analyze(brighter)
    assert len(list(tmp_path.glob("*/*.npz"))) == 4


def test_photos_without_faces_are_remembered_too(tmp_path, monkeypatch):
    blank = np.full((200, 200, 3), 128, dtype=np.uint8)
    assert FaceEngine(store=AnalysisStore(tmp_path)).analyze(blank) == []
    engine = FaceEngine(store=AnalysisStore(tmp_path))
    refuse_dlib(engine, monkeypatch)
    assert engine.analyze(blank) == []


def test_a_damaged_entry_is_analysed_again_and_replaced(tmp_path, simm):
    store = AnalysisStore(tmp_path)
    expected = FaceEngine(store=store).analyze(simm)[0].descriptor
    (entry,) = tmp_path.glob("*/*.npz")
    entry.write_bytes(entry.read_bytes()[:100])
    again = FaceEngine(store=store).analyze(simm)
    np.testing.assert_array_equal(again[0].descriptor, expected)
    assert entry.stat().st_size > 1000  # written whole again


def test_entries_expire_and_stay_bounded(tmp_path, simm, monkeypatch):
    store = AnalysisStore(tmp_path, max_entries=3, max_age_days=1)
    engine = FaceEngine(store=store)
    engine.analyze(simm)
    (entry,) = tmp_path.glob("*/*.npz")
    two_days_ago = time.time() - 2 * 86_400
    os.utime(entry, (two_days_ago, two_days_ago))
    calls = []
    real_detect = engine.detect
    monkeypatch.setattr(engine, "detect", lambda *a, **k: calls.append(1) or real_detect(*a, **k))
    engine.analyze(simm)
    assert calls == [1]  # too old to answer: analysed afresh
    for shade in range(5):
        store.put(f"{shade:02d}" + "0" * 38, [])
    assert store.prune() == 3
    assert len(list(tmp_path.glob("*/*"))) == 3
