"""A plain verdict on a probe face from its quality figures: suitable, marginal, unsuitable.

Thresholds, with why:
- inter-eye distance: dlib's recogniser works on a 150 px chip in which the eyes sit about
  60 px apart; under 20 px the chip is mostly interpolation (unsuitable), under 40 px
  detail is thin (marginal). FISWG image-quality guidance asks for more for comparison.
- yaw beyond 45° hides half the face from a frontal model (unsuitable), beyond 25° it
  degrades (marginal); roll is fixable by rotating the probe, so it is only marginal.
- sharpness (variance of the Laplacian on the chip): under 15 the chip is a blur.
- brightness and contrast outside the ranges below lose features in shadow or glare.
"""

from __future__ import annotations

from app.matching.faces import FaceQuality

SUITABLE, MARGINAL, UNSUITABLE = "suitable", "marginal", "unsuitable"


def assess(quality: FaceQuality | None) -> tuple[str, list[str]]:
    if quality is None:
        return UNSUITABLE, ["no face found (place the eyes by hand, or crop and rotate first)"]
    bad: list[str] = []
    weak: list[str] = []
    if quality.inter_eye_px < 20:
        bad.append(f"eyes only {quality.inter_eye_px:.0f} px apart (need 20+)")
    elif quality.inter_eye_px < 40:
        weak.append(f"eyes {quality.inter_eye_px:.0f} px apart (40+ is better)")
    if abs(quality.yaw_deg) > 45:
        bad.append(f"face turned about {abs(quality.yaw_deg):.0f}° (frontal search needs under 45°)")
    elif abs(quality.yaw_deg) > 25:
        weak.append(f"face turned about {abs(quality.yaw_deg):.0f}°")
    if abs(quality.roll_deg) > 20:
        weak.append(f"head tilted {abs(quality.roll_deg):.0f}° (rotate the probe)")
    if quality.sharpness < 15:
        bad.append("the face is blurred")
    elif quality.sharpness < 50:
        weak.append("the face is soft")
    if not 40 <= quality.brightness <= 220:
        weak.append("too dark" if quality.brightness < 40 else "too bright")
    if quality.contrast < 20:
        weak.append("low contrast")
    if bad:
        return UNSUITABLE, bad + weak
    if weak:
        return MARGINAL, weak
    return SUITABLE, []
