"""Recorded videos attached to a request, and the frames picked from them as probe photos.

A video is kept unchanged with its SHA-256 and never searched. The requester (on a draft) or
the reviewer holding the request steps through it and picks frames; each picked frame becomes
a probe photo that records the video's SHA-256, the frame's number and time, and who picked it,
and goes through every check a photo does. Its provenance starts from the facts stated for the
video, with "recorded" and "extracted from video" true by construction; a camera worn by an
officer is refused for the video as for any photo (PC 832.19).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

from app.extensions import db
from app.matching import video as clips
from app.matching.images import downscaled, encode_jpeg, encode_png
from app.models import ProbeImage, ProbeVideo, RequestStatus, SearchRequest, User
from app.models.requests import clock_time
from app.services.gallery.search import probe_engine
from app.services.intake.probe_images import (
    prepare_photo,
    probe_dir,
    require_own_draft,
    require_upload_allowance,
    safe_name,
    store_prepared,
)
from app.services.intake.requests import local_rules
from app.services.oversight.audit import ObjectType, record_event
from app.services.oversight.reads import record_read
from app.services.platform import storage
from app.services.platform.errors import ServiceError
from app.services.policy import provenance
from app.services.policy.provenance import ImageFacts
from app.services.policy.rules import BODY_WORN
from app.services.review.probes import ensure_works
from app.services.review.workflow import Action, require, why_not

MAX_VIDEOS = 3
FACE_CHECK_MAX_SIDE = 960  # faces shown in a frame are found on a copy this size
VIDEO_EXTENSIONS = {"mov": "mp4", "avi": "avi", "matroska": "mkv"}


@dataclass(frozen=True)
class VideoUpload:
    """A video sent with a form: read from its (spooled) stream, never held whole in memory."""

    filename: str | None
    stream: BinaryIO


@dataclass
class PreparedVideo:
    name: str
    staged: storage.Staged
    info: clips.VideoInfo


def is_video(head: bytes) -> bool:
    return clips.container_of(head) is not None


def prepare_video(upload: VideoUpload, *, actor: User) -> PreparedVideo:
    """Copied to staging, measured and its first frame decoded, before anything is written;
    refused with a message (and nothing kept) unless it is a recording the portal can step."""
    name = safe_name(upload.filename)
    require_upload_allowance(actor, name)
    try:
        staged = storage.stage(upload.stream, limit=clips.MAX_VIDEO_BYTES)
    except storage.TooLarge as exc:
        raise ServiceError(f"{name}: the video is larger than the limit of 200 MB.") from exc
    try:
        info = clips.inspect(staged.path, staged.head)
    except clips.VideoError as exc:
        staged.discard()
        raise ServiceError(f"{name}: {exc.message}") from exc
    return PreparedVideo(name, staged, info)


def video_facts(facts: ImageFacts | None) -> dict:
    """The provenance a video's frames start from: what was stated, with "recorded" and
    "extracted from video" true by construction (a file is a recording, never a stream)."""
    stated = replace(
        facts or ImageFacts(key="new", name=""), mode=provenance.RECORDED, extracted_from_video=True
    )
    return {field: getattr(stated, field) for field in provenance.FACT_FIELDS}


def _refuse_body_worn(name: str, facts: ImageFacts | None) -> None:
    if facts is None or not facts.stated:
        return
    context = provenance.Context("", None, None, local_rules())
    violations, _, _ = provenance.image_violations(replace(facts, name=name), context)
    for violation in violations:
        if violation.clause is BODY_WORN:
            raise ServiceError(violation.message)


def store_video(
    request: SearchRequest,
    prepared: PreparedVideo,
    *,
    actor: User,
    facts: ImageFacts | None,
    answer_id: int | None = None,
) -> ProbeVideo:
    name, staged, info = prepared.name, prepared.staged, prepared.info
    try:
        if len(request.videos) >= MAX_VIDEOS:
            raise ServiceError(f"{name}: a request carries at most {MAX_VIDEOS} videos.")
        if any(v.original_sha256 == staged.sha256 for v in request.videos):
            raise ServiceError(f"{name}: this video is already attached.")
        _refuse_body_worn(name, facts)
    except ServiceError:
        staged.discard()
        raise
    relative = f"{probe_dir(request)}/{staged.sha256}-video.{VIDEO_EXTENSIONS[info.container]}"
    try:
        stored = storage.store_staged(relative, staged)
    except storage.StorageFailure as exc:
        raise ServiceError(
            f"{name}: the video could not be stored (the unit's storage is full or failing)."
        ) from exc
    clip = ProbeVideo(
        request=request,
        original_name=name,
        original_path=stored,
        original_sha256=staged.sha256,
        original_bytes=staged.size,
        container=info.container,
        codec=info.codec[:32],
        width=info.width,
        height=info.height,
        duration_ms=round(info.duration_s * 1000),
        fps_num=info.fps.numerator,
        fps_den=info.fps.denominator,
        frame_count=info.frame_count,
        stated_facts=video_facts(facts),
        uploaded_by_id=actor.id,
        answer_id=answer_id,
    )
    db.session.add(clip)
    db.session.flush()
    record_event(
        "request.video_upload",
        actor=actor,
        object_type=ObjectType.REQUEST,
        object_id=request.id,
        detail={
            "video_id": clip.id,
            "sha256": clip.original_sha256,
            "container": info.label,
            "codec": clip.codec,
            "size": f"{info.width}x{info.height}",
            "duration_ms": clip.duration_ms,
            "frames": info.frame_count,
        },
    )
    return clip


def info_of(clip: ProbeVideo) -> clips.VideoInfo:
    return clips.VideoInfo(
        clip.container,
        clip.codec,
        clip.width,
        clip.height,
        clip.duration_ms / 1000,
        Fraction(clip.fps_num, clip.fps_den),
        clip.frame_count,
    )


def _path(clip: ProbeVideo) -> Path:
    return storage.path_of(clip.original_path)


@dataclass(frozen=True)
class FrameView:
    """One frame as the stepper shows it: where it is, and the faces found in it (boxes in
    fractions of the frame, so the page can draw them over any size)."""

    number: int
    time_ms: int
    faces: list[tuple[float, float, float, float]]
    frame_count: int

    @property
    def label(self) -> str:
        return f"frame {self.number} of {self.frame_count} at {clock_time(self.time_ms)}"


def read_frame(clip: ProbeVideo, number: int) -> clips.Frame:
    try:
        return clips.read_frame(_path(clip), info_of(clip), number)
    except clips.VideoError as exc:
        raise ServiceError(f"{clip.original_name}: {exc.message}") from exc


def frame_view(clip: ProbeVideo, number: int) -> FrameView:
    frame = read_frame(clip, number)
    small = downscaled(frame.pixels, FACE_CHECK_MAX_SIDE)
    height, width = small.shape[:2]
    faces = [
        (box[0] / width, box[1] / height, (box[2] - box[0]) / width, (box[3] - box[1]) / height)
        for box, _ in probe_engine().detect(small, detector="hog")
    ]
    return FrameView(frame.number, round(frame.time_s * 1000), faces, clip.frame_count)


def frame_jpeg(clip: ProbeVideo, number: int, *, actor: User) -> bytes:
    """The frame's pixels for the page (a read of case data, audited)."""
    frame = read_frame(clip, number)
    record_read(
        "request.video_frame_view",
        clip.request,
        actor=actor,
        video_id=clip.id,
        frame=frame.number,
    )
    return encode_jpeg(frame.pixels, quality=90)


def may_pick(request: SearchRequest, actor: User) -> str | None:
    """Why ``actor`` may not pick frames on ``request`` now (None when they may): the requester
    on their own draft; the reviewer holding it while it is claimed."""
    if request.status is RequestStatus.DRAFT:
        return None if request.requester_id == actor.id else "Only the requester picks frames on a draft."
    return why_not(request, actor, Action.PICK_FRAME)


def pick_frame(request: SearchRequest, clip: ProbeVideo, number: int, *, actor: User) -> ProbeImage:
    """Frame ``number`` becomes a probe photo (a lossless PNG of the decoded frame), with the
    video's SHA-256, the frame's number and time and who picked it."""
    if clip.request_id != request.id:
        raise ServiceError("That video belongs to another request.")
    if request.status is RequestStatus.DRAFT:
        require_own_draft(request, actor)
    else:
        require(request, actor, Action.PICK_FRAME)
    frame = read_frame(clip, number)
    stem = Path(clip.original_name).stem[:80] or "video"
    photo = prepare_photo(f"{stem}-frame-{frame.number}.png", encode_png(frame.pixels), actor=actor)
    image = store_prepared(request, photo, actor=actor)
    image.video_id = clip.id
    image.video_sha256 = clip.original_sha256
    image.video_frame_number = frame.number
    image.video_frame_ms = round(frame.time_s * 1000)
    image.picked_by_id = actor.id
    image.answer_id = clip.answer_id
    facts = clip.stated_facts or video_facts(None)
    provenance.store_facts(image, ImageFacts(key=f"image-{image.id}", name=image.original_name, **facts))
    if request.status is not RequestStatus.DRAFT:
        ensure_works(request, actor)
    db.session.flush()
    record_event(
        "request.video_frame_pick",
        actor=actor,
        object_type=ObjectType.REQUEST,
        object_id=request.id,
        detail={
            "video_id": clip.id,
            "video_sha256": clip.original_sha256,
            "frame": frame.number,
            "time_ms": image.video_frame_ms,
            "image_id": image.id,
            "image_sha256": image.original_sha256,
        },
    )
    return image


def remove_video(draft: SearchRequest, clip: ProbeVideo, *, actor: User) -> None:
    """Off a draft; the frames already picked stay photos (they keep the video's SHA-256)."""
    require_own_draft(draft, actor)
    if clip.request_id != draft.id:
        raise ServiceError("That video belongs to another request.")
    for image in clip.frames:
        image.video_id = None
    storage.remove(clip.original_path)
    draft.videos.remove(clip)
    db.session.flush()
    record_event(
        "request.video_remove",
        actor=actor,
        object_type=ObjectType.REQUEST,
        object_id=draft.id,
        detail={"sha256": clip.original_sha256},
    )
