"""Virtual OCPP charging stations for demos, tests and load: `python -m tools.simulator --help`.

Built on `websockets` alone, with no code from the platform, so what it sends is what a foreign charger sends.
"""
