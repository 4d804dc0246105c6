"""What other apps may react to, sent once the session's transaction has committed (never inside it).

Receivers get `session_id`, `status` and `schema_name` (the tenant's schema the session lives in). Billing listens
to both (apps/billing/receivers.py): sessions never import billing, billing sits on top of sessions.
"""

from django.dispatch import Signal

session_started = Signal()
session_ended = Signal()
