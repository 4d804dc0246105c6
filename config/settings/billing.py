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

# Who the platform is in OCPI (CDRs, tariffs): ISO 3166-1 alpha-2 country code and the 3-character party id.
OCPI_COUNTRY_CODE = env_str("OCPI_COUNTRY_CODE", "NL")
OCPI_PARTY_ID = env_str("OCPI_PARTY_ID", "EVP")
# The pre-authorisation hold placed when a session of a token linked to a paying customer starts (major units of
# the tenant's currency); the capture at the end takes at most this.
BILLING_SESSION_HOLD = env_str("BILLING_SESSION_HOLD", "50.00")
# The driver app (docs/driver-charging.md): the hold placed before a remote start, in minor units of the brand's
# currency (5000: 50.00 EUR); how long such a hold may wait for the session it started before it is released; how
# long a station has to answer the app's remote start or stop.
DRIVER_APP_HOLD_AMOUNT = env_int("DRIVER_APP_HOLD_AMOUNT", 5000)
DRIVER_APP_START_HOLD_MINUTES = env_int("DRIVER_APP_START_HOLD_MINUTES", 10)
DRIVER_APP_COMMAND_TIMEOUT_S = env_int("DRIVER_APP_COMMAND_TIMEOUT_S", 30)
