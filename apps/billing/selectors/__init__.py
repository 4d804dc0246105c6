"""Reads of billing, one module per subject: payments.py, cdrs.py, invoices.py."""
