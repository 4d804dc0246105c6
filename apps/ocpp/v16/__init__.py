"""OCPP 1.6J adapter: charge point requests → version-neutral services → response payloads."""
