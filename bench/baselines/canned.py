"""The answers the baselines give: a canned CALLRESULT per action, the same for both baselines."""

import json
from datetime import UTC, datetime


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def answer(text: str) -> str | None:
    """The CALLRESULT of a CALL frame, or None for anything else."""
    frame = json.loads(text)
    if not isinstance(frame, list) or len(frame) != 4 or frame[0] != 2:
        return None
    action = frame[2]
    if action == "BootNotification":
        payload = {"status": "Accepted", "currentTime": now(), "interval": 300}
    elif action == "Heartbeat":
        payload = {"currentTime": now()}
    elif action == "Authorize":
        payload = {"idTagInfo": {"status": "Accepted"}}
    else:
        payload = {}
    return json.dumps([3, frame[1], payload])
