"""Tariffs in the shape of OCPI 2.2.1, and where they apply: by location, station group or connector, for all
customers or one customer group, for a period, with a priority."""

import json
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

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


def _money_field(label: str) -> models.DecimalField:
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

    class Type(models.TextChoices):
        AD_HOC_PAYMENT = "AD_HOC_PAYMENT", "Ad-hoc payment (card terminal)"
        PROFILE_CHEAP = "PROFILE_CHEAP", "Smart charging: cheap"
        PROFILE_FAST = "PROFILE_FAST", "Smart charging: fast"
        PROFILE_GREEN = "PROFILE_GREEN", "Smart charging: green"
        REGULAR = "REGULAR", "Regular"

    code = models.CharField(
        "tariff id",
        max_length=36,
        unique=True,
        validators=[RegexValidator(r"^[A-Za-z0-9._-]+$", "Letters, digits, '.', '_' and '-' (OCPI CiString).")],
        help_text="The OCPI Tariff.id partners see",
    )
    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3, help_text="ISO 4217, e.g. EUR")
    type = models.CharField(max_length=16, choices=Type.choices, blank=True, help_text="Empty: any session")
    tariff_alt_text = models.JSONField(
        "alternative text", default=list, blank=True, help_text='[{"language": "en", "text": "..."}]'
    )
    tariff_alt_url = models.URLField("alternative URL", blank=True)
    min_price_excl_vat = _money_field("minimum price excl. VAT")
    min_price_incl_vat = _money_field("minimum price incl. VAT")
    max_price_excl_vat = _money_field("maximum price excl. VAT")
    max_price_incl_vat = _money_field("maximum price incl. VAT")
    start_date_time = models.DateTimeField("valid from", null=True, blank=True)
    end_date_time = models.DateTimeField("valid until", null=True, blank=True)
    elements = models.JSONField(
        encoder=DjangoJSONEncoder, decoder=DecimalJSONDecoder, help_text="OCPI TariffElements, in order"
    )
    parking_grace_minutes = models.PositiveIntegerField(
        default=0, help_text="Platform extension: parking time not billed at first (minutes)"
    )
    parking_fee_cap = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Platform extension: the most the parking fee of a session costs, excl. VAT",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, help_text="OCPI last_updated")

    class Meta:
        ordering = ["name", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code}, {self.currency})"

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        self.currency = (self.currency or "").upper()
        if not currency_is_known(self.currency):
            errors["currency"] = [f"{self.currency!r} is not an ISO 4217 currency code."]
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
                errors.setdefault(f"max_price_{side}", []).append("Below the minimum price.")
        for bound in ("min_price", "max_price"):
            if getattr(self, f"{bound}_incl_vat") is not None and getattr(self, f"{bound}_excl_vat") is None:
                errors.setdefault(f"{bound}_excl_vat", []).append("Required with the price incl. VAT (OCPI Price).")
        if self.start_date_time and self.end_date_time and self.end_date_time <= self.start_date_time:
            errors["end_date_time"] = ["Must be after the start."]
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
        return ['A list of {"language": "en", "text": "..."}.']
    problems, languages = [], set()
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"language", "text"}:
            problems.append(f"[{index}]: an object with exactly language and text.")
            continue
        language, text = item["language"], item["text"]
        if not (isinstance(language, str) and len(language) == 2 and language.isalpha() and language.islower()):
            problems.append(f"[{index}].language: a two-letter ISO 639-1 code, e.g. 'en'.")
        elif language in languages:
            problems.append(f"[{index}].language: {language!r} is given twice.")
        languages.add(language)
        if not isinstance(text, str) or not text.strip() or len(text) > 512 or "\x00" in text:
            problems.append(f"[{index}].text: a text of 1 to 512 characters.")
    return problems


class TariffAssignment(models.Model):
    """Which tariff applies where, to whom, and when. The most specific applicable assignment wins
    (`apps.tariffs.selectors.tariff_for_station`): a customer group's over all customers', then connector over
    station group over location, then the higher priority, then the later start."""

    class CustomerGroupType(models.TextChoices):
        # Plans, fleets and roaming partners have no models yet: they are named by `customer_group_ref`.
        ALL = "all", "All customers"
        PLAN = "plan", "A subscription plan"
        FLEET = "fleet", "A fleet"
        ROAMING_PARTNER = "roaming_partner", "A roaming partner"

    tariff = models.ForeignKey(Tariff, on_delete=models.PROTECT, related_name="assignments")
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.CASCADE, related_name="tariff_assignments"
    )
    station_group = models.ForeignKey(
        StationGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="tariff_assignments"
    )
    connector = models.ForeignKey(
        Connector, null=True, blank=True, on_delete=models.CASCADE, related_name="tariff_assignments"
    )
    customer_group_type = models.CharField(
        max_length=16, choices=CustomerGroupType.choices, default=CustomerGroupType.ALL
    )
    customer_group_ref = models.CharField(
        max_length=64, blank=True, help_text="The plan, fleet or partner (e.g. NL*ABC); empty for all customers"
    )
    valid_from = models.DateTimeField(null=True, blank=True, help_text="Empty: from the start")
    valid_until = models.DateTimeField(null=True, blank=True, help_text="Empty: until further notice (exclusive)")
    priority = models.SmallIntegerField(default=0, help_text="Higher wins between equally specific assignments")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
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
        return f"{self.tariff.code} at {self.scope_label}"

    @property
    def scope_label(self) -> str:
        if self.connector_id:
            return f"connector {self.connector}"
        if self.station_group_id:
            return f"group {self.station_group}"
        return f"location {self.location}"

    def clean(self) -> None:
        errors = {}
        scopes = [self.location_id, self.station_group_id, self.connector_id]
        if sum(scope is not None for scope in scopes) != 1:
            errors["__all__"] = ["Choose exactly one of location, station group or connector."]
        if self.customer_group_type == self.CustomerGroupType.ALL and self.customer_group_ref:
            errors["customer_group_ref"] = ["Leave empty for all customers."]
        if self.customer_group_type != self.CustomerGroupType.ALL and not self.customer_group_ref:
            errors["customer_group_ref"] = ["Name the plan, fleet or roaming partner."]
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            errors["valid_until"] = ["Must be after valid from."]
        if errors:
            raise ValidationError(errors)
