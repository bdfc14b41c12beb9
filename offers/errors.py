"""The one exception type for a user's bad input, and wording shared by its messages."""


class InputError(ValueError):
    """Bad input from a user: a file, a CLI argument or a request body.

    ``str(err)`` is a one-line message that names the file, row, column or field
    and what was expected. The CLI prints it and exits with status 2; the API
    answers it with a 4xx JSON error body.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def not_utf8(err: UnicodeDecodeError) -> str:
    """How messages say that text is not UTF-8: by its first bad byte."""
    return f"not UTF-8 text (byte {err.object[err.start]:#04x})"
