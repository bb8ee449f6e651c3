"""What a new password must not be: one of the commonest passwords, or the username.

Length (8–256) is the schema's; anything else about the characters is left to the person
(OWASP ASVS 2.1.9: no composition rules). The deny list (OWASP ASVS 2.1.7, checked offline,
no network service asked) is the 30,000 most common passwords from breach corpora that the
zxcvbn package ships as its "passwords" frequency list.
"""

from functools import lru_cache

from zxcvbn.frequency_lists import FREQUENCY_LISTS


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problems(password: str, username: str | None) -> list[str]:
    """The reasons `password` is refused for `username` (empty when it is acceptable)."""
    problems = []
    folded = password.strip().lower()
    if folded in _common():
        problems.append("This is one of the most common passwords; choose one that is not.")
    if username and username.lower() in password.lower():
        problems.append("The password must not be or contain the username.")
    return problems
