"""Celery: a Redis broker when CELERY_BROKER_URL (or REDIS_URL) is set, tasks run eagerly in-process otherwise."""

from .channels import REDIS_URL
from .env import env_str

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "") or REDIS_URL
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"

CELERY_BEAT_SCHEDULE = {
    "station-presence-sweep": {
        "task": "apps.stations.tasks.station_presence_sweep_all",
        "schedule": 60,
    },
    "reservations-expire": {
        "task": "apps.sessions.tasks.reservations_expire_all",
        "schedule": 60,
    },
    # Holds the driver app placed for a remote start that never produced a session (apps/billing/services/
    # driver_charges.py): released after DRIVER_APP_START_HOLD_MINUTES.
    "driver-start-holds-expire": {
        "task": "apps.billing.tasks.start_holds_expire_all",
        "schedule": 60,
    },
    "subscriptions-renew": {
        "task": "apps.billing.tasks.subscriptions_renew_all",
        "schedule": 60 * 60,
    },
    # Webhook retries: deliveries whose next attempt is due (apps/api/services/webhooks.py, docs/webhooks.md).
    "webhook-deliveries-due": {
        "task": "apps.api.tasks.webhook_deliveries_due",
        "schedule": 15,
    },
    # Roaming pushes that did not go out yet (apps/roaming/outbox.py, docs/roaming.md).
    "roaming-outbox-due": {
        "task": "apps.roaming.tasks.outbox_due_all",
        "schedule": 15,
    },
    "audit-log-prune": {
        "task": "apps.accounts.tasks.audit_prune_all",
        "schedule": 24 * 60 * 60,
    },
    "api-usage-prune": {
        "task": "apps.api.tasks.api_usage_prune_all",
        "schedule": 24 * 60 * 60,
    },
    "webhook-events-prune": {
        "task": "apps.api.tasks.webhook_events_prune_all",
        "schedule": 24 * 60 * 60,
    },
    "message-log-prune": {
        "task": "apps.stations.tasks.message_log_prune_all",
        "schedule": 24 * 60 * 60,
    },
}
