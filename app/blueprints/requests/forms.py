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
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from app.services import policy


def _choices(mapping: dict[str, str], prompt: str | None = None) -> list[SelectChoice]:
    options = [SelectChoice(value, label) for value, label in mapping.items()]
    return [SelectChoice("", prompt), *options] if prompt else options


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
    purpose = RadioField("Purpose of the search", choices=_choices(policy.PURPOSES), validate_choice=False)
    situation = TextAreaField("Situation description")
    reasonable_suspicion = TextAreaField(
        "Circumstances amounting to reasonable suspicion",
        description="Required for an active investigation or an imminent threat.",
    )
    crime_type = SelectField(
        "File class / crime type", choices=_choices(policy.CRIME_TYPES, "Choose…"), validate_choice=False
    )
    crime_type_other = StringField("Other crime type", validators=[Length(max=200)])
    person_condition = TextAreaField(
        "What is known of the person's condition",
        description="For identifying a deceased person or a person unable to identify themselves.",
    )
    image_source = SelectField(
        "Source image obtained from", choices=_choices(policy.IMAGE_SOURCES, "Choose…"), validate_choice=False
    )
    image_source_other = StringField("Other source", validators=[Length(max=200)])
    legally_obtained = TextAreaField("How the image was legally obtained")
    image_taken_on = DateField("Date the image was taken (if known)", validators=[Optional()])
    image_taken_place = StringField("Place the image was taken (if known)", validators=[Length(max=200)])
    extracted_from_video = RadioField(
        "Image extracted from video?", choices=_choices({"yes": "Yes", "no": "No"}), validate_choice=False
    )
    images = MultipleFileField(
        "Images",
        description="1 to 10 photos: JPEG, PNG, TIFF or HEIC, at most 20 MB each.",
        render_kw={"accept": "image/jpeg,image/png,image/tiff,image/heic,image/heif"},
    )
    affirmed = BooleanField(policy.AFFIRMATION)
    signature = StringField(
        "Requestor Signature",
        validators=[Length(max=200)],
        description="Type your full name as it appears on your account.",
    )
    printed_name = StringField("Printed Name", validators=[Length(max=200)])


class WithdrawForm(FlaskForm):
    reason = StringField("Why withdraw it", validators=[Length(max=500)])


class AnswerForm(FlaskForm):
    body = TextAreaField("Your answer", validators=[Length(max=5000)])
