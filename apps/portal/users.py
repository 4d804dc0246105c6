"""The portal's users page: the brand's staff with their role and status, inviting people, revoking invitations,
changing roles and deactivating accounts. Nobody gives a role above their own (apps.accounts.roles.role_grantable).

Staff emails are personal data, shown here because only staff managers (accounts.change_user) open the page.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.exceptions import InvitationUnusableError, RoleNotGrantableError
from apps.accounts.forms import InvitationForm, RoleChangeForm
from apps.accounts.roles import Role
from apps.accounts.selectors import invitation_pending_list, staff_list
from apps.accounts.services import invitation_create, invitation_revoke, user_deactivate, user_role_change
from apps.portal.access import portal_view

VIEW = "accounts.change_user"
INVITE = "accounts.add_user"


def _page(request, *, invitation_form=None, status=200):
    can_invite = request.user.has_perm(INVITE)
    context = {
        "title": _("Users"),
        "staff": staff_list(),
        "invitations": invitation_pending_list() if can_invite else [],
        "can_invite": can_invite,
        "invitation_form": invitation_form or InvitationForm(granter=request.user),
        "role_form": RoleChangeForm(granter=request.user),
    }
    return render(request, "portal/users/list.html", context, status=status)


def _errors(error: ValidationError) -> str:
    return " ".join(error.messages)


@portal_view(VIEW)
def users(request):
    return _page(request)


@require_POST
@portal_view(VIEW, INVITE)
def invite(request):
    form = InvitationForm(request.POST, granter=request.user)
    if not form.is_valid():
        return _page(request, invitation_form=form, status=400)
    try:
        invitation = invitation_create(
            tenant=request.tenant,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            invited_by=request.user,
        )
    except RoleNotGrantableError:
        form.add_error("role", _("You may not invite someone with this role."))
        return _page(request, invitation_form=form, status=403)
    except ValidationError as error:  # the address is a member already
        form.add_error("email", _errors(error))
        return _page(request, invitation_form=form, status=400)
    messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
    return redirect("portal:users")


@require_POST
@portal_view(VIEW, INVITE)
def invitation_withdraw(request, pk: int):
    invitation = get_object_or_404(invitation_pending_list(), pk=pk)
    try:
        invitation_revoke(invitation=invitation, revoked_by=request.user)
    except (RoleNotGrantableError, InvitationUnusableError):
        messages.error(request, _("You may not revoke this invitation."))
        return redirect("portal:users")
    messages.success(request, _("Invitation to %(email)s revoked.") % {"email": invitation.email})
    return redirect("portal:users")


@require_POST
@portal_view(VIEW)
def role_change(request, pk: int):
    member = get_object_or_404(staff_list(), pk=pk)
    form = RoleChangeForm(request.POST, granter=request.user)
    if not form.is_valid():
        messages.error(request, _("You may not give this role."))
        return redirect("portal:users")
    try:
        user_role_change(user=member, role=form.cleaned_data["role"], changed_by=request.user)
    except RoleNotGrantableError:
        messages.error(request, _("You may not change the role of %(email)s.") % {"email": member.email})
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        role = Role(form.cleaned_data["role"]).label
        messages.success(request, _("%(email)s is now %(role)s.") % {"email": member.email, "role": role})
    return redirect("portal:users")


@require_POST
@portal_view(VIEW)
def deactivate(request, pk: int):
    member = get_object_or_404(staff_list(), pk=pk)
    try:
        user_deactivate(user=member, deactivated_by=request.user)
    except RoleNotGrantableError:
        messages.error(request, _("You may not deactivate %(email)s.") % {"email": member.email})
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        messages.success(request, _("%(email)s can no longer sign in.") % {"email": member.email})
    return redirect("portal:users")


urlpatterns = [
    path("", users, name="users"),
    path("invite/", invite, name="user-invite"),
    path("invitations/<int:pk>/revoke/", invitation_withdraw, name="invitation-revoke"),
    path("<int:pk>/role/", role_change, name="user-role"),
    path("<int:pk>/deactivate/", deactivate, name="user-deactivate"),
]
