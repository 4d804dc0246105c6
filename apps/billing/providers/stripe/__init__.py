"""Stripe payments (see provider.py)."""
