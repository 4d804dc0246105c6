"""Import and export of the operator admin's lists as spreadsheets (django-import-export): who may, in which
formats, how cells read and write, and imports that write every row or none (docs/admin.md)."""

import os
import tempfile
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from uuid import uuid4

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from import_export import resources, widgets
from import_export.admin import ImportExportMixin
from import_export.formats import base_formats
from import_export.tmp_storages import TempFolderStorage

from apps.accounts.audit import audit_record

# CSV always; XLSX where openpyxl is installed (django-import-export's `xlsx` extra).
FORMATS = [fmt for fmt in (base_formats.CSV, base_formats.XLSX) if fmt().is_available()]


def cell_text(value) -> str:
    """A cell as text: spreadsheets give numbers for cells that look like numbers (an identity "1234", a uid)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# A cell starting with one of these is a formula to a spreadsheet program (and to openpyxl when writing XLSX).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_escape(text: str) -> str:
    """Text a spreadsheet shows as text: what a station or a partner wrote must not run as a formula on the
    operator's computer. Prefixed with an apostrophe, which `formula_unescape` removes on import."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def formula_unescape(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


class TextWidget(widgets.Widget):
    """Text cells, stripped; numbers a spreadsheet made of them read back as the text they were. Text that would be
    a formula is exported with a leading apostrophe, removed again on import."""

    def clean(self, value, row=None, **kwargs):
        return formula_unescape(cell_text(value))

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else formula_escape(str(value))


class ChoiceWidget(widgets.Widget):
    """One of a model field's choices, in any letter case; empty gives `blank` (None: the column is required)."""

    def __init__(self, choices, *, blank=None):
        super().__init__()
        self.values = {str(value).lower(): value for value, _label in choices}
        self.blank = blank

    def clean(self, value, row=None, **kwargs):
        text = cell_text(value)
        if not text:
            if self.blank is None:
                raise ValueError("Required.")
            return self.blank
        if text.lower() not in self.values:
            raise ValueError(f"{text!r} is not one of {', '.join(str(v) for v in self.values.values())}.")
        return self.values[text.lower()]

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


class IntegerWidget(widgets.Widget):
    """Whole numbers written plainly (no locale's thousands separator); empty gives `blank`."""

    def __init__(self, *, blank=None):
        super().__init__()
        self.blank = blank

    def clean(self, value, row=None, **kwargs):
        text = cell_text(value)
        if not text:
            return self.blank
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number.") from None

    def render(self, value, obj=None, **kwargs):
        if kwargs.get("force_native_type"):
            return value
        return "" if value is None else str(value)


class DecimalWidget(widgets.Widget):
    """Money and other decimals written as plain text with '.', read exactly (a spreadsheet's float as written)."""

    def clean(self, value, row=None, **kwargs):
        text = repr(value) if isinstance(value, float) else cell_text(value)
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{text!r} is not a number (write decimals with '.').") from None
        if not number.is_finite():
            raise ValueError(f"{text!r} is not a number.")
        return number

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


class BooleanWidget(widgets.Widget):
    """true/false (also yes/no, 1/0); anything else is an error rather than a silent false."""

    TRUE, FALSE = {"true", "yes", "1"}, {"false", "no", "0", ""}

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, bool):
            return value
        text = cell_text(value).lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise ValueError(f"{cell_text(value)!r}: write true or false.")

    def render(self, value, obj=None, **kwargs):
        if kwargs.get("force_native_type"):
            return bool(value)
        return "true" if value else "false"


class UtcDateTimeWidget(widgets.Widget):
    """Times in UTC: ISO 8601 text in CSV ("2026-01-31T23:00:00Z"), a date-time cell in XLSX (which has no time
    zones: read as UTC). Text with another offset is converted; text without one is UTC; a date alone is its
    midnight UTC."""

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime(value.year, value.month, value.day)
        else:
            text = cell_text(value)
            if not text:
                return None
            try:
                moment = parse_datetime(text)
                day = None if moment else parse_date(text)
            except ValueError:
                moment = day = None
            if day is not None:
                moment = datetime(day.year, day.month, day.day)
            if moment is None:
                raise ValueError(f"{text!r} is not a date and time: write e.g. 2026-01-31T23:00:00Z (UTC).")
        if timezone.is_naive(moment):
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        moment = value.astimezone(UTC)
        if kwargs.get("force_native_type"):
            return moment.replace(tzinfo=None)
        return moment.isoformat().replace("+00:00", "Z")


class OperatorResource(resources.ModelResource):
    """A list operators round-trip through a spreadsheet: rows that change nothing are skipped (and shown as such),
    each file runs in one transaction, and a key given in two rows is refused rather than applied twice."""

    class Meta:
        abstract = True
        use_transactions = True
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        self._seen_keys: dict[object, int] = {}
        # Spreadsheet programs often save empty lines after the data; only trailing ones go, so lines keep numbers.
        while len(dataset) and not any(cell_text(cell) for cell in dataset[-1]):
            del dataset[-1]

    def key_check(self, key, row_number: int, field: str, what: str) -> None:
        """ValidationError naming `field` when an earlier row of the file had the same key."""
        earlier = self._seen_keys.setdefault(key, row_number)
        if earlier != row_number:
            raise ValidationError({field: [f"Line {earlier + 1} of this file already has this {what}."]})


class TenantTempStorage(TempFolderStorage):
    """The uploaded file between the preview and the confirmation, in a file named for the brand that uploaded it
    and readable by this system user only: a confirmation on another brand's host cannot read it."""

    PREFIX = "platform-import-"

    def save(self, data):
        self.name = f"{self._prefix()}{uuid4().hex}"
        descriptor = os.open(self.get_full_path(), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data if isinstance(data, bytes) else data.encode(self.encoding or "utf-8"))

    def read(self):
        self._check()
        return super().read()

    def remove(self):
        self._check()
        super().remove()

    def get_full_path(self):
        return os.path.join(tempfile.gettempdir(), os.path.basename(self.name))

    def _prefix(self) -> str:
        return f"{self.PREFIX}{connection.schema_name}-"

    def _check(self) -> None:
        if not (self.name or "").startswith(self._prefix()):
            raise PermissionDenied("This file was not uploaded on this brand.")


class OperatorImportExportMixin(ImportExportMixin):
    """Import and export for an operator admin. Importing needs the model's add and change permissions (a file
    may do both), exporting its view permission (apps/accounts/roles.py). The preview is a dry run in a
    transaction that is rolled back; the confirmation imports the same file again, in one transaction, and writes
    nothing if any row fails then (the data may have changed since the preview)."""

    formats = FORMATS
    tmp_storage_class = TenantTempStorage
    import_template_name = "admin/operator_import.html"
    import_help = ""  # what the columns mean, shown above the import form

    def has_import_permission(self, request) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def get_import_context_data(self, **kwargs):
        return {**super().get_import_context_data(**kwargs), "import_help": self.import_help}

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        kwargs.setdefault("rollback_on_validation_errors", True)
        return kwargs

    def process_import(self, request, **kwargs):
        try:
            return super().process_import(request, **kwargs)
        except FileNotFoundError:
            messages.error(
                request, _("The uploaded file is gone (already imported, or the preview expired): upload it again.")
            )
            return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_import"))

    def process_result(self, result, request):
        if not (result.has_errors() or result.has_validation_errors()):
            totals = {kind: count for kind, count in result.totals.items() if count}
            audit_record(
                action="import.confirmed",
                target_type=self.opts.label_lower,
                target_label=str(self.opts.verbose_name_plural),
                changes={"rows": totals},
            )
            return super().process_result(result, request)
        # Rows valid in the preview failed now: the transaction was rolled back, so nothing was written.
        messages.error(
            request, _("Nothing was imported: some rows are no longer valid. Correct them, then upload again.")
        )
        form = self.get_import_form_class(request)(self.get_import_formats(), self.get_import_resource_classes(request))
        context = {
            **self.admin_site.each_context(request),
            **self.get_import_context_data(),
            "title": _("Import"),
            "form": form,
            "opts": self.opts,
            "media": self.media + form.media,
            "result": result,
            "fields_list": [],
            "import_error_display": self.import_error_display,
        }
        return TemplateResponse(request, [self.import_template_name], context)
