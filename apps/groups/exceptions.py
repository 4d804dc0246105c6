"""Domain errors of station groups."""


class WavesNeedWorkerError(Exception):
    """A run in several waves was to start where Celery runs tasks eagerly (no broker): the waves would all go out
    at once in the caller, the pauses between them ignored."""
