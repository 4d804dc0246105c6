"""Developer tooling: embedded services, and later the station simulator and load generator."""
