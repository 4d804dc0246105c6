"""Errors of accounts: refused role changes and invitations that can no longer be used."""


class RoleNotGrantableError(Exception):
    """Someone tried to give a role they may not give (a role with more rights than their own)."""


class InvitationUnusableError(Exception):
    """The invitation link is unknown, expired, revoked or already used; `reason` says which."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    ACCEPTED = "accepted"

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
