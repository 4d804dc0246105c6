"""`python manage.py simulate_stations URL ...`: the station simulator of tools/simulator, with its options."""

from argparse import Namespace

from django.core.management.base import BaseCommand, CommandError

from tools.simulator.cli import arguments_add, run


class Command(BaseCommand):
    help = "Run virtual OCPP 1.6J/2.0.1 charging stations against a CSMS endpoint (see docs/simulator.md)."

    def add_arguments(self, parser):
        arguments_add(parser)

    def handle(self, *args, **options):
        if run(Namespace(**options)) != 0:
            raise CommandError("some stations never connected")
