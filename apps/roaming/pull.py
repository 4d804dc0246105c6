"""A full or incremental pull (OCPI 2.2.1 pagination) of a partner's SENDER list: every page, following the `Link`
header, each object stored by the module's store function (apps.roaming.modules.PULL_STORES). Used for a resync,
a first load, or after a partner was down: with `date_from`, only what changed since."""

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from apps.roaming.client import partner_call
from apps.roaming.exceptions import PartnerUnreachableError, RoamingError
from apps.roaming.models import Partner
from apps.roaming.modules import PULL_STORES, resolve

logger = logging.getLogger(__name__)

MAX_PAGES = 10_000
LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


@dataclass
class PullResult:
    stored: int = 0
    pages: int = 0
    refused: list[str] = field(default_factory=list)  # objects that were not valid: "id: reason"


def next_link(headers: dict[str, str]) -> str:
    for name, value in headers.items():
        if name.lower() == "link":
            found = LINK_NEXT.search(value)
            if found:
                return found.group(1)
    return ""


def partner_pull(
    *, partner: Partner, module: str, date_from: datetime | None = None, date_to: datetime | None = None
) -> PullResult:
    """Pull `module` from the partner's SENDER endpoint, every page; an invalid object is skipped and reported."""
    store = resolve(PULL_STORES[module])
    if store is None:
        raise RoamingError(f"Pulling {module} is not supported")
    params = {}
    if date_from:
        params["date_from"] = date_from.strftime("%Y-%m-%dT%H:%M:%SZ")
    if date_to:
        params["date_to"] = date_to.strftime("%Y-%m-%dT%H:%M:%SZ")
    result = PullResult()
    answer = partner_call(partner, "GET", module=module, role="SENDER", params=params or None)
    while True:
        result.pages += 1
        if not isinstance(answer.data, list | None):
            raise PartnerUnreachableError(f"{module} page {result.pages} of {partner}: data is not a list")
        for item in answer.data or []:
            if not isinstance(item, dict):
                result.refused.append(f"None: not an object: {item!r}"[:200])
                continue
            try:
                # One object's writes stand or fall together, whatever transaction the caller holds.
                with transaction.atomic():
                    store(partner=partner, data=item)
                result.stored += 1
            except RoamingError as error:
                result.refused.append(f"{item.get('id') or item.get('uid')}: {error}")
        link = next_link(answer.headers)
        if not link or result.pages >= MAX_PAGES:
            break
        answer = partner_call(partner, "GET", url=link)
    if result.refused:
        logger.warning("pull of %s from %s: %s objects refused", module, partner, len(result.refused))
    return result
