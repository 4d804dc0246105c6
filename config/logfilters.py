"""Logging filters named in config/settings/logging.py."""

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """A 4xx answer (403 from a role without the permission, 404, 400) is the client's mistake, not the server's:
    Django logs it as a warning with the exception's traceback, which buries real errors; keep the one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        status_code = getattr(record, "status_code", None)
        if status_code is not None and status_code < 500:
            record.exc_info = None
            record.exc_text = None
        return True
