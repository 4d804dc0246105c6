"""Payments: the platform's own Stripe key (for tenants connected through Stripe Connect) and webhook limits.

Each tenant's own provider credentials live in its schema (apps.billing.models.PaymentAccount), not here.
"""

from .env import env_int, env_str

# The platform's Stripe secret key: charges for tenants whose account is a Connect account id (acct_…) are made
# with it and the `Stripe-Account` header. Empty: only tenants with their own secret key can take Stripe payments.
STRIPE_PLATFORM_SECRET_KEY = env_str("STRIPE_PLATFORM_SECRET_KEY", "")
# How old a signed Stripe webhook may be (seconds) before it is refused as a possible replay; Stripe's default.
STRIPE_WEBHOOK_TOLERANCE_S = env_int("STRIPE_WEBHOOK_TOLERANCE_S", 300)
# Timeout of one request to a payment provider (seconds).
PAYMENT_PROVIDER_TIMEOUT_S = env_int("PAYMENT_PROVIDER_TIMEOUT_S", 30)
