"""Forms of the account pages: accepting an invitation, inviting staff and changing their role (the portal)."""

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User
from apps.accounts.roles import STAFF_ROLES, Role, role_grantable


class InvitationAcceptForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    password1 = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), strip=False
    )
    password2 = forms.CharField(
        label=_("Password (again)"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), strip=False
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        data = super().clean()
        password = data.get("password1")
        if password and password != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        elif password:
            person = User(email=self.email, first_name=data.get("first_name", ""), last_name=data.get("last_name", ""))
            try:
                validate_password(password, person)
            except ValidationError as error:
                self.add_error("password1", error)
        return data


def grantable_role_choices(user) -> list[tuple[str, str]]:
    """The staff roles `user` may give, in the order of Role."""
    return [(role.value, role.label) for role in Role if role in STAFF_ROLES and role_grantable(user, role)]


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, *args, granter, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = grantable_role_choices(granter)


class RoleChangeForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, *args, granter, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = grantable_role_choices(granter)
