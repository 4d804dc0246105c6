"""How spreadsheet cells read and write in the operator admin's imports and exports, whatever program made the file."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from apps.accounts.spreadsheets import (
    BooleanWidget,
    ChoiceWidget,
    DecimalWidget,
    TextWidget,
    UtcDateTimeWidget,
    cell_text,
)
from apps.stations.models import Station


@pytest.mark.parametrize(
    ("cell", "moment"),
    [
        ("2027-01-31T23:00:00Z", datetime(2027, 1, 31, 23, 0, tzinfo=UTC)),
        ("2027-02-01 00:00:00+01:00", datetime(2027, 1, 31, 23, 0, tzinfo=UTC)),
        ("2027-01-31T23:00", datetime(2027, 1, 31, 23, 0, tzinfo=UTC)),  # no offset: UTC
        ("2027-01-31", datetime(2027, 1, 31, tzinfo=UTC)),
        (datetime(2027, 1, 31, 23, 0), datetime(2027, 1, 31, 23, 0, tzinfo=UTC)),  # an XLSX cell
        (date(2027, 1, 31), datetime(2027, 1, 31, tzinfo=UTC)),
        ("", None),
    ],
)
def test_times_are_read_as_utc(cell, moment):
    assert UtcDateTimeWidget().clean(cell) == moment


def test_times_are_written_as_utc_text_or_a_plain_xlsx_date_time():
    moment = datetime(2027, 1, 31, 23, 0, tzinfo=UTC)

    assert UtcDateTimeWidget().render(moment) == "2027-01-31T23:00:00Z"
    assert UtcDateTimeWidget().render(moment, force_native_type=True) == datetime(2027, 1, 31, 23, 0)
    with pytest.raises(ValueError, match="is not a date and time"):
        UtcDateTimeWidget().clean("31/01/2027")


def test_decimals_are_read_exactly_and_written_without_locale():
    widget = DecimalWidget()

    assert widget.clean(0.1) == Decimal("0.1")  # a spreadsheet's float, as it was written
    assert widget.clean(" 12.3400 ") == Decimal("12.3400")
    assert widget.render(Decimal("1234.5000")) == "1234.5000"
    for bad in ("1,50", "NaN", "ten"):
        with pytest.raises(ValueError):
            widget.clean(bad)


def test_booleans_are_strict():
    widget = BooleanWidget()

    assert [widget.clean(v) for v in ("TRUE", "yes", 1, True, "false", "No", 0, "")] == [True] * 4 + [False] * 4
    with pytest.raises(ValueError, match="write true or false"):
        widget.clean("maybe")


def test_choices_are_read_in_any_case_and_empty_gives_the_default():
    widget = ChoiceWidget(Station.Registration.choices, blank=Station.Registration.PENDING)

    assert (widget.clean("ACCEPTED"), widget.clean("")) == ("accepted", "pending")
    with pytest.raises(ValueError, match="is not one of accepted, pending, rejected"):
        widget.clean("approved")


@pytest.mark.parametrize("text", ["=SUM(A1:A9)", "+31 6 1234", "-5", "@here", "plain", "'quoted"])
def test_text_that_would_be_a_formula_is_escaped_on_export_and_read_back_unchanged(text):
    widget = TextWidget()

    written = widget.render(text)

    assert not written.startswith(("=", "+", "-", "@"))
    assert widget.clean(written) == text


def test_numbers_a_spreadsheet_made_of_text_read_back_as_the_text():
    assert (cell_text(1234.0), cell_text(7), cell_text(None), cell_text("  x ")) == ("1234", "7", "", "x")
