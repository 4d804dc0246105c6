"""Roaming end to end between two brands served by two daphne processes over real HTTP: alpha is the CPO with two
simulated OCPP 1.6 stations, bravo the eMSP whose drivers charge there.

1. Alpha registers with bravo (token A out of band, POST credentials, bravo calls alpha back), then bravo pulls
   alpha's tariffs and locations.
2. A bravo driver swipes a card at alpha's station: the station's Authorize makes alpha ask bravo in real time
   (POST tokens/{uid}/authorize), the session runs, bravo sees it live (PUT, then PATCHes with the energy), the
   station's status reaches bravo's copy of the location, and bravo receives the CDR, whose total is alpha's rating
   and matches bravo's own rating with the tariff it pulled.
3. Bravo starts a session remotely (START_SESSION): the station gets the remote start, bravo gets the station's
   answer at its response URL, and the session shows at bravo.
4. Alpha rotates its credentials in the middle of that session: bravo's STOP_SESSION (with its new token) stops it
   and alpha's pushes (with its new token) still arrive, up to the second CDR.
"""

import asyncio
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from apps.billing.models import Cdr
from apps.commands.models import Command
from apps.roaming.models import Partner, PartnerCdr, PartnerLocation, PartnerSession, PartnerTariff, SentCommand
from apps.roaming.modules.commands import command_to_partner_send, session_start_request
from apps.roaming.pull import partner_pull
from apps.roaming.services import partner_create, partner_credentials_rotate, partner_register
from apps.sessions.models import ChargingSession, IdToken
from apps.stations.models import Connector, Location
from tests.billing.factories import BILLING_ELEMENTS
from tests.ocpp.server import eventually
from tests.processes import DaphneProcess
from tests.roaming.factories import RoamingSettingsFactory
from tests.simulated import on_demand_station
from tests.stations.factories import STATION_PASSWORD
from tests.tariffs.factories import TariffAssignmentFactory
from tools.simulator.station import VirtualStation, stations_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settled")]

CARD, APP = "BRV00000001", "BRV00000002"


def test_a_bravo_driver_charges_at_alpha_over_ocpi_between_two_servers(tenant, outsider, tmp_path, station_make):
    env = {"ROAMING_SESSION_PATCH_SECONDS": "0"}
    with (
        DaphneProcess(tmp_path / "alpha.log", **env) as alpha_server,
        DaphneProcess(tmp_path / "bravo.log", **env) as bravo_server,
    ):
        alpha_url = f"http://alpha.localhost:{alpha_server.port}"
        bravo_url = f"http://bravo.localhost:{bravo_server.port}"

        def at_bravo():
            return schema_context(outsider.schema_name)

        def at_alpha():
            return schema_context(tenant.schema_name)

        # --- 1. registration, then bravo's first pull --------------------------------------------------------
        with at_bravo():
            RoamingSettingsFactory(
                country_code="DE", party_id="BRV", roles=["EMSP"], business_name="Bravo Power", public_url=bravo_url
            )
            _, token_a = partner_create(name="Alpha Charge")
            IdToken.objects.create(uid=CARD, type=IdToken.Type.ISO14443, label="Bravo card")
            app_token = IdToken.objects.create(uid=APP, type=IdToken.Type.ISO14443, label="Bravo app")
        card_station = station_make("ROAM-CARD", password=STATION_PASSWORD)
        app_station = station_make("ROAM-APP", password=STATION_PASSWORD)
        with at_alpha():
            RoamingSettingsFactory(public_url=alpha_url)
            location = Location.objects.create(
                name="Harbour",
                address="Kade 1",
                city="Utrecht",
                postal_code="3511",
                country="NL",
                timezone="Europe/Amsterdam",
                latitude="52.090000",
                longitude="5.120000",
            )
            for station in (card_station, app_station):
                station.location = location
                station.save(update_fields=["location"])
            tariff = TariffAssignmentFactory(location=location, tariff__elements=BILLING_ELEMENTS).tariff
            at_alpha_partner, _ = partner_create(
                name="Bravo Power", versions_url=f"{bravo_url}/ocpi/versions", token=token_a
            )
            at_alpha_partner = partner_register(partner=at_alpha_partner)
            alpha_calls_bravo_with = at_alpha_partner.token_b
        with at_bravo():
            bravo_partner = Partner.objects.get(name="Alpha Charge")
            assert bravo_partner.status == Partner.Status.REGISTERED
            assert partner_pull(partner=bravo_partner, module="tariffs").stored == 1
            assert PartnerTariff.objects.get().object_id == tariff.code

        # --- 2. a card swiped at alpha's station -------------------------------------------------------------
        card = on_demand_station(
            alpha_server.port,
            "ROAM-CARD",
            id_tags=(CARD,),
            idle_seconds=1,
            session_seconds=6,
            meter_interval=0.5,
            sessions=1,
        )
        app = on_demand_station(alpha_server.port, "ROAM-APP", meter_interval=0.5)

        def connected(identity):
            with at_alpha():
                return Connector.objects.filter(evse__station__identity=identity, status="Available").exists()

        def bravo_session(uid, **filters):
            with at_bravo():
                return PartnerSession.objects.filter(token_uid=uid, **filters).first()

        def bravo_cdr(uid):
            with at_bravo():
                return PartnerCdr.objects.filter(token_uid=uid).first()

        def in_schema(schema_name, function, **kwargs):
            # asyncio.to_thread runs in another thread, whose connection starts in the public schema.
            with schema_context(schema_name):
                return function(**kwargs)

        def alpha_session(uid, **filters):
            with at_alpha():
                return ChargingSession.objects.filter(id_token_uid=uid, **filters).first()

        async def until(check, what: str, timeout: float = 30):
            found = await asyncio.to_thread(eventually, check, timeout)
            assert found, f"{what}: not within {timeout} s"
            return found

        async def scenario():
            running = asyncio.create_task(stations_run([VirtualStation(card), VirtualStation(app)], duration=90))
            seen = {}
            await until(lambda: connected("ROAM-APP"), "ROAM-APP available", 20)
            pulled = await asyncio.to_thread(
                in_schema, outsider.schema_name, partner_pull, partner=bravo_partner, module="locations"
            )
            seen["pulled_locations"] = pulled.stored
            # The card session: live at bravo with energy, then its CDR.
            seen["live"] = await until(
                lambda: bravo_session(CARD, status="ACTIVE", kwh__gt=0), "the card session live at bravo"
            )
            seen["card_cdr"] = await until(lambda: bravo_cdr(CARD), "the card CDR at bravo")

            # The app session, started by bravo.
            def start_app_session():
                request = session_start_request(
                    partner=bravo_partner, id_token=app_token, location_id=str(location.pk), evse_uid="ROAM-APP*1"
                )
                return command_to_partner_send(partner=bravo_partner, type="START_SESSION", request=request)

            seen["start"] = await asyncio.to_thread(in_schema, outsider.schema_name, start_app_session)
            seen["app_session"] = await until(lambda: alpha_session(APP, status="active"), "the remote start at alpha")
            seen["app_live"] = await until(lambda: bravo_session(APP, status="ACTIVE"), "the app session live at bravo")
            seen["rotated"] = await asyncio.to_thread(
                in_schema, tenant.schema_name, partner_credentials_rotate, partner=at_alpha_partner
            )

            def stop_app_session():
                # Bravo's partner row as it is now: after the rotation it holds alpha's new token.
                return command_to_partner_send(
                    partner=Partner.objects.get(pk=bravo_partner.pk),
                    type="STOP_SESSION",
                    request={"session_id": str(seen["app_session"].pk)},
                )

            seen["stop"] = await asyncio.to_thread(in_schema, outsider.schema_name, stop_app_session)
            seen["app_cdr"] = await until(lambda: bravo_cdr(APP), "the app CDR at bravo")
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            return seen

        seen = asyncio.run(scenario())

        # Bravo's copy of alpha's location, with both EVSEs.
        assert seen["pulled_locations"] == 1
        with at_bravo():
            copy = PartnerLocation.objects.get(object_id=str(location.pk))
            assert {evse["uid"] for evse in copy.data["evses"]} == {"ROAM-CARD*1", "ROAM-APP*1"}

        # The card: authorised in real time by bravo, charged, seen live, and its CDR matches alpha's rating.
        with at_alpha():
            card_session = ChargingSession.objects.get(id_token_uid=CARD)
            assert card_session.authorization_status == "Accepted"
            assert card_session.roaming.partner == at_alpha_partner
            card_cdr = Cdr.objects.get(session=card_session)
        assert seen["live"].kwh > 0
        received = seen["card_cdr"]
        assert received.object_id == card_cdr.cdr_id
        assert received.total_cost_excl_vat == card_cdr.total_excl_vat
        assert received.total_energy == card_cdr.total_energy_kwh
        assert received.expected_total_excl_vat == card_cdr.total_excl_vat and not received.disputed
        assert received.total_cost_excl_vat > Decimal(0)

        # The remote start reached the station, and bravo got the station's answer at its response URL.
        assert seen["start"].response["result"] == "ACCEPTED"
        with at_bravo():
            start = SentCommand.objects.get(pk=seen["start"].pk)
            assert start.result["result"] == "ACCEPTED"
        with at_alpha():
            remote_start = Command.objects.get(operation="remote_start")
        assert remote_start.status == Command.Status.ACCEPTED and remote_start.params["id_token"] == APP
        assert seen["app_live"].data["auth_method"] == "COMMAND"

        # After the rotation, the stop (bravo → alpha) and the pushes (alpha → bravo) used the new tokens.
        assert seen["rotated"].token_b != alpha_calls_bravo_with
        assert seen["stop"].response["result"] == "ACCEPTED"
        with at_alpha():
            app_cdr = Cdr.objects.get(session__id_token_uid=APP)
        assert seen["app_cdr"].total_cost_excl_vat == app_cdr.total_excl_vat
        with at_bravo():
            assert PartnerSession.objects.get(token_uid=APP).status == "COMPLETED"
        assert "Traceback" not in alpha_server.log and "Traceback" not in bravo_server.log
