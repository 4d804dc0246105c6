"""Payment providers behind one interface (base.py): one package per provider."""

from apps.billing.models import PaymentAccount, Provider
from apps.billing.providers.base import PaymentProvider


def provider_for(account: PaymentAccount) -> PaymentProvider:
    """The provider that talks to `account`'s service with its credentials."""
    if account.provider == Provider.STRIPE:
        from apps.billing.providers.stripe.provider import StripeProvider

        return StripeProvider(account)
    if account.provider == Provider.ADYEN:
        from apps.billing.providers.adyen.provider import AdyenProvider

        return AdyenProvider(account)
    raise ValueError(f"Unknown payment provider {account.provider!r}.")
