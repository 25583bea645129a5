"""From descriptor distance to a 0-100 similarity score.

score = 100 / (1 + exp((distance - 0.6) / 0.05))

A logistic curve centred on dlib's same-person threshold (distance 0.6 scores 50). Each
0.1 of distance either side moves the score a long way: 0.4 → 98, 0.5 → 88, 0.6 → 50,
0.7 → 12, 0.8 → 2. It is a monotone relabelling of the distance for reading a candidate
list, not a probability and never an identification.
"""

from __future__ import annotations

import math

from app.matching.faces import SAME_PERSON_DISTANCE

SCORE_SCALE = 0.05


def similarity_score(distance: float) -> float:
    exponent = (distance - SAME_PERSON_DISTANCE) / SCORE_SCALE
    if exponent > 60:
        return 0.0
    return round(100.0 / (1.0 + math.exp(exponent)), 1)
