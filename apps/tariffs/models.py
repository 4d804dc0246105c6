"""Tariffs in the shape of OCPI 2.2.1, and where they apply: by location, station group or connector, for all
customers or one customer group, for a period, with a priority."""

import json
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.groups.models import StationGroup
from apps.stations.models import Connector, Location
from apps.tariffs.currencies import currency_is_known
from apps.tariffs.definition import TariffElement, elements_dump, elements_parse
from apps.tariffs.exceptions import TariffInvalidError
from apps.tariffs.rating import Price, TariffTerms


class DecimalJSONDecoder(json.JSONDecoder):
    """Numbers with a fraction come back as Decimal, never float: prices live in this JSON."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("parse_float", Decimal)
        super().__init__(*args, **kwargs)


def _money_field(label) -> models.DecimalField:
    return models.DecimalField(
        label, max_digits=12, decimal_places=4, null=True, blank=True, validators=[MinValueValidator(0)]
    )


class ElementError(ValidationError):
    """A problem with one element (or component, restriction) of a tariff: the admin shows its message
    ("elements[0].price_components[1].price: ..."); `path` and `problems` let the API nest it under the element."""

    def __init__(self, path: str, problems: list[str]):
        super().__init__(f"{path}: {' '.join(problems)}", code="invalid_element")
        self.path = path
        self.problems = list(problems)


class Tariff(models.Model):
    """A price list: ordered elements of price components (OCPI TariffElement), plus the platform's idle-fee
    extensions (grace period and cap, not OCPI fields: docs/tariffs.md)."""

    # What an operator sets, in this order, wherever tariffs are edited by hand: the admin form, the spreadsheet.
    OPERATOR_FIELDS = (
        "code",
        "name",
        "currency",
        "type",
        "start_date_time",
        "end_date_time",
        "elements",
        "min_price_excl_vat",
        "min_price_incl_vat",
        "max_price_excl_vat",
        "max_price_incl_vat",
        "parking_grace_minutes",
        "parking_fee_cap",
        "tariff_alt_text",
        "tariff_alt_url",
    )

    class Type(models.TextChoices):
        AD_HOC_PAYMENT = "AD_HOC_PAYMENT", _("Ad-hoc payment (card terminal)")
        PROFILE_CHEAP = "PROFILE_CHEAP", _("Smart charging: cheap")
        PROFILE_FAST = "PROFILE_FAST", _("Smart charging: fast")
        PROFILE_GREEN = "PROFILE_GREEN", _("Smart charging: green")
        REGULAR = "REGULAR", _("Regular")

    code = models.CharField(
        _("tariff id"),
        max_length=36,
        unique=True,
        validators=[RegexValidator(r"^[A-Za-z0-9._-]+$", _("Letters, digits, '.', '_' and '-' (OCPI CiString)."))],
        help_text=_("The OCPI Tariff.id partners see"),
    )
    name = models.CharField(max_length=100, verbose_name=_("name"))
    currency = models.CharField(max_length=3, help_text=_("ISO 4217, e.g. EUR"), verbose_name=_("currency"))
    type = models.CharField(
        max_length=16, choices=Type.choices, blank=True, help_text=_("Empty: any session"), verbose_name=_("type")
    )
    tariff_alt_text = models.JSONField(
        _("alternative text"), default=list, blank=True, help_text=_('[{"language": "en", "text": "..."}]')
    )
    tariff_alt_url = models.URLField(_("alternative URL"), blank=True)
    min_price_excl_vat = _money_field(_("minimum price excl. VAT"))
    min_price_incl_vat = _money_field(_("minimum price incl. VAT"))
    max_price_excl_vat = _money_field(_("maximum price excl. VAT"))
    max_price_incl_vat = _money_field(_("maximum price incl. VAT"))
    start_date_time = models.DateTimeField(_("valid from"), null=True, blank=True)
    end_date_time = models.DateTimeField(_("valid until"), null=True, blank=True)
    elements = models.JSONField(
        encoder=DjangoJSONEncoder,
        decoder=DecimalJSONDecoder,
        help_text=_("OCPI TariffElements, in order"),
        verbose_name=_("elements"),
    )
    parking_grace_minutes = models.PositiveIntegerField(
        default=0,
        help_text=_("Platform extension: parking time not billed at first (minutes)"),
        verbose_name=_("parking grace minutes"),
    )
    parking_fee_cap = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Platform extension: the most the parking fee of a session costs, excl. VAT"),
        verbose_name=_("parking fee cap"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, help_text=_("OCPI last_updated"), verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("tariff")
        verbose_name_plural = _("tariffs")
        ordering = ["name", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code}, {self.currency})"

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        self.currency = (self.currency or "").upper()
        if not currency_is_known(self.currency):
            errors["currency"] = [
                gettext("%(currency)r is not an ISO 4217 currency code.") % {"currency": self.currency}
            ]
        try:
            self.elements = elements_dump(elements_parse(self.elements))
        except TariffInvalidError as invalid:
            errors["elements"] = [ElementError(path, messages) for path, messages in invalid.errors.items()]
        alt_text_errors = alt_text_problems(self.tariff_alt_text)
        if alt_text_errors:
            errors["tariff_alt_text"] = alt_text_errors
        for side in ("excl_vat", "incl_vat"):
            low, high = getattr(self, f"min_price_{side}"), getattr(self, f"max_price_{side}")
            if low is not None and high is not None and low > high:
                errors.setdefault(f"max_price_{side}", []).append(gettext("Below the minimum price."))
        for bound in ("min_price", "max_price"):
            if getattr(self, f"{bound}_incl_vat") is not None and getattr(self, f"{bound}_excl_vat") is None:
                errors.setdefault(f"{bound}_excl_vat", []).append(
                    gettext("Required with the price incl. VAT (OCPI Price).")
                )
        if self.start_date_time and self.end_date_time and self.end_date_time <= self.start_date_time:
            errors["end_date_time"] = [gettext("Must be after the start.")]
        if errors:
            raise ValidationError(errors)

    @property
    def parsed_elements(self) -> tuple[TariffElement, ...]:
        return elements_parse(self.elements)

    def terms(self) -> TariffTerms:
        """What the rating engine needs."""

        def price(side: str) -> Price | None:
            excl = getattr(self, f"{side}_excl_vat")
            return None if excl is None else Price(excl, getattr(self, f"{side}_incl_vat"))

        return TariffTerms(
            id=self.code,
            currency=self.currency,
            elements=self.parsed_elements,
            min_price=price("min_price"),
            max_price=price("max_price"),
            parking_grace_seconds=self.parking_grace_minutes * 60,
            parking_fee_cap=self.parking_fee_cap,
        )


def alt_text_problems(value) -> list[str]:
    """OCPI DisplayText list: [{"language": "en", "text": "..."}], one text per language."""
    if not isinstance(value, list):
        return [gettext('A list of {"language": "en", "text": "..."}.')]
    problems, languages = [], set()
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"language", "text"}:
            problems.append(gettext("[%(index)s]: an object with exactly language and text.") % {"index": index})
            continue
        language, text = item["language"], item["text"]
        if not (isinstance(language, str) and len(language) == 2 and language.isalpha() and language.islower()):
            problems.append(gettext("[%(index)s].language: a two-letter ISO 639-1 code, e.g. 'en'.") % {"index": index})
        elif language in languages:
            problems.append(
                gettext("[%(index)s].language: %(language)r is given twice.") % {"index": index, "language": language}
            )
        languages.add(language)
        if not isinstance(text, str) or not text.strip() or len(text) > 512 or "\x00" in text:
            problems.append(gettext("[%(index)s].text: a text of 1 to 512 characters.") % {"index": index})
    return problems


class TariffAssignment(models.Model):
    """Which tariff applies where, to whom, and when. The most specific applicable assignment wins
    (`apps.tariffs.selectors.tariff_for_station`): a customer group's over all customers', then connector over
    station group over location, then the higher priority, then the later start."""

    class CustomerGroupType(models.TextChoices):
        # Plans, fleets and roaming partners have no models yet: they are named by `customer_group_ref`.
        ALL = "all", _("All customers")
        PLAN = "plan", _("A subscription plan")
        FLEET = "fleet", _("A fleet")
        ROAMING_PARTNER = "roaming_partner", _("A roaming partner")

    tariff = models.ForeignKey(Tariff, on_delete=models.PROTECT, related_name="assignments", verbose_name=_("tariff"))
    location = models.ForeignKey(
        Location,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tariff_assignments",
        verbose_name=_("location"),
    )
    station_group = models.ForeignKey(
        StationGroup,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tariff_assignments",
        verbose_name=_("station group"),
    )
    connector = models.ForeignKey(
        Connector,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tariff_assignments",
        verbose_name=_("connector"),
    )
    customer_group_type = models.CharField(
        max_length=16,
        choices=CustomerGroupType.choices,
        default=CustomerGroupType.ALL,
        verbose_name=_("customer group type"),
    )
    customer_group_ref = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("The plan, fleet or partner (e.g. NL*ABC); empty for all customers"),
        verbose_name=_("customer group ref"),
    )
    valid_from = models.DateTimeField(
        null=True, blank=True, help_text=_("Empty: from the start"), verbose_name=_("valid from")
    )
    valid_until = models.DateTimeField(
        null=True, blank=True, help_text=_("Empty: until further notice (exclusive)"), verbose_name=_("valid until")
    )
    priority = models.SmallIntegerField(
        default=0, help_text=_("Higher wins between equally specific assignments"), verbose_name=_("priority")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("tariff assignment")
        verbose_name_plural = _("tariff assignments")
        ordering = ["-priority", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(location__isnull=False, station_group__isnull=True, connector__isnull=True)
                    | Q(location__isnull=True, station_group__isnull=False, connector__isnull=True)
                    | Q(location__isnull=True, station_group__isnull=True, connector__isnull=False)
                ),
                name="tariff_assignment_one_scope",
            ),
            models.CheckConstraint(
                condition=Q(customer_group_type="all", customer_group_ref="")
                | (~Q(customer_group_type="all") & ~Q(customer_group_ref="")),
                name="tariff_assignment_customer_group_ref",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gt=models.F("valid_from")),
                name="tariff_assignment_valid_period",
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(tariff)s at %(scope)s") % {"tariff": self.tariff.code, "scope": self.scope_label}

    @property
    def scope_label(self) -> str:
        if self.connector_id:
            return gettext("connector %(connector)s") % {"connector": self.connector}
        if self.station_group_id:
            return gettext("group %(group)s") % {"group": self.station_group}
        return gettext("location %(location)s") % {"location": self.location}

    def clean(self) -> None:
        errors = {}
        scopes = [self.location_id, self.station_group_id, self.connector_id]
        if sum(scope is not None for scope in scopes) != 1:
            errors["__all__"] = [gettext("Choose exactly one of location, station group or connector.")]
        if self.customer_group_type == self.CustomerGroupType.ALL and self.customer_group_ref:
            errors["customer_group_ref"] = [gettext("Leave empty for all customers.")]
        if self.customer_group_type != self.CustomerGroupType.ALL and not self.customer_group_ref:
            errors["customer_group_ref"] = [gettext("Name the plan, fleet or roaming partner.")]
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            errors["valid_until"] = [gettext("Must be after valid from.")]
        if errors:
            raise ValidationError(errors)
