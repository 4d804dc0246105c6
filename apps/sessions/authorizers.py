"""ID tokens the platform does not hold itself: another platform's drivers (roaming eMSPs) that charge at our
stations. `id_token_authorize` asks the registered authorizers, in registration order, only when no local IdToken
matches, so local tokens never wait on a partner; `local_list_entries` adds the registered sources' tokens that
stations may accept offline. An app registers its functions when it is imported (AppConfig.ready)."""

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apps.sessions.selectors import LocalListEntry
    from apps.sessions.services import Authorization

Authorizer = Callable[..., "Authorization | None"]
LocalListSource = Callable[..., "list[LocalListEntry]"]

_authorizers: list[Authorizer] = []
_local_list_sources: list[LocalListSource] = []


def authorizer_register(func: Authorizer) -> Authorizer:
    """Add `func(*, uid, type, station_id, in_session)` → Authorization, or None when it does not know the token.
    Registering the same function twice keeps one (a module imported again must not ask twice)."""
    if func not in _authorizers:
        _authorizers.append(func)
    return func


def external_authorize(*, uid: str, type: str, station_id: int | None, in_session: bool = False):
    """The first answer of a registered authorizer that knows `uid`; None when none does.

    `in_session` says a running session's later message carries the token (2.0.1 TransactionEvent Updated/Ended,
    a retransmitted start): authorizers should decide from what they already know rather than ask a remote party
    again on every message."""
    for authorizer in _authorizers:
        authorization = authorizer(uid=uid, type=type, station_id=station_id, in_session=in_session)
        if authorization is not None:
            return authorization
    return None


def local_list_source_register(func: LocalListSource) -> LocalListSource:
    """Add `func(*, uids)` → LocalListEntry list: tokens a station may accept offline (all of them when `uids` is
    None, a full list; else only those named, for a differential update)."""
    if func not in _local_list_sources:
        _local_list_sources.append(func)
    return func


def external_local_list_entries(*, uids: list[str] | None = None) -> list["LocalListEntry"]:
    return [entry for source in _local_list_sources for entry in source(uids=uids)]
