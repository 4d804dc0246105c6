"""The OAuth 2.0 endpoints of every tenant host, under /oauth/. Only these: the toolkit's application-management
pages are left out (operators manage applications in the admin), as are the device flow and OpenID Connect."""

from django.urls import path
from oauth2_provider import views

from apps.api.oauth import OAuthAuthorizationView, OAuthLoginView

app_name = "oauth2_provider"

urlpatterns = [
    path("authorize/", OAuthAuthorizationView.as_view(), name="authorize"),
    path("token/", views.TokenView.as_view(), name="token"),
    path("revoke_token/", views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", views.IntrospectTokenView.as_view(), name="introspect"),
    path("login/", OAuthLoginView.as_view(), name="login"),
]
