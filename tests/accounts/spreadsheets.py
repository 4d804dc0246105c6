"""Driving the operator admin's import and export as a person would: log in on the brand's host, export a file,
upload one, read the preview, confirm it."""

import html
import re
from io import BytesIO

import pytest
import tablib
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from tests.accounts.factories import PASSWORD, UserFactory

CONTENT_TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def login(tenant, role=Role.OPERATOR, host="alpha.localhost") -> Client:
    with schema_context(tenant.schema_name):
        user = UserFactory(role=role)
    client = Client(HTTP_HOST=host)
    assert client.post("/admin/login/", {"username": user.email, "password": PASSWORD}).status_code == 302
    return client


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def xlsx_or_skip() -> None:
    pytest.importorskip("openpyxl", reason="XLSX needs openpyxl (django-import-export[xlsx]), not installed here")


class Spreadsheets:
    """The import and export pages of one model's admin (e.g. "stations", "station")."""

    def __init__(self, model):
        self.model = model
        self.admin = admin.site._registry[model]
        self.url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"

    def format_index(self, name: str, *, export: bool = False) -> str:
        formats = self.admin.get_export_formats() if export else self.admin.get_import_formats()
        return str([fmt().get_extension() for fmt in formats].index(name))

    def export(self, client: Client, name: str = "csv", **filters):
        resource = self.admin.get_export_resource_classes(None)[0]
        selected = {f"{resource.__name__.lower()}_{field}": "on" for field in resource().get_export_order()}
        query = "?" + "&".join(f"{k}={v}" for k, v in filters.items()) if filters else ""
        return client.post(
            f"{self.url}export/{query}", {"format": self.format_index(name, export=True), "resource": "0", **selected}
        )

    def preview(self, client: Client, content: bytes, name: str = "csv"):
        upload = SimpleUploadedFile(f"upload.{name}", content, content_type=CONTENT_TYPES[name])
        return client.post(
            f"{self.url}import/", {"format": self.format_index(name), "resource": "0", "import_file": upload}
        )

    def confirm(self, client: Client, preview):
        fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', preview.content.decode()))
        assert "import_file_name" in fields, "the preview offers no confirmation"
        return client.post(f"{self.url}process_import/", {k: html.unescape(v) for k, v in fields.items()})

    def load(self, client: Client, content: bytes, name: str = "csv"):
        """Preview then confirm; the confirmation's response, followed to the list."""
        preview = self.preview(client, content, name)
        assert preview.status_code == 200
        response = self.confirm(client, preview)
        assert response.status_code == 302, text_of(response)
        return client.get(response["Location"])


def rows_of(content: bytes, name: str = "csv") -> list[dict]:
    if name == "csv":
        dataset = tablib.Dataset().load(content.decode("utf-8-sig"), format="csv")
    else:
        dataset = tablib.Dataset().load(BytesIO(content), format="xlsx")
    return [dict(zip(dataset.headers, row, strict=True)) for row in dataset]


def csv_of(*rows: dict) -> bytes:
    dataset = tablib.Dataset(headers=list(dict.fromkeys(key for row in rows for key in row)))
    for row in rows:
        dataset.append([row.get(header, "") for header in dataset.headers])
    return dataset.export("csv").encode()


def preview_lines(response) -> dict[int, str]:
    """The preview's invalid lines: line number → the text of its errors."""
    table = response.content.decode()
    return {
        int(number): html.unescape(re.sub(r"\s+:", ":", re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", errors)))).strip()
        for number, errors in re.findall(
            r'<tr class="invalid-row" data-line="(\d+)">.*?<td class="errors">(.*?)</td>', table, flags=re.S
        )
    }
