"""OCPP 2.0.1 adapter: charging station requests → version-neutral services → response payloads."""
