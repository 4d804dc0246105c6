"""The driver app's endpoints under /api/v1/ (issue 9). Filled in by its owner; included by apps/api/urls.py."""

urlpatterns_part: list = []
