"""The translation catalogs in locale/: every language complete, present and compiled, placeholders intact,
and every label of the platform's models translatable."""

import gettext
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import override

from apps.stations.models import Station

LOCALE = Path(settings.LOCALE_PATHS[0])
LANGUAGES = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
# What a visitor sees first in every language: the admin's navigation, the sign-in pages, the switcher.
VISIBLE = ["Language", "Stations", "Charging sessions", "Tariffs", "Billing", "stations", "invoices", "Sign in"]
PLACEHOLDER = re.compile(r"%(?:\([a-z_]+\))?[sdr]|%%")


PO_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r"}


def po_string(quoted: str) -> str:
    """The text of a .po string literal ("…" with C escapes). Not ast.literal_eval: CPython 3.11's parser raised
    "SystemError: AST constructor recursion depth mismatch" in CI while another thread of the test process ran."""
    return re.sub(r"\\(.)", lambda match: PO_ESCAPES.get(match[1], match[0]), quoted.strip()[1:-1])


def po_entries(path: Path) -> list[dict]:
    """The entries of a .po file: msgctxt, msgid, msgid_plural, msgstr (a list), flags. Enough of the format for
    the files makemessages writes."""
    entries, entry, key = [], None, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry and "msgid" in entry:
                entries.append(entry)
            entry, key = None, None
            continue
        entry = entry if entry is not None else {"flags": [], "msgstr": {}}
        if line.startswith("#,"):
            entry["flags"] += [flag.strip() for flag in line[2:].split(",")]
        elif line.startswith("#"):
            continue
        elif match := re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?) (\".*\")$", line):
            key = ("msgstr", int(match[2] or 0)) if match[1].startswith("msgstr") else match[1]
            value = po_string(match[3])
            if isinstance(key, tuple):
                entry["msgstr"][key[1]] = value
            else:
                entry[key] = value
        else:
            value = po_string(line)
            if isinstance(key, tuple):
                entry["msgstr"][key[1]] += value
            else:
                entry[key] += value
    for entry in entries:
        entry["msgstr"] = [entry["msgstr"][n] for n in sorted(entry["msgstr"])]
    return [entry for entry in entries if entry["msgid"]]  # without the header


def po_path(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / "django.po"


def test_every_language_but_english_has_a_catalog_and_its_compiled_file():
    for language in LANGUAGES:
        assert po_path(language).is_file(), language
        assert po_path(language).with_suffix(".mo").is_file(), f"{language}: run manage.py compilemessages"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalog_translates_every_text_of_the_platform(language):
    entries = po_entries(po_path(language))

    assert len(entries) > 900
    untranslated = [entry["msgid"] for entry in entries if not all(entry["msgstr"])]
    fuzzy = [entry["msgid"] for entry in entries if "fuzzy" in entry["flags"]]
    assert untranslated == [] and fuzzy == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_most_visible_texts_are_translated_in_every_language(language):
    entries = po_entries(po_path(language))
    translated = {entry["msgid"] for entry in entries if all(entry["msgstr"])}

    assert set(VISIBLE) <= translated
    # makemessages guesses from similar texts and marks the guess fuzzy: a guess is no translation.
    assert [entry["msgid"] for entry in entries if "fuzzy" in entry["flags"]] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders_of_the_text(language):
    for entry in po_entries(po_path(language)):
        if "python-format" not in entry["flags"]:
            continue
        for translation in filter(None, entry["msgstr"]):
            assert sorted(PLACEHOLDER.findall(translation)) == sorted(PLACEHOLDER.findall(entry["msgid"])), entry


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalog_matches_its_source(language):
    """A .po edited without compilemessages would not show: the committed .mo must say the same."""
    with po_path(language).with_suffix(".mo").open("rb") as file:
        compiled = gettext.GNUTranslations(file)

    for entry in po_entries(po_path(language)):
        if not all(entry["msgstr"]) or "fuzzy" in entry["flags"]:
            continue
        msgid = entry["msgid"] if "msgctxt" not in entry else f"{entry['msgctxt']}\x04{entry['msgid']}"
        if "msgid_plural" in entry:
            assert [compiled.ngettext(msgid, entry["msgid_plural"], n) for n in (1, 2)] == entry["msgstr"][:2]
        else:
            assert compiled.gettext(msgid) == entry["msgstr"][0], msgid


def _our_models():
    return [model for model in apps.get_models() if model.__module__.startswith("apps.")]


def test_every_label_of_the_platforms_models_is_translatable():
    """Field names, help texts, choices and model names are lazy translations, so the admin can show them in any
    language (fields inherited from Django or django-tenants come with their own translations or none)."""
    plain = []
    for model in _our_models():
        for label in (model._meta.verbose_name, model._meta.verbose_name_plural):
            if not isinstance(label, Promise):
                plain.append(f"{model.__name__}: {label!r}")
        for field in model._meta.get_fields(include_parents=False):
            if field.auto_created or not field.concrete or field.model is not model:
                continue
            if not field.__class__.__module__.startswith("django.db.models"):
                continue
            if model.__name__ == "Tenant" and field.name == "schema_name":
                continue  # django-tenants' own field, read-only in the platform admin
            if not isinstance(field.verbose_name, Promise):
                plain.append(f"{model.__name__}.{field.name}: {field.verbose_name!r}")
            if field.help_text and not isinstance(field.help_text, Promise):
                plain.append(f"{model.__name__}.{field.name} help: {field.help_text!r}")
            for _value, choice in field.flatchoices if field.choices else ():
                # Language names are written in their own language; protocol names are names.
                if not isinstance(choice, Promise) and field.name not in {"default_locale", "protocol"}:
                    plain.append(f"{model.__name__}.{field.name} choice: {choice!r}")
    assert plain == [], "\n".join(plain)


def test_labels_follow_the_active_language():
    with override("de"):
        assert str(Station._meta.verbose_name_plural) == "Ladestationen"
        assert str(Station._meta.get_field("registration_status").verbose_name) == "Registrierungsstatus"
        assert str(Station.Registration.PENDING.label) == "Ausstehend"
    assert str(Station._meta.verbose_name_plural) == "stations"
