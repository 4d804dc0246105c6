"""Message-log entries for frames in and out, and the bounded buffer for frames logged without a DB round trip."""

import logging
from datetime import datetime

from apps.stations.services import MessageLogInput

logger = logging.getLogger(__name__)

# An unparseable or oversized frame is logged as its first characters, not in full: the log must not become the
# way a misbehaving station fills the database.
RAW_FRAME_LOG_CHARS = 2000
# Whatever a station sends fits the log's columns: OCPP's own limits (message id 36, description 255) and room
# for the longest action and error code names (33 and 29 characters).
MESSAGE_ID_LOG_CHARS = 36
ACTION_LOG_CHARS = 40
ERROR_CODE_LOG_CHARS = 32
ERROR_DESCRIPTION_LOG_CHARS = 255

IN = "in"
OUT = "out"


def log_entry(
    *,
    station_id: int,
    direction: str,
    message_type: int,
    message_id: str,
    created_at: datetime,
    action: str = "",
    payload=None,
    error_code: str = "",
    error_description: str = "",
    latency_ms: int | None = None,
) -> MessageLogInput:
    return MessageLogInput(
        station_id=station_id,
        direction=direction,
        message_type=message_type,
        message_id=message_id[:MESSAGE_ID_LOG_CHARS],
        action=action[:ACTION_LOG_CHARS],
        payload=payload if payload is not None else {},
        error_code=error_code[:ERROR_CODE_LOG_CHARS],
        error_description=error_description[:ERROR_DESCRIPTION_LOG_CHARS],
        created_at=created_at,
        latency_ms=latency_ms,
    )


def raw_frame(text: str | None, size: int) -> str:
    """What the log keeps of a frame that could not be parsed."""
    if text is None:
        return f"<binary frame of {size} bytes>"
    if len(text) <= RAW_FRAME_LOG_CHARS:
        return text
    return f"{text[:RAW_FRAME_LOG_CHARS]}… <{size} bytes in all>"


class LogBacklog:
    """Entries waiting for the next database round trip of their connection (throttled frames).

    Bounded: under a flood the first `limit` entries are kept and the rest only counted, so memory and the
    eventual INSERT stay small whatever the station sends.
    """

    def __init__(self, limit: int = 1000):
        self.limit = limit
        self.entries: list[MessageLogInput] = []
        self.dropped = 0

    def add(self, *entries: MessageLogInput) -> None:
        room = self.limit - len(self.entries)
        self.entries.extend(entries[:room])
        self.dropped += max(0, len(entries) - room)

    def take(self, station_id: int) -> list[MessageLogInput]:
        entries, self.entries = self.entries, []
        if self.dropped:
            logger.warning("station %s: %s throttled frames were answered but not logged", station_id, self.dropped)
            self.dropped = 0
        return entries
