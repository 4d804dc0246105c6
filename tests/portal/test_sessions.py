"""Sessions: live ones with their power and energy, completed ones with filters, and a session's meter chart and
CDR."""

from datetime import UTC, datetime

import pytest
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from tests.billing.factories import session_billed
from tests.portal.conftest import client_of
from tests.sessions.factories import ChargingSessionFactory, IdTokenFactory
from tests.stations.factories import StationFactory


@pytest.fixture
def sessions(tenant):
    with schema_context(tenant.schema_name):
        live = ChargingSessionFactory(
            station=StationFactory(identity="ALPHA-LIVE"), power_w=7400, energy_wh=2345, id_token_uid="LIVECARD99"
        )
        session, cdr, _invoice = session_billed(id_token=IdTokenFactory(uid="DONECARD42"))
    return live, session, cdr


@pytest.mark.django_db
def test_live_and_completed_sessions_are_listed(sessions, tenant):
    live, session, _cdr = sessions
    response = client_of(tenant, Role.OPERATOR).get("/portal/sessions/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-session-power="{live.pk}">7.40<' in page
    assert f'data-session-energy="{live.pk}">2.345<' in page
    assert list(response.context["live_sessions"]) == [live]
    assert [s.pk for s in response.context["page"]] == [session.pk]


@pytest.mark.django_db
def test_completed_sessions_filter_by_station_and_period(sessions, tenant):
    _live, session, _cdr = sessions
    client = client_of(tenant, Role.OPERATOR)
    day = session.started_at.date().isoformat()
    found = client.get("/portal/sessions/", {"station": session.station.identity, "start": day, "end": day})
    assert [s.pk for s in found.context["page"]] == [session.pk]
    assert list(client.get("/portal/sessions/", {"station": "NO-SUCH"}).context["page"]) == []
    assert list(client.get("/portal/sessions/", {"start": "2030-01-01"}).context["page"]) == []


@pytest.mark.django_db
def test_a_period_backwards_is_refused_with_a_clear_error(sessions, tenant):
    response = client_of(tenant, Role.OPERATOR).get("/portal/sessions/", {"start": "2026-03-05", "end": "2026-03-01"})
    assert response.status_code == 400
    assert "The end is before the start." in response.content.decode()


@pytest.mark.django_db
def test_token_ids_are_masked_without_the_personal_data_permission(sessions, tenant):
    page = client_of(tenant, Role.READ_ONLY).get("/portal/sessions/").content.decode()
    assert "LIVECARD99" not in page and "DONECARD42" not in page
    assert "•••RD99" in page
    assert "LIVECARD99" in client_of(tenant, Role.SUPPORT).get("/portal/sessions/").content.decode()


@pytest.mark.django_db
def test_the_session_page_has_its_meter_chart_and_its_cdr(sessions, tenant):
    _live, session, cdr = sessions
    response = client_of(tenant, Role.FINANCE).get(f"/portal/sessions/{session.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<polyline" in page
    assert response.context["power_chart"].maximum == 11000
    assert response.context["power_chart"].start == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert cdr.cdr_id in page
    assert f"<strong>{cdr.total_incl_vat:.2f}</strong>" in page
    assert cdr.currency in page
    assert "Power readings as a table" in page


@pytest.mark.django_db
def test_another_brands_session_is_not_found(sessions, outsider):
    _live, session, _cdr = sessions
    assert client_of(outsider, Role.OPERATOR).get(f"/portal/sessions/{session.pk}/").status_code == 404


@pytest.mark.django_db
def test_another_brands_sessions_are_not_listed(sessions, outsider):
    response = client_of(outsider, Role.OPERATOR).get("/portal/sessions/")
    assert list(response.context["live_sessions"]) == [] and list(response.context["page"]) == []


@pytest.mark.django_db
def test_a_role_without_the_session_permission_is_refused(sessions, tenant, role_without):
    _live, session, _cdr = sessions
    client = client_of(tenant, role_without("charging.view_chargingsession"))
    assert client.get("/portal/sessions/").status_code == 403
    assert client.get(f"/portal/sessions/{session.pk}/").status_code == 403


@pytest.mark.django_db
def test_sessions_of_stations_out_of_the_users_scope_are_hidden(sessions, tenant):
    live, session, _cdr = sessions
    client = client_of(tenant, Role.OPERATOR, scoped_to=[session.station.location])
    assert list(client.get("/portal/sessions/").context["live_sessions"]) == []
    assert client.get(f"/portal/sessions/{live.pk}/").status_code == 404
    assert client.get(f"/portal/sessions/{session.pk}/").status_code == 200
