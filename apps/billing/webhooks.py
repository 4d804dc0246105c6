"""The providers' webhook endpoints, on each tenant's own domain: the Host picks the tenant (its schema), the path
the provider, and the tenant's account's secret verifies the signature. A bad signature is answered 400 and nothing
is applied; a verified event is applied once, however often it is delivered.
"""

import logging

from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.billing.exceptions import WebhookPayloadError, WebhookSignatureError
from apps.billing.models import Provider
from apps.billing.providers import provider_for
from apps.billing.selectors.payments import payment_account_get
from apps.billing.services.payments import payment_webhook_apply

logger = logging.getLogger(__name__)

# Adyen counts a notification as delivered only when the body is exactly this.
ADYEN_ACCEPTED = "[accepted]"


def _webhook(request, provider: str, accepted: str) -> HttpResponse:
    account = payment_account_get(provider=provider)
    if account is None:
        return HttpResponseNotFound(f"No {provider} account here.", content_type="text/plain")
    try:
        notifications = provider_for(account).webhook_parse(body=request.body, headers=request.headers)
    except WebhookSignatureError as error:
        logger.warning("%s webhook refused on %s: %s", provider, request.get_host(), error)
        return HttpResponseBadRequest("Signature verification failed.", content_type="text/plain")
    except WebhookPayloadError as error:
        logger.warning("%s webhook unreadable on %s: %s", provider, request.get_host(), error)
        return HttpResponseBadRequest("Unreadable payload.", content_type="text/plain")
    payment_webhook_apply(account=account, notifications=notifications)
    return HttpResponse(accepted, content_type="text/plain")


@csrf_exempt
@require_POST
def stripe_webhook(request) -> HttpResponse:
    return _webhook(request, Provider.STRIPE, "ok")


@csrf_exempt
@require_POST
def adyen_webhook(request) -> HttpResponse:
    return _webhook(request, Provider.ADYEN, ADYEN_ACCEPTED)
