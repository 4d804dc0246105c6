"""Who may open a portal page: signed-in staff of this brand whose role grants the page's permission.

The same permission names as the admin and the API (apps/accounts/roles.py): a role without the permission gets 403
here as it does there. Object scopes (a technician limited to some locations) come from apps/accounts/scoping.py.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied


def portal_view(*permissions: str):
    """Decorate a portal view: anonymous visitors go to the login page, drivers and roles without every one of
    `permissions` get 403."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.is_staff or not all(user.has_perm(permission) for permission in permissions):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
