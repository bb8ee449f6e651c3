"""CSV as the product writes it: every cell a spreadsheet could run as a formula is disarmed.

A cell starting with = + - @ (or a tab or carriage return, which some programs skip before
reading one of those) is written with a leading apostrophe, as OWASP's CSV-injection guidance
asks. A plain number such as -3 or -0.25 is not a formula and stays as it is.
"""

import csv
import io
import re

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def spreadsheet_safe(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def csv_text(rows) -> str:
    """The rows as CSV text (RFC 4180 line ends), each cell made spreadsheet-safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return out.getvalue()
