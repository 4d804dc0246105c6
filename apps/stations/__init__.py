"""Locations, stations, EVSEs and connectors; their status history, faults, events and message log. Version-neutral."""
