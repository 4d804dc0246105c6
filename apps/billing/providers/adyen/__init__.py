"""Adyen payments (see provider.py)."""
