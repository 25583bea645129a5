from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])
    acknowledge = BooleanField(
        "I have read the notice above and consent to monitoring.",
        validators=[DataRequired("You must acknowledge the system-use notice to sign in.")],
    )


class TotpForm(FlaskForm):
    code = StringField(
        "Six-digit code from your authenticator app",
        validators=[DataRequired(), Length(min=6, max=8)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=256)])
    new_password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(max=256)],
        description="At least 12 characters; spaces are allowed; a passphrase works well.",
    )
    confirm = PasswordField(
        "New password again",
        validators=[
            DataRequired(),
            Length(max=256),
            EqualTo("new_password", "The two new passwords differ."),
        ],
    )


class ConfirmIdentityForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])
    code = StringField(
        "Six-digit code from your authenticator app",
        validators=[DataRequired(), Length(min=6, max=8)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class EndSessionForm(FlaskForm):
    """The sign-out buttons of the sessions page (CSRF only)."""


class AgreementForm(FlaskForm):
    typed_name = StringField(
        "Type your full name to sign",
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "name"},
    )
