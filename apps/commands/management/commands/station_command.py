"""`python manage.py station_command TENANT IDENTITY OPERATION [--params JSON]`: send one remote operation."""

import json

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context
from rest_framework.exceptions import ValidationError

from apps.commands.models import Command as RemoteCommand
from apps.commands.operations import OPERATIONS
from apps.commands.services import command_send
from apps.stations.models import Station
from apps.whitelabel.models import Tenant


class Command(BaseCommand):
    help = "Send a remote operation to a station and print its outcome (see docs/commands.md)."

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="the brand's slug, e.g. demo")
        parser.add_argument("identity", help="the station's identity, e.g. DEMO-16-01")
        parser.add_argument("operation", choices=sorted(OPERATIONS))
        parser.add_argument("--params", default="{}", help='JSON object, e.g. \'{"kind": "hard"}\'')
        parser.add_argument("--timeout", type=int, default=30, help="seconds to wait for the answer (default 30)")

    def handle(self, *args, tenant, identity, operation, params, timeout, **options):
        brand = Tenant.objects.filter(slug=tenant).first()
        if brand is None:
            raise CommandError(f"No brand {tenant!r}.")
        try:
            parameters = json.loads(params)
        except ValueError as error:
            raise CommandError(f"--params is not JSON: {error}") from None
        with schema_context(brand.schema_name):
            station = Station.objects.filter(identity=identity).first()
            if station is None:
                raise CommandError(f"{brand.name} has no station {identity!r}.")
            try:
                command = command_send(
                    station=station,
                    operation=operation,
                    params=parameters,
                    source="cli",
                    timeout_s=timeout,
                )
            except ValidationError as error:
                raise CommandError(f"Not sent: {json.dumps(error.detail)}") from None
        self.stdout.write(
            json.dumps(
                {
                    "command": command.pk,
                    "status": command.status,
                    "answer_status": command.answer_status,
                    "detail": command.detail,
                    "response": command.response,
                }
            )
        )
        if command.status != RemoteCommand.Status.ACCEPTED:
            raise CommandError(f"{operation}: {command.status}")
