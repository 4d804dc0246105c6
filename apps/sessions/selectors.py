"""Reads of ID tokens for what stations keep locally: the local authorization list."""

from dataclasses import dataclass
from datetime import datetime

from apps.sessions.models import IdToken


@dataclass(frozen=True)
class LocalListEntry:
    """An ID token as a station's local list holds it; `status` None means: remove it (differential update)."""

    uid: str
    type: str = IdToken.Type.ISO14443
    status: str | None = IdToken.Status.ACCEPTED
    expires_at: datetime | None = None
    group_uid: str = ""


def local_list_entries(*, uids: list[str] | None = None) -> list[LocalListEntry]:
    """The brand's tokens for a full list (every token, uids None), or the named ones for a differential update:
    a named uid the brand does not have any more is an entry without status, which removes it from the station."""
    tokens = IdToken.objects.select_related("group").order_by("uid")
    if uids is not None:
        tokens = tokens.filter(uid__in=uids)
    entries = [
        LocalListEntry(
            uid=token.uid,
            type=token.type,
            status=token.status,
            expires_at=token.expires_at,
            group_uid=token.group.uid if token.group else "",
        )
        for token in tokens
    ]
    if uids is not None:
        known = {entry.uid for entry in entries}
        entries += [LocalListEntry(uid=uid, status=None) for uid in uids if uid not in known]
    return entries
