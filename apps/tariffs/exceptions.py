"""Domain errors of tariffs and rating."""


class TariffInvalidError(Exception):
    """A tariff (or its OCPI form) contradicts itself or OCPI 2.2.1: `errors` maps a field path to its problems."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{path}: {' '.join(messages)}" for path, messages in errors.items()))


class CurrencyMismatchError(Exception):
    """Amounts in two currencies were about to be added or compared."""


class TariffInUseError(Exception):
    """A tariff still applies somewhere (assignments) or has priced CDRs: deleting it would lose where a price
    came from. Deassign it, or end its validity (`end_date_time`) instead."""

    def __init__(self, *, assignments: int, cdrs: int):
        self.assignments = assignments
        self.cdrs = cdrs
        super().__init__(f"The tariff has {assignments} assignment(s) and priced {cdrs} CDR(s).")
