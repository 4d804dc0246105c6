"""Account pages under /accounts/ on every host: allauth's (login, sign-up, password reset, two-factor), the account
home and the staff invitation link."""

from django.urls import include, path

from apps.accounts import views

urlpatterns = [
    path("", views.account_home, name="account_home"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation-accept"),
    path("login/", views.BrandLoginView.as_view(), name="account_login"),
    path("", include("allauth.urls")),
]
