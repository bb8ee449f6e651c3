"""One language at a time (issue 20): a Chinese screen shows no English word. What may appear
in Latin letters is only what the test planted — names, usernames, codes of its own data — and
the names of the product and the organisation, each language's own name on the language
switch, and the few format names the catalogue writes
as they are (PDF, CSV)."""
import re

# a word of three or more Latin letters standing alone (not part of an id, a hash or a code like R13)
WORD = re.compile(r"(?<![A-Za-z0-9_.@/-])[A-Za-z]{3,}(?![A-Za-z0-9_@/-])")
FORMATS = {"PDF", "CSV"}
# the language switch names each language in itself, so a reader finds their own
ENDONYMS = {"English"}
PRODUCT = "Doorstep"  # the app's own name, in the header of every screen


def names_of_the_house(app) -> set[str]:
    """The product's name and the organisation's (ORG_NAME, on the disclosure and letters)."""
    return planted(PRODUCT, app.config["ORG_NAME"])


def planted(*values) -> set[str]:
    """The Latin words of the data a test put in the database (names, usernames, codes)."""
    words = set()
    for value in values:
        words.update(re.findall(r"[A-Za-z]{3,}", str(value or "")))
    return words


def english_words(page, allowed: set[str]) -> list[str]:
    """The English words the page shows (its rendered text, as a person reads it) that are not
    planted data."""
    text = page.evaluate("() => document.body.innerText")
    return sorted({w for w in WORD.findall(text) if w not in allowed and w not in FORMATS | ENDONYMS})
