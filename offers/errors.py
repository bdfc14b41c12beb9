"""The one exception type for a user's bad input, and wording shared by its messages."""

from collections.abc import Iterator
from contextlib import contextmanager

_BINARY_KINDS = (  # what a file is, by its first bytes, when it is no text at all
    (b"PK\x03\x04", "a ZIP archive (an Excel workbook is one)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook"),
    (b"BZh", "bzip2 data"),
    (b"\xfd7zXZ\x00", "xz data"),
    (b"\x28\xb5\x2f\xfd", "zstd data"),
)
_WIDE_BOMS = (  # UTF-32's little-endian mark starts with UTF-16's: test it first
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


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


# JSON or YAML nested so deep that reading it exhausts Python's recursion limit (~1,000 levels
# for msgspec and PyYAML, about 2 KB of brackets); no real order or offer nests past a few.
TOO_DEEP = "nested too deeply (arrays or objects over ~1,000 levels)"


@contextmanager
def opening(name: str) -> Iterator[None]:
    """Say in one line, naming the file ``name``, why it could not be opened or read."""
    try:
        yield
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a folder, not a file") from None
    except PermissionError:
        raise InputError(f"{name}: cannot read the file (permission denied)") from None


def first_line(err: BaseException) -> str:
    """The first line of why ``err`` happened, for a one-line message: a database
    driver's own reason when it wraps one (never the URL, which may hold a password),
    else the error's text, else its type's name."""
    reason = getattr(err, "orig", None) or err
    lines = str(reason).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def not_utf8(err: UnicodeDecodeError) -> str:
    """How messages say that text is not UTF-8: UTF-16 or UTF-32 by name, else by its
    first bad byte."""
    bad_byte = err.object[err.start]
    return wide_encoding_problem(err.object[:64]) or f"not UTF-8 text (byte {bad_byte:#04x})"


def wide_encoding_problem(start: bytes) -> str | None:
    """``"UTF-16 text, not UTF-8"`` (or UTF-32) when text starting with ``start`` is in
    that encoding, by its byte order mark or else by the NUL bytes that pad mostly-ASCII
    text; otherwise None."""
    for mark, name in _WIDE_BOMS:
        if start.startswith(mark):
            return f"{name} text, not UTF-8"
    for width, name in ((4, "UTF-32"), (2, "UTF-16")):
        lanes = [start[lane::width] for lane in range(width)]
        if sum(bool(lane) and not lane.strip(b"\x00") for lane in lanes) == width - 1:
            return f"{name} text, not UTF-8"
    return None


def utf8_problem(text: bytes) -> str | None:
    """:func:`not_utf8`'s message for ``text`` when it is not UTF-8, else None.

    For JSON that msgspec refused: it reports bad UTF-8 in a string as a UnicodeDecodeError
    up to 0.22 and as a DecodeError without the byte ("Invalid UTF-8 encoded string") since.
    """
    if wide := wide_encoding_problem(text[:64]):  # without a byte order mark, it decodes as UTF-8
        return wide
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as err:
        return not_utf8(err)
    return None


def binary_kind(start: bytes) -> str | None:
    """What a file that starts with ``start`` is, when it is a workbook or an archive rather
    than text (``"bzip2 data"``); else None. Eight bytes are enough."""
    return next((kind for magic, kind in _BINARY_KINDS if start.startswith(magic)), None)
