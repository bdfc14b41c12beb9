"""Request headers read straight from the ASGI scope: how the service reads them all.

What ``request.headers.get(name)`` answers, without its costs on the ranking's path: a
``Headers`` built per ``Request``, the name folded on every lookup, and a ``KeyError``
raised and caught for each header not sent (~1 us a lookup, five a ranking). Starlette's
``Headers`` is built only where Starlette's own code takes one (a CORS preflight).
"""

from starlette.types import Scope


def raw_header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower case), as sent."""
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name`` (lower case), as text."""
    value = raw_header(scope, name)
    return None if value is None else value.decode("latin-1")
