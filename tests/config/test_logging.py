"""What the logs say about refused requests: one line for a client's error, the traceback for a server's."""

import logging

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from tests.accounts.factories import UserFactory


class Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def request_log():
    handler = Records()
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


@pytest.mark.django_db
def test_a_refused_page_is_logged_in_one_line_without_a_traceback(tenant, request_log):
    client = Client(HTTP_HOST="alpha.localhost")
    with schema_context(tenant.schema_name):
        client.force_login(UserFactory(role=Role.DRIVER))

    assert client.get("/portal/").status_code == 403

    [record] = request_log
    assert record.getMessage() == "Forbidden (Permission denied): /portal/"
    assert record.exc_info is None and record.levelno == logging.WARNING


def test_a_server_error_keeps_its_traceback(request_log):
    try:
        raise RuntimeError("boom")
    except RuntimeError as error:
        logging.getLogger("django.request").error("Internal Server Error", exc_info=error, extra={"status_code": 500})

    [record] = request_log
    assert record.exc_info is not None
