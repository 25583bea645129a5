"""Searching the enrolled test gallery directly."""

from __future__ import annotations

from app.matching.images import load_image
from app.services.gallery import search as matching
from tests.gallery import (
    FACES,
)


def search_file(name: str, top_k: int = 20) -> matching.SearchResult:
    faces = matching.describe_probe(load_image(FACES / name).pixels)
    return matching.search_descriptor(faces[0].descriptor, top_k)
