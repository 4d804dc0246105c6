"""Reads of ID tokens: the brand's tokens, and what stations keep locally (the local authorization list)."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from apps.sessions.models import IdToken


def id_token_list(
    *, uid: str | None = None, status: str | None = None, type: str | None = None, group_id: int | None = None
) -> QuerySet[IdToken]:
    """The brand's tokens; `uid` matches case-insensitively, as stations' uids are."""
    tokens = IdToken.objects.select_related("group")
    if uid is not None:
        tokens = tokens.filter(uid__iexact=uid)
    if status is not None:
        tokens = tokens.filter(status=status)
    if type is not None:
        tokens = tokens.filter(type=type)
    if group_id is not None:
        tokens = tokens.filter(group_id=group_id)
    return tokens


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
