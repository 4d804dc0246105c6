"""The upload endpoint for station logs: only with the command's token, within the size limit, nothing else."""

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.commands.models import StationFile
from apps.commands.services import command_create
from tests.stations.factories import StationFactory


@pytest.fixture
def log_command(tenant):
    with schema_context(tenant.schema_name):
        return command_create(station=StationFactory(protocol="ocpp2.0.1"), operation="get_log")


def test_a_log_goes_in_with_its_token_and_nowhere_else(tenant, outsider, log_command, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    path = f"/station-uploads/{log_command.token}"

    stored = Client(HTTP_HOST="alpha.localhost").put(path, b"log", content_type="text/plain")
    other_brand = Client(HTTP_HOST="bravo.localhost").put(path, b"log", content_type="text/plain")
    guessed = Client(HTTP_HOST="alpha.localhost").put("/station-uploads/guess", b"log", content_type="text/plain")
    read = Client(HTTP_HOST="alpha.localhost").get(path)

    assert (stored.status_code, other_brand.status_code, guessed.status_code, read.status_code) == (201, 404, 404, 405)
    with schema_context(tenant.schema_name):
        assert [(f.size, f.command_id) for f in StationFile.objects.all()] == [(3, log_command.pk)]


def test_an_upload_over_the_limit_is_refused_and_nothing_kept(tenant, log_command, settings):
    settings.STATION_UPLOAD_MAX_BYTES = 10

    response = Client(HTTP_HOST="alpha.localhost").put(
        f"/station-uploads/{log_command.token}", b"x" * 11, content_type="application/octet-stream"
    )

    assert (response.status_code, response.content) == (413, b"The file is larger than 10 bytes.")
    with schema_context(tenant.schema_name):
        assert not StationFile.objects.exists()


def test_only_log_commands_have_an_upload_token(tenant):
    with schema_context(tenant.schema_name):
        reset = command_create(station=StationFactory(protocol="ocpp1.6"), operation="reset")
    assert reset.token == ""
