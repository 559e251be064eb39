"""Short, readable, non-sequential codes (booking references, bill numbers)."""

from __future__ import annotations

import secrets

# No 0/O, 1/I/L: a patient reads the code aloud over the phone.
READABLE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def random_code(length: int = 8) -> str:
    return "".join(secrets.choice(READABLE_ALPHABET) for _ in range(length))
