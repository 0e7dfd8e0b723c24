"""The one way the desk compares email addresses: the intake, the acknowledgements, the SMTP
listener and the writer's data (export, erasure, merge) all normalise through here."""


def normalise_address(value: str, *, drop_tag: bool = False) -> str:
    """An address as the desk compares addresses: trimmed, without angle brackets, lower case.
    With drop_tag, also without the +tag of its local part (letters+slug@x is letters@x)."""
    address = (value or "").strip().strip("<>").lower()
    if drop_tag:
        local, at, domain = address.rpartition("@")
        if at:
            address = f"{local.partition('+')[0]}@{domain}"
    return address
