"""How drivers' personal data looks to staff without the personal-data permission (`accounts.see_personal_data`,
docs/accounts.md): enough to tell two rows apart, or for a driver on the phone to recognise their card, and not to
identify anyone. One format everywhere: the portal's pages, its reports, the message log, the reseller's views."""

MASK = "•••"


def mask_token(uid: str) -> str:
    """A token uid with its last four characters only, as printed on a card: "04A1B2C3D4" → "•••C3D4"."""
    return f"{MASK}{uid[-4:]}" if len(uid) > 4 else MASK if uid else ""


def mask_name(name: str) -> str:
    """ "Jane Doe" → "J••• D•••"."""
    return " ".join(f"{part[0]}{MASK}" for part in name.split()) if name.strip() else ""


def mask_email(email: str) -> str:
    """ "jane@example.com" → "j•••@e•••.com"."""
    if "@" not in email:
        return mask_name(email)
    local, _, domain = email.partition("@")
    host, dot, suffix = domain.rpartition(".")
    return f"{local[:1]}{MASK}@{(host or suffix)[:1]}{MASK}{dot}{suffix if host else ''}"
