"""Roaming over OCPI 2.2.1 (apps/roaming, docs/roaming.md)."""

from .env import env_int

# A running roaming session's Session is PATCHed to its eMSP at most once every this many seconds (meter values
# come far more often); its start (PUT) and end (PATCH COMPLETED) always go. 0: every update is pushed.
ROAMING_SESSION_PATCH_SECONDS = env_int("ROAMING_SESSION_PATCH_SECONDS", 30)
