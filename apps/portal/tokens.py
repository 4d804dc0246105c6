"""ID tokens: the brand's list, and blocking or unblocking one (charging.change_idtoken)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.roles import PERSONAL_DATA
from apps.portal.access import portal_view
from apps.portal.forms import TokenStatusForm
from apps.portal.templatetags.portal import personal
from apps.sessions import selectors, services
from apps.sessions.models import IdToken

PAGE_SIZE = 50


@portal_view("charging.view_idtoken")
def token_list(request):
    tokens = selectors.id_token_list()
    status = request.GET.get("status") or None
    if status in {choice for choice, _label in IdToken.Status.choices}:
        tokens = tokens.filter(status=status)
    page = Paginator(tokens, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/tokens.html",
        {
            "title": _("ID tokens"),
            "page": page,
            "status": status,
            "query": f"status={status}" if status else "",
            "statuses": IdToken.Status.choices,
            "show_personal": request.user.has_perm(PERSONAL_DATA),
            "may_change": request.user.has_perm("charging.change_idtoken"),
        },
    )


@require_POST
@portal_view("charging.view_idtoken", "charging.change_idtoken")
def token_status(request, token_id: int):
    token = get_object_or_404(selectors.id_token_list(), pk=token_id)
    form = TokenStatusForm(request.POST)
    shown = personal(token.uid, request.user.has_perm(PERSONAL_DATA))
    if not form.is_valid():
        messages.error(request, _("Token %(uid)s: choose block or unblock.") % {"uid": shown})
        return redirect("portal:token_list")
    try:
        services.id_token_update(id_token=token, status=form.cleaned_data["status"])
    except ValidationError as error:
        messages.error(request, _("Token %(uid)s not changed: %(error)s") % {"uid": shown, "error": error})
    else:
        messages.success(
            request,
            _("Token %(uid)s is now %(status)s.")
            % {"uid": shown, "status": IdToken.Status(form.cleaned_data["status"]).label},
        )
    return redirect("portal:token_list")
