from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.blueprints.common import CsrfForm as ActionForm  # noqa: F401 - claim, release, verify
from app.matching.processing import LABELS


class QuestionForm(FlaskForm):
    question = TextAreaField("Question for the requester", validators=[DataRequired(), Length(max=5000)])


class RejectForm(FlaskForm):
    clause = StringField("Policy clause", validators=[DataRequired(), Length(max=500)])
    note = TextAreaField("Note to the requester", validators=[DataRequired(), Length(max=5000)])


class ReassignForm(FlaskForm):
    reviewer_id = SelectField("Reviewer", coerce=int, validate_choice=False)
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])


class StepForm(FlaskForm):
    op = SelectField(
        "Processing step", choices=[SelectChoice(k, v) for k, v in LABELS.items()], validate_choice=False
    )
    left = IntegerField("Left", validators=[Optional()])
    top = IntegerField("Top", validators=[Optional()])
    right = IntegerField("Right", validators=[Optional()])
    bottom = IntegerField("Bottom", validators=[Optional()])
    degrees = StringField("Degrees (counter-clockwise)", validators=[Optional(), Length(max=10)])
    factor = StringField("Factor (1 = unchanged)", validators=[Optional(), Length(max=10)])
    value = StringField("Gamma (1 = unchanged)", validators=[Optional(), Length(max=10)])
    amount = StringField("Sharpen amount (%)", validators=[Optional(), Length(max=10)])


class EyesForm(FlaskForm):
    left_x = IntegerField("Left eye x", validators=[DataRequired()])
    left_y = IntegerField("Left eye y", validators=[DataRequired()])
    right_x = IntegerField("Right eye x", validators=[DataRequired()])
    right_y = IntegerField("Right eye y", validators=[DataRequired()])


class SearchForm(FlaskForm):
    top_k = IntegerField("Candidates (K)", default=20, validators=[NumberRange(1, 50)])


class DecisionForm(FlaskForm):
    outcome = SelectField(
        "Decision",
        choices=[SelectChoice("lead", "Investigative lead"), SelectChoice("no_match", "No possible match")],
        validate_choice=False,
    )
    # Chosen on the page (a select and the search shown), so never rendered by hidden_tag().
    examination_id = StringField()
    search_id = StringField()
    comments = TextAreaField("Comments", validators=[Optional(), Length(max=5000)])
