"""A driver's own payment methods, added in their brand's app (issue 9): their `PaymentCustomer` with the brand's
payment account, made on their first method, and the link of every ID token they own to it
(`PaymentCustomerToken`), so the billing pipeline places a hold when a session with one of them starts."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from apps.billing.exceptions import PaymentAccountError
from apps.billing.models import PaymentAccount, PaymentCustomer, PaymentCustomerToken, Provider, StoredPaymentMethod
from apps.billing.services.payments import payment_customer_create, payment_method_attach
from apps.sessions.models import IdToken


def driver_payment_account() -> PaymentAccount | None:
    """The brand's account drivers store methods with: its active one (Stripe before Adyen if both are)."""
    accounts = sorted(PaymentAccount.objects.filter(is_active=True), key=lambda a: a.provider != Provider.STRIPE)
    return next(iter(accounts), None)


def driver_payment_setup() -> dict:
    """What the driver app needs to take a card with the brand's provider: `provider` (None: the brand takes no
    payments in the app), Stripe's `publishable_key`, and `sandbox` (the offline sandbox: test cards only)."""
    account = driver_payment_account()
    return {
        "provider": account.provider if account else None,
        "publishable_key": account.publishable_key if account else "",
        "sandbox": bool(account and account.offline_sandbox),
    }


def driver_payment_customer(*, user) -> PaymentCustomer | None:
    """The driver's customer with the brand's active account, None before their first method."""
    account = driver_payment_account()
    if account is None:
        return None
    return PaymentCustomer.objects.filter(account=account, user=user).order_by("created_at").first()


def driver_payment_method_list(*, user):
    customer = driver_payment_customer(user=user)
    if customer is None:
        return StoredPaymentMethod.objects.none()
    return customer.payment_methods.order_by("-is_default", "-created_at", "-pk")


@transaction.atomic
def driver_payment_method_add(*, user, provider_reference: str) -> StoredPaymentMethod:
    """Attach a method the provider tokenised in the driver's browser (Stripe `pm_…`) through the brand's account.
    The first method is the default; adding the default again keeps it so. Raises PaymentAccountError without an
    active account, ProviderError when the provider refuses it."""
    account = driver_payment_account()
    if account is None:
        raise PaymentAccountError("The brand takes no payments.")
    customer = payment_customer_create(
        account=account,
        reference=f"user-{user.pk}",
        email=user.email,
        name=user.get_full_name(),
        user=user,
    )
    default = customer.payment_methods.filter(is_default=True).first()
    make_default = default is None or default.provider_reference == provider_reference
    method = payment_method_attach(customer=customer, payment_method=provider_reference, make_default=make_default)
    driver_tokens_link(user)
    return method


@transaction.atomic
def driver_payment_method_default_set(*, user, method: StoredPaymentMethod) -> StoredPaymentMethod:
    _driver_method_check(user, method)
    method.customer.payment_methods.filter(is_default=True).exclude(pk=method.pk).update(is_default=False)
    method.is_default = True
    method.save(update_fields=["is_default"])
    return method


@transaction.atomic
def driver_payment_method_remove(*, user, method: StoredPaymentMethod) -> None:
    """Forget a stored method. When it was the default, the newest other method becomes the default, so charging
    keeps working. (The method stays with the provider: the interface has no detach, and it is unused from now.)"""
    _driver_method_check(user, method)
    customer = method.customer
    was_default = method.is_default
    method.delete()
    if was_default:
        successor = customer.payment_methods.order_by("-created_at", "-pk").first()
        if successor is not None:
            successor.is_default = True
            successor.save(update_fields=["is_default"])


def _driver_method_check(user, method: StoredPaymentMethod) -> None:
    if method.customer.user_id != user.pk:
        raise ValidationError(_("This is not your payment method."))


@transaction.atomic
def driver_tokens_link(user) -> int:
    """Link every ID token `user` owns (their cards, their app token) to their PaymentCustomer, so their sessions
    are paid with their default method; tokens they no longer own lose the link to it. Idempotent; a token another
    customer pays for (an operator's fleet arrangement) is left alone. Returns how many links were made."""
    customer = driver_payment_customer(user=user)
    if customer is None:
        return 0
    # Two of the driver's requests at once (a double tap on Start) link one after the other, never twice.
    PaymentCustomer.objects.select_for_update().filter(pk=customer.pk).first()
    PaymentCustomerToken.objects.filter(customer__user=user).exclude(id_token__owner=user).delete()
    made = 0
    for token in IdToken.objects.filter(owner=user).exclude(status=IdToken.Status.BLOCKED):
        link = PaymentCustomerToken.objects.filter(id_token=token).select_related("customer").first()
        if link is None:
            PaymentCustomerToken.objects.create(customer=customer, id_token=token)
            made += 1
        elif link.customer_id != customer.pk and link.customer.user_id == user.pk:
            link.customer = customer  # their customer with an account no longer in use
            link.save(update_fields=["customer"])
            made += 1
    return made
