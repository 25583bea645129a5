"""The requester's side as a browser posts it: the request form, filled in validly."""

from __future__ import annotations


def valid_form(user, **overrides) -> dict:
    data = {
        "requester_name": user.full_name,
        "requester_phone": "(555) 010-0100",
        "requester_email": "det@example.invalid",
        "case_number": "HC-2026-0042",
        "reason": "Identify the man who robbed the Main Street liquor store at gunpoint.",
        "purpose": "active_investigation",
        "situation": "On 1 November a man robbed the Main Street liquor store at gunpoint; "
        "the clerk was unhurt.",
        "reasonable_suspicion": "The store's camera shows the robber's face as he points the gun "
        "at the clerk.",
        "crime_type": "robbery",
        "image_taken_place": "Main Street liquor store",
        # where the photos attached with this post came from (each image's stated facts)
        "new-device": "fixed_camera",
        "new-mode": "recorded",
        "new-extracted_from_video": "yes",
        "new-provided_by": "business",
        "new-provided_by_name": "Main Street Liquor",
        "new-legally_obtained": "The store owner gave us the footage voluntarily.",
        "affirmed": "y",
        "signature": user.full_name,
        "printed_name": user.full_name,
        "action": "submit",
    }
    data.update(overrides)
    return data


def submit(auth, data, images=None, url="/requests/new"):
    """Post the form as its buttons do: "submit" to the submit endpoint, others to the form's own."""
    data = dict(data)
    if data.pop("action", "submit") == "submit":
        url = url.rstrip("/") + "/submit"
    if images is not None:
        data["images"] = images
    return auth.post(url, data, token_from="/requests/new", content_type="multipart/form-data")
