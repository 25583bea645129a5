"""One form per reviewer action, every value typed and range-checked."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.blueprints.common import CsrfForm as ActionForm  # noqa: F401 - claim, release, verify
from app.blueprints.common import QueryForm, choices
from app.matching.processing import PARAMETER_RANGES
from app.models import Conclusion, DecisionOutcome, ReviewState
from app.services.review import intake
from app.services.review.examinations import CHECKLIST_MARKS, FEATURE_KEYS, FISWG_FEATURES

MAX_ID = 2**31 - 1  # ids arrive as text: anything larger is not an id (and would overflow a query)


class QueueFilterForm(QueryForm):
    state = SelectField(
        "State",
        choices=[SelectChoice("", "Open"), *(SelectChoice(s.value, s.label) for s in ReviewState)],
        validators=[Optional()],
    )
    agency = IntegerField("Agency", validators=[Optional(), NumberRange(1, MAX_ID)])
    reviewer = IntegerField("Reviewer", validators=[Optional(), NumberRange(1, MAX_ID)])


class QuestionForm(FlaskForm):
    question = TextAreaField("Question for the requester", validators=[DataRequired(), Length(10, 5000)])


class RejectForm(FlaskForm):
    clause = StringField("Policy clause", validators=[DataRequired(), Length(max=500)])
    note = TextAreaField("Note to the requester", validators=[DataRequired(), Length(10, 5000)])


class ReassignForm(FlaskForm):
    reviewer_id = SelectField("Reviewer", coerce=int, validators=[InputRequired()])
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])


# --- probe processing: one form per step -----------------------------------------------------


class CropForm(FlaskForm):
    left = IntegerField("Left", validators=[InputRequired(), NumberRange(0, 100_000)])
    top = IntegerField("Top", validators=[InputRequired(), NumberRange(0, 100_000)])
    right = IntegerField("Right", validators=[InputRequired(), NumberRange(1, 100_000)])
    bottom = IntegerField("Bottom", validators=[InputRequired(), NumberRange(1, 100_000)])


class PlainStepForm(FlaskForm):
    """Steps without parameters (histogram equalization, grayscale)."""


LABELS = {
    "degrees": "Degrees (counter-clockwise)",
    "factor": "Factor (1 = unchanged)",
    "value": "Gamma (1 = unchanged)",
    "amount": "Sharpen amount (%)",
}


def _ranged_form(op: str) -> type[FlaskForm]:
    fields = {
        name: DecimalField(
            LABELS[name],
            places=None,
            validators=[InputRequired(message="Enter a number."), NumberRange(low, high)],
            render_kw={"min": low, "max": high, "step": "any"},
        )
        for name, (low, high) in PARAMETER_RANGES[op].items()
    }
    return type(f"{op.title()}Form", (FlaskForm,), fields)


STEP_FORMS: dict[str, type[FlaskForm]] = {
    "crop": CropForm,
    "equalize": PlainStepForm,
    "grayscale": PlainStepForm,
    **{op: _ranged_form(op) for op in PARAMETER_RANGES},
}


def step_from(op: str, form: FlaskForm) -> dict:
    step: dict = {"op": op}
    for name, field in form._fields.items():
        if name != "csrf_token":
            step[name] = float(field.data) if not isinstance(field.data, int) else field.data
    return step


class FaceChoiceForm(FlaskForm):
    face_index = IntegerField("Face", validators=[InputRequired(), NumberRange(0, 99)])


class EyesForm(FlaskForm):
    left_x = IntegerField("Left eye x", validators=[InputRequired(), NumberRange(0, 100_000)])
    left_y = IntegerField("Left eye y", validators=[InputRequired(), NumberRange(0, 100_000)])
    right_x = IntegerField("Right eye x", validators=[InputRequired(), NumberRange(0, 100_000)])
    right_y = IntegerField("Right eye y", validators=[InputRequired(), NumberRange(0, 100_000)])


# --- searching, examining, deciding ------------------------------------------------------------


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SearchForm(FlaskForm):
    work_id = MultiCheckboxField("Probes to search", coerce=int, validators=[DataRequired("Choose a probe.")])
    top_k = IntegerField("Candidates (K)", default=20, validators=[InputRequired(), NumberRange(1, 50)])
    override_reason = TextAreaField(
        "Why search a probe judged unsuitable (only then)", validators=[Optional(), Length(max=2000)]
    )
    # The other units' repositories (the interconnect); this unit's own is always searched.
    repositories = MultiCheckboxField("Other repositories to search", validators=[Optional()])


def repository_choices() -> list[SelectChoice]:
    from app.services.interconnect.peers import enabled_peers

    return [SelectChoice(p.name, p.name) for p in enabled_peers()]


class FeatureForm(Form):
    """One FISWG feature: a mark and a note (a sub-form: the page's CSRF token covers it)."""

    mark = RadioField(
        choices=[SelectChoice(k, v) for k, v in CHECKLIST_MARKS.items()], validators=[Optional()]
    )
    note = StringField(validators=[Optional(), Length(max=500)])


class ChecklistForm(FlaskForm):
    """The FISWG checklist: one sub-form per feature, named by the feature's key
    ("feature_nose-mark"), so a mark can only ever be the one its feature was given."""

    note = TextAreaField("Examination note", validators=[Optional(), Length(max=5000)])
    conclusion = RadioField(
        "Conclusion for this candidate",
        choices=[
            *(SelectChoice(c.value, c.label) for c in Conclusion),
            SelectChoice("", "Not yet (save the checklist only)"),
        ],
        default="",
        validators=[Optional()],
    )

    # Set by the workstation's script (app/static/js/examination.js); checked by the service.
    view_adjustments = HiddenField(validators=[Optional(), Length(max=200_000)])
    annotations = HiddenField(validators=[Optional(), Length(max=200_000)])

    def checklist(self, posted) -> dict[str, dict]:
        """Each feature's mark and note by its name. A feature whose fields were not in the post
        (``posted``: the form data) is left out, and the service refuses the checklist: a mark
        is never taken from another feature's place."""
        return {
            name: {
                "mark": self[f"feature_{key}"].form.mark.data or "",
                "note": self[f"feature_{key}"].form.note.data or "",
            }
            for key, name in FEATURE_KEYS.items()
            if f"feature_{key}-note" in posted
        }

    def features(self) -> list[tuple[str, FormField]]:
        return [(name, self[f"feature_{key}"]) for key, name in FEATURE_KEYS.items()]


for _key, _name in FEATURE_KEYS.items():
    setattr(ChecklistForm, f"feature_{_key}", FormField(FeatureForm, label=_name))


class ReexamineForm(FlaskForm):
    reason = TextAreaField("Why examine this candidate again", validators=[DataRequired(), Length(10, 2000)])


class DecisionForm(FlaskForm):
    outcome = SelectField(
        "Decision",
        choices=[SelectChoice(o.value, o.label) for o in DecisionOutcome],
        validators=[InputRequired()],
    )
    search_id = IntegerField(validators=[InputRequired(), NumberRange(1, MAX_ID)])
    examination_id = IntegerField(
        "Lead candidate (for an investigative lead)", validators=[Optional(), NumberRange(1, MAX_ID)]
    )
    comments = TextAreaField("Comments", validators=[Optional(), Length(max=5000)])
    confirm_unexamined = BooleanField("No possible match, though I compared none of the candidates")


class ExcludeForm(FlaskForm):
    feature = SelectField("Dissimilar feature", choices=choices(((f, f) for f in FISWG_FEATURES), "Choose…"))
    note = StringField("What differs (optional)", validators=[Optional(), Length(max=500)])
    view_adjustments = HiddenField(validators=[Optional(), Length(max=200_000)])
    annotations = HiddenField(validators=[Optional(), Length(max=200_000)])


class ImageDeterminationForm(Form):
    """The reviewer's determination on one image's stated source, prefixed "image-<id>"."""

    decision = RadioField(
        "The stated source",
        choices=choices(
            {
                intake.CONFIRM: "Fits what I see: confirm it",
                intake.REFUSE: "Does not fit, or is forbidden: refuse this image",
            }
        ),
        validate_choice=False,
    )
    clause = SelectField(
        "Clause (when refusing)", choices=choices(intake.REFUSAL_CLAUSES, "Choose…"), validate_choice=False
    )
    note = TextAreaField("Your reason", validators=[Length(max=2000)])

    def determination(self, image_id: int) -> intake.ImageDetermination:
        return intake.ImageDetermination(
            image_id, self.decision.data or "", self.note.data or "", self.clause.data or ""
        )


class ScreeningForm(FlaskForm):
    """Before any search: each pending image's source, and the First Amendment."""

    fa_confirm = BooleanField(
        "I have read the whole request: the search is not based solely on religious, political or social "
        "views or activities, participation in a noncriminal organization, or a protected classification."
    )
    fa_note = TextAreaField(
        "Your reason (required when the request is flagged)", validators=[Length(max=2000)]
    )

    def bind_images(self, search_request, formdata=None) -> ScreeningForm:
        self.image_forms = {
            image.id: ImageDeterminationForm(formdata, prefix=f"image-{image.id}")
            for image in search_request.images_awaiting_determination
        }
        return self

    def determinations(self) -> list[intake.ImageDetermination]:
        return [
            sub.determination(image_id) for image_id, sub in self.image_forms.items() if sub.decision.data
        ]

    def first_amendment(self, search_request) -> intake.FirstAmendmentDetermination | None:
        if not search_request.awaiting_first_amendment_review:
            return None
        return intake.FirstAmendmentDetermination(bool(self.fa_confirm.data), self.fa_note.data or "")


class JustifyForm(FlaskForm):
    reason = TextAreaField("Why you need to open this request", validators=[DataRequired(), Length(15, 1000)])
