"""Charging sessions (transactions), ID tokens and meter samples. Version-neutral."""
