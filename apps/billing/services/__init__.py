"""Writes of billing, one module per subject (payments.py; CDRs and invoices to come)."""
