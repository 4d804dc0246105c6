"""Domain validation errors (django's ValidationError, raised by services) as the API's 400 field errors.

An error that knows its place inside a field (`path` like "elements[0].price_components[1].price", and its
`problems`: apps.tariffs.models.ElementError) is nested under it: {"elements": {"0": {"price_components": {"1":
{"price": [...]}}}}}. Messages about a node that also has nested errors are kept under "non_field_errors".
"""

import re
from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

NON_FIELD = "non_field_errors"
_STEP = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")
T = TypeVar("T")


def written(write: Callable[[], T], *, rename: dict[str, str] | None = None) -> T:
    """Runs a service's write; its refusals (django's ValidationError) become the API's 400 naming the fields."""
    try:
        with transaction.atomic():
            return write()
    except DjangoValidationError as error:
        raise validation_error_from(error, rename=rename) from error


def validation_error_from(error: DjangoValidationError, *, rename: dict[str, str] | None = None) -> ValidationError:
    """The 400 for a service's ValidationError; `rename` maps model field names to the API's (username → email)."""
    rename = rename or {}
    if not hasattr(error, "error_dict"):
        return ValidationError({NON_FIELD: error.messages})
    fields: dict = {}
    for name, errors in error.error_dict.items():
        name = NON_FIELD if name == NON_FIELD_ERRORS else rename.get(name, name)
        for item in errors:
            path = getattr(item, "path", None)
            if path:
                _nest(fields, [name, *_steps(path)[1:]], item.problems)
            else:
                _nest(fields, [name], item.messages)
    return ValidationError(fields)


def _steps(path: str) -> list[str]:
    return [index or name for index, name in _STEP.findall(path)]


def _nest(tree: dict, steps: list[str], messages: list[str]) -> None:
    *parents, leaf = steps
    node = tree
    for step in parents:
        child = node.get(step)
        if isinstance(child, list):
            child = node[step] = {NON_FIELD: child}
        node = node.setdefault(step, {}) if child is None else child
    existing = node.get(leaf)
    if isinstance(existing, dict):
        existing.setdefault(NON_FIELD, []).extend(messages)
    else:
        node.setdefault(leaf, []).extend(messages)


def text_filter(*, max_length: int, **kwargs) -> serializers.RegexField:
    """A text query parameter. Its pattern tells clients (and the schema) what the field's null-character check
    refuses: PostgreSQL text cannot hold NUL."""
    return serializers.RegexField(
        r"^[^\x00]*$", max_length=max_length, required=False, allow_blank=True, trim_whitespace=False, **kwargs
    )
