from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from app.models import CertificationProvider, Role
from app.services.identity.accounts import get_agency_by_code

ROLE_CHOICES = [SelectChoice(r.value, r.value.capitalize()) for r in Role]


class AgencyForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    code = StringField("ORI or agency code", validators=[DataRequired(), Length(max=20)])
    contact_name = StringField("Contact", validators=[Optional(), Length(max=200)])
    contact_email = StringField(
        "Contact email",
        validators=[
            Optional(),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Enter an email address."),
            Length(max=254),
        ],
    )
    contact_phone = StringField("Contact phone", validators=[Optional(), Length(max=40)])
    local_policy_title = StringField(
        "The agency's own facial recognition policy",
        validators=[Optional(), Length(max=200)],
        description="Its title and number, as on the copy the unit keeps on file. Its requesters submit "
        "only while one is recorded.",
    )
    local_policy_adopted_on = DateField("Adopted on", validators=[Optional()])
    reason = StringField("Reason for the change", validators=[Optional(), Length(max=500)])

    def agency_fields(self, *, code: bool = True) -> dict:
        fields = {
            "name": self.name.data,
            "contact_name": self.contact_name.data,
            "contact_email": self.contact_email.data,
            "contact_phone": self.contact_phone.data,
            "local_policy_title": self.local_policy_title.data or "",
            "local_policy_adopted_on": self.local_policy_adopted_on.data,
        }
        return {**fields, "code": self.code.data} if code else fields


class UserForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=200)])
    email = StringField(
        "Email",
        validators=[
            Optional(),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Enter an email address."),
            Length(max=254),
        ],
    )
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    role = SelectField("Role", choices=ROLE_CHOICES)
    agency = SelectField("Agency")
    password = PasswordField(
        "Temporary password",
        validators=[DataRequired(), Length(max=256)],
        description="At least 12 characters; the user must change it at first sign-in.",
    )
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])

    def account_fields(self) -> dict:
        return {
            "username": self.username.data,
            "full_name": self.full_name.data,
            "role": Role(self.role.data),
            "agency": get_agency_by_code(self.agency.data),
            "password": self.password.data,
            "email": self.email.data,
            "phone": self.phone.data,
            "reason": self.reason.data,
        }


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES, validate_choice=False)
    agency = SelectField("Agency", validate_choice=False)
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])


class ReasonForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])
    violation = BooleanField("This restricts access for a policy violation")


class CertificationForm(FlaskForm):
    provider = SelectField(
        "Provider",
        choices=[SelectChoice(p.value, p.value) for p in CertificationProvider],
        validate_choice=False,
    )
    number = StringField("Certificate number", validators=[DataRequired(), Length(max=64)])
    completed_on = DateField("Completed on", validators=[DataRequired()])
    expires_on = DateField("Expires on", validators=[DataRequired()])


class MonthForm(FlaskForm):
    month = StringField("Month (YYYY-MM)", validators=[DataRequired(), Regexp(r"^\d{4}-\d{2}$")])
