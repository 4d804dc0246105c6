"""Roaming errors, each with the OCPI status code it stands for (mapped to a response once, in transport.py)."""


class RoamingError(Exception):
    status_code = 3000

    def __init__(self, message: str = "", status_code: int | None = None):
        super().__init__(message)
        if status_code is not None:
            self.status_code = status_code


class PartnerUnreachableError(RoamingError):
    """We could not use the partner's API (3001)."""

    status_code = 3001


class PartnerRefusedError(RoamingError):
    """The partner answered with an OCPI client error (2xxx) about what we sent: sending it again will not help."""

    status_code = 2000


class UnsupportedVersionError(RoamingError):
    status_code = 3002


class EndpointsMissingError(RoamingError):
    status_code = 3003


class NotAllowedError(RoamingError):
    """The operation does not fit the registration's state (HTTP 405)."""

    status_code = 2000
