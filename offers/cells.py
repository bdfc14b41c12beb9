"""Text cells of the CSV files Encore writes: safe to open in a spreadsheet, read back as
they were written.

Much of that text comes from anyone who can load a shop's page (a placement, a customer
id, an attribute), and a spreadsheet runs a cell starting ``=``, ``+``, ``-`` or ``@`` as
a formula. Such text gets a leading ``'`` (OWASP's advice), which spreadsheets show as
text; Encore's readers take it off again.
"""

import pandas as pd

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED = r"^'(?=[=+\-@\t\r])"


def as_text_cell(value: object) -> object:
    """``value`` for a CSV cell: None as empty, formula-like text behind a ``'``."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def read_text_cells(column: pd.Series) -> pd.Series:
    """A text column as written before :func:`as_text_cell` escaped it."""
    return column.str.replace(_ESCAPED, "", regex=True)
