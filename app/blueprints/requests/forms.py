"""The Facial Recognition Search Request form; labels are the seed form's wording."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from app.blueprints.common import choices
from app.services import policy
from app.services.probe_images import MAX_IMAGE_BYTES, Upload
from app.services.requests import TEXT_FIELDS, DraftFields

YES_NO = {"yes": "Yes", "no": "No"}
PHOTO_TYPES = {"accept": "image/jpeg,image/png,image/tiff,image/heic,image/heif"}


def _yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def _answer(value: bool | None) -> str | None:
    return {True: "yes", False: "no"}.get(value)


def uploads_of(field) -> list[Upload]:
    """The photos sent with a form (a browser sends an empty part when none was chosen)."""
    uploads = []
    for upload in field.data or []:
        if not hasattr(upload, "stream"):
            continue
        data = upload.stream.read(MAX_IMAGE_BYTES + 1)  # one byte past the limit is enough to refuse
        if upload.filename or data:
            uploads.append(Upload(upload.filename, data))
    return uploads


class SearchRequestForm(FlaskForm):
    requester_name = StringField("Requester Name", validators=[Length(max=200)])
    requester_phone = StringField("Requester Phone Number", validators=[Length(max=40)])
    requester_email = StringField("Requester Email", validators=[Length(max=254)])
    case_number = StringField(
        "Case/File Number",
        validators=[Length(max=60)],
        description="Required unless the purpose is an identification.",
    )
    reason = TextAreaField("Reason for search", description="What the search is for, in a few sentences.")
    purpose = RadioField("Purpose of the search", choices=choices(policy.PURPOSES), validate_choice=False)
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
    situation = TextAreaField("Situation description")
    reasonable_suspicion = TextAreaField(
        "Circumstances amounting to reasonable suspicion",
        description="Required for every purpose: why the search will provide relevant information.",
    )
    crime_type = SelectField(
        "File class / crime type (if available)",
        choices=choices(policy.CRIME_TYPES, "Not available"),
        validate_choice=False,
    )
    crime_type_other = StringField("Other crime type", validators=[Length(max=200)])
    person_condition = TextAreaField(
        "What is known of the person's condition",
        description="For identifying a deceased person or a person unable to identify themselves.",
    )
    image_source = SelectField(
        "Source image obtained from", choices=choices(policy.IMAGE_SOURCES, "Choose…"), validate_choice=False
    )
    image_source_other = StringField("Other source", validators=[Length(max=200)])
    legally_obtained = TextAreaField("How the image was legally obtained")
    image_taken_on = DateField("Date the image was taken (if known)", validators=[Optional()])
    image_taken_place = StringField("Place the image was taken (if known)", validators=[Length(max=200)])
    extracted_from_video = RadioField(
        "Image extracted from video?", choices=choices(YES_NO), validate_choice=False
    )
    images = MultipleFileField(
        "Images",
        description="1 to 10 photos: JPEG, PNG, TIFF or HEIC, at most 20 MB each.",
        render_kw=PHOTO_TYPES,
    )
    affirmed = BooleanField(policy.AFFIRMATION)
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

    @classmethod
    def from_draft(cls, draft) -> SearchRequestForm:
        form = cls(obj=draft)
        form.extracted_from_video.data = _answer(draft.extracted_from_video)
        form.threat_to_life.data = _answer(draft.threat_to_life)
        form.person_at_risk.data = _answer(draft.person_at_risk)
        return form

    def draft_fields(self) -> DraftFields:
        return DraftFields(
            values={name: getattr(self, name).data or "" for name in TEXT_FIELDS},
            extracted_from_video=_yes_no(self.extracted_from_video.data),
            image_taken_on=self.image_taken_on.data,
            affirmed=bool(self.affirmed.data),
            threat_to_life=_yes_no(self.threat_to_life.data),
            person_at_risk=_yes_no(self.person_at_risk.data),
        )

    def uploads(self) -> list[Upload]:
        return uploads_of(self.images)


class WithdrawForm(FlaskForm):
    reason = StringField("Why withdraw it", validators=[Length(max=500)])


class AnswerForm(FlaskForm):
    body = TextAreaField("Your answer", validators=[Length(max=5000)])
    images = MultipleFileField(
        "New photos (optional)",
        description="They go through the same checks as the first ones.",
        render_kw=PHOTO_TYPES,
    )

    def uploads(self) -> list[Upload]:
        return uploads_of(self.images)
