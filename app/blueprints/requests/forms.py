"""The Facial Recognition Search Request form; labels are the seed form's wording."""

from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Form,
    FormField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from app.blueprints.common import choices
from app.services.intake.probe_images import MAX_IMAGE_BYTES, Upload
from app.services.intake.requests import TEXT_FIELDS, DraftFields
from app.services.intake.videos import VideoUpload, is_video
from app.services.policy import provenance, rules
from app.services.policy.provenance import ImageFacts

YES_NO = {"yes": "Yes", "no": "No"}
PHOTO_TYPES = {
    "accept": "image/jpeg,image/png,image/tiff,image/heic,image/heif,"
    "video/mp4,video/quicktime,video/x-m4v,video/x-msvideo,video/x-matroska,video/webm,"
    ".mp4,.mov,.m4v,.avi,.mkv,.webm"
}


def _yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def _answer(value: bool | None) -> str | None:
    return {True: "yes", False: "no"}.get(value)


def uploads_of(field) -> list[Upload | VideoUpload]:
    """The photos and videos sent with a form (a browser sends an empty part when none was
    chosen); which is which is decided from the first bytes, never the name."""
    uploads: list[Upload | VideoUpload] = []
    for upload in field.data or []:
        if not hasattr(upload, "stream"):
            continue
        head = upload.stream.read(16)
        upload.stream.seek(0)
        if is_video(head):  # streamed to staging by the service, never read whole here
            uploads.append(VideoUpload(upload.filename, upload.stream))
            continue
        data = upload.stream.read(MAX_IMAGE_BYTES + 1)  # one byte past the limit is enough to refuse
        if upload.filename or data:
            uploads.append(Upload(upload.filename, data))
    return uploads


class ProvenanceForm(Form):
    """Where one image came from, stated as facts. Prefixed by the image it is about
    ("image-12-device"), or "new-" for the photos being attached now."""

    device = SelectField(
        "Source image obtained from",
        choices=choices(provenance.CAPTURE_DEVICES, "Choose…"),
        validate_choice=False,
        description="What captured the image.",
    )
    device_other = StringField("Other source (describe)", validators=[Length(max=200)])
    mode = RadioField("Live or recorded?", choices=choices(provenance.CAPTURE_MODES), validate_choice=False)
    extracted_from_video = RadioField(
        "Image extracted from video?", choices=choices(YES_NO), validate_choice=False
    )
    provided_by = SelectField(
        "Provided by", choices=choices(provenance.PROVIDERS, "Choose…"), validate_choice=False
    )
    provided_by_name = StringField("Name or organisation (optional)", validators=[Length(max=200)])
    legally_obtained = TextAreaField("How the image was legally obtained", validators=[Length(max=2000)])

    def facts(self, key: str) -> ImageFacts:
        return ImageFacts(
            key=key,
            name="",
            device=self.device.data or "",
            device_other=self.device_other.data or "",
            mode=self.mode.data or "",
            extracted_from_video=_yes_no(self.extracted_from_video.data),
            provided_by=self.provided_by.data or "",
            provided_by_name=self.provided_by_name.data or "",
            legally_obtained=self.legally_obtained.data or "",
        )

    @staticmethod
    def data_of(image) -> dict:
        facts = provenance.facts_of(image)
        return {
            "device": facts.device,
            "device_other": facts.device_other,
            "mode": facts.mode,
            "extracted_from_video": _answer(facts.extracted_from_video),
            "provided_by": facts.provided_by,
            "provided_by_name": facts.provided_by_name,
            "legally_obtained": facts.legally_obtained,
        }


class SearchRequestForm(FlaskForm):
    requester_name = StringField("Requester Name", validators=[Length(max=200)])
    requester_phone = StringField("Requester Phone Number", validators=[Length(max=40)])
    requester_email = StringField("Requester Email", validators=[Length(max=254)])
    case_number = StringField(
        "Case/File Number",
        validators=[Length(max=60)],
        description="Required unless the purpose is an identification.",
    )
    reason = TextAreaField(
        "Reason for search",
        validators=[Length(max=TEXT_FIELDS["reason"])],
        description="What the search is for, in a few sentences.",
    )
    purpose = RadioField("Purpose of the search", choices=choices(rules.PURPOSES), validate_choice=False)
    threat_to_life = RadioField(
        "Is there an imminent threat to life?",
        choices=choices(YES_NO),
        validate_choice=False,
        description="Surveillance images are searched for an imminent threat only if it is to life.",
    )
    person_at_risk = RadioField(
        "Is the person at risk (their health or safety)?",
        choices=choices(YES_NO),
        validate_choice=False,
        description="For an identification: live video may be searched for an at-risk person.",
    )
    situation = TextAreaField("Situation description", validators=[Length(max=TEXT_FIELDS["situation"])])
    reasonable_suspicion = TextAreaField(
        "Circumstances amounting to reasonable suspicion",
        validators=[Length(max=TEXT_FIELDS["reasonable_suspicion"])],
        description="Required for every purpose: why the search will provide relevant information.",
    )
    crime_type = SelectField(
        "File class / crime type (if available)",
        choices=choices(rules.CRIME_TYPES, "Not available"),
        validate_choice=False,
    )
    crime_type_other = StringField("Other crime type", validators=[Length(max=200)])
    person_condition = TextAreaField(
        "What is known of the person's condition",
        validators=[Length(max=TEXT_FIELDS["person_condition"])],
        description="For identifying a deceased person or a person unable to identify themselves.",
    )
    image_taken_on = DateField("Date the image was taken (if known)", validators=[Optional()])
    image_taken_place = StringField("Place the image was taken (if known)", validators=[Length(max=200)])
    new = FormField(ProvenanceForm, separator="-")  # for the photos attached with this post
    images = MultipleFileField(
        "Images",
        description="1 to 10 photos: JPEG, PNG, TIFF or HEIC, at most 20 MB each. Or a recorded video "
        "(MP4, MOV, M4V, AVI, MKV or WEBM, at most 200 MB) to pick frames from: the video itself is "
        "never searched.",
        render_kw=PHOTO_TYPES,
    )
    affirmed = BooleanField(rules.AFFIRMATION)
    signature = StringField(
        "Requestor Signature",
        validators=[Length(max=200)],
        description="Type your full name as it appears on your account.",
    )
    printed_name = StringField("Printed Name", validators=[Length(max=200)])

    def prefill(self, user) -> None:
        self.requester_name.data = user.full_name
        self.requester_email.data = user.email
        self.requester_phone.data = user.phone
        self.printed_name.data = user.full_name

    image_forms: dict[int, ProvenanceForm]

    @classmethod
    def from_draft(cls, draft) -> SearchRequestForm:
        form = cls(obj=draft)
        form.threat_to_life.data = _answer(draft.threat_to_life)
        form.person_at_risk.data = _answer(draft.person_at_risk)
        form.image_forms = {
            image.id: ProvenanceForm(data=ProvenanceForm.data_of(image), prefix=f"image-{image.id}")
            for image in draft.images
        }
        return form

    def bind_images(self, draft) -> SearchRequestForm:
        """Each attached image's provenance as posted (keyed by the image, never by position)."""
        images = draft.images if draft is not None else []
        self.image_forms = {
            image.id: ProvenanceForm(request.form, prefix=f"image-{image.id}")
            if f"image-{image.id}-device" in request.form
            else ProvenanceForm(data=ProvenanceForm.data_of(image), prefix=f"image-{image.id}")
            for image in images
        }
        return self

    def field_named(self, name: str):
        """The field a refusal names: the form's own, or one image's ("image-12-device")."""
        if name in self._fields:
            return self[name]
        for image_id, sub in getattr(self, "image_forms", {}).items():
            prefix = f"image-{image_id}-"
            if name.startswith(prefix) and name.removeprefix(prefix) in sub._fields:
                return sub[name.removeprefix(prefix)]
        return None

    def draft_fields(self) -> DraftFields:
        return DraftFields(
            values={name: getattr(self, name).data or "" for name in TEXT_FIELDS},
            image_taken_on=self.image_taken_on.data,
            affirmed=bool(self.affirmed.data),
            threat_to_life=_yes_no(self.threat_to_life.data),
            person_at_risk=_yes_no(self.person_at_risk.data),
            image_facts={
                image_id: sub.facts(f"image-{image_id}")
                for image_id, sub in getattr(self, "image_forms", {}).items()
            },
            new_facts=self.new.form.facts("new"),
        )

    def uploads(self) -> list[Upload | VideoUpload]:
        return uploads_of(self.images)


class WithdrawForm(FlaskForm):
    reason = StringField("Why withdraw it", validators=[Length(max=500)])
    confirm = BooleanField(
        "Yes, withdraw it: the unit stops all work on it, and it cannot be sent again",
        validators=[DataRequired()],
    )


class AnswerForm(FlaskForm):
    body = TextAreaField("Your answer", validators=[Length(max=5000)])
    images = MultipleFileField(
        "New photos or a recorded video (optional)",
        description="They go through the same checks as the first ones; the reviewer picks a video's frames.",
        render_kw=PHOTO_TYPES,
    )
    new = FormField(ProvenanceForm, separator="-")

    def facts(self) -> ImageFacts:
        return self.new.form.facts("new")

    def uploads(self) -> list[Upload | VideoUpload]:
        return uploads_of(self.images)
