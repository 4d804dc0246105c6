"""Forms of the account pages: accepting an invitation, inviting staff and changing their role (the portal)."""

from django import forms
from django.utils.translation import gettext_lazy as _

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

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
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
