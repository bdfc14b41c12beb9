"""Which pages may call the service with the publishable key: the shop's allowed origins.

People write an origin the way they copy it from the address bar
(``https://Shop.Example/``); a browser sends it serialised (``https://shop.example``:
lower case, no trailing slash, no default port). So each configured entry is read into
the browser's form once, at start, and a request's ``Origin`` is then compared as it is.
``https://*.shop.example`` allows every subdomain of shop.example (not shop.example
itself), for shops with a host per country or a separate checkout host.
"""

from collections.abc import Iterable
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
ANY = "*"


def allowed_origin(entry: str) -> str:
    """``entry`` as a browser would send it; ValueError naming the entry when it is no origin."""
    text = entry.strip()
    if text == ANY:
        return text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(f"`{entry}` is not a URL") from None
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    if scheme not in _DEFAULT_PORTS or not host:
        raise ValueError(
            f"`{entry}` needs http:// or https:// and a host, e.g. https://shop.example"
        )
    if "*" in host.removeprefix("*."):
        raise ValueError(
            f"`{entry}`: a wildcard stands only for subdomains, as in https://*.shop.example"
        )
    if ":" in host:  # an IPv6 address, which urlsplit gives without its brackets
        host = f"[{host}]"
    origin = (
        f"{scheme}://{host}"
        if port in (None, _DEFAULT_PORTS[scheme])
        else f"{scheme}://{host}:{port}"
    )
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"`{entry}` is a URL, not an origin: write `{origin}`")
    return origin


class AllowedOrigins:
    """Tells whether a request's ``Origin`` is allowed; entries already in browser form."""

    def __init__(self, entries: Iterable[str] = ()) -> None:
        entries = frozenset(entries)
        self.any = ANY in entries
        self.exact = frozenset(e for e in entries if "://*." not in e)
        # https://*.shop.example:8443 -> ("https://", ".shop.example:8443")
        self.subdomains = tuple(
            (scheme + "://", "." + rest)
            for scheme, _, rest in (e.partition("://*.") for e in entries - self.exact)
        )

    def __contains__(self, origin: str) -> bool:
        if self.any or origin in self.exact:
            return True
        for prefix, suffix in self.subdomains:
            if origin.startswith(prefix) and origin.endswith(suffix):
                subdomain = origin[len(prefix) : -len(suffix)]
                if subdomain and not any(c in subdomain for c in ":/@[]"):
                    return True
        return False
