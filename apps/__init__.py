"""Domain apps, one package per domain (see docs/architecture.md)."""
