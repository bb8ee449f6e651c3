"""What a new password must not be: one of the commonest passwords, or the username.

Length (8–256) is the schema's; anything else about the characters is left to the person
(OWASP ASVS 2.1.9: no composition rules). The deny list ships in data/ (see its README).
"""
import gzip
from functools import lru_cache
from pathlib import Path

COMMON_PASSWORDS = Path(__file__).parent / "data" / "common-passwords.txt.gz"


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def password_problems(password: str, username: str | None) -> list[str]:
    """The reasons `password` is refused for `username` (empty when it is acceptable)."""
    problems = []
    folded = password.strip().lower()
    if folded in _common():
        problems.append("This is one of the most common passwords; choose one that is not.")
    if username and username.lower() in password.lower():
        problems.append("The password must not be or contain the username.")
    return problems
