"""Allowed origins as people write them, compared with what browsers send."""

import re

import pytest

from tests.widget.conftest import auth
from widget.origins import AllowedOrigins, allowed_origin
from widget.settings import load_settings


@pytest.mark.parametrize(
    ("entry", "origin"),
    [
        pytest.param("https://shop.example", "https://shop.example", id="as-sent"),
        pytest.param(" https://Shop.Example/ ", "https://shop.example", id="copied-from-the-bar"),
        pytest.param("HTTPS://shop.example:443", "https://shop.example", id="default-port"),
        pytest.param("http://localhost:8000/", "http://localhost:8000", id="own-port"),
        pytest.param("https://[::1]:8443", "https://[::1]:8443", id="ipv6"),
        pytest.param("https://*.Shop.Example", "https://*.shop.example", id="subdomains"),
        pytest.param("*", "*", id="any"),
    ],
)
def test_an_origin_is_read_as_a_browser_sends_it(entry, origin):
    assert allowed_origin(entry) == origin


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        pytest.param(
            "shop.example",
            "`shop.example` needs http:// or https:// and a host, e.g. https://shop.example",
            id="no-scheme",
        ),
        pytest.param(
            "https://Shop.example:443/checkout?step=thanks",
            "`https://Shop.example:443/checkout?step=thanks` is a URL, not an origin: "
            "write `https://shop.example`",
            id="a-page-url",
        ),
        pytest.param(
            "https://shop.*.example",
            "`https://shop.*.example`: a wildcard stands only for subdomains, "
            "as in https://*.shop.example",
            id="wildcard-inside",
        ),
        pytest.param(
            "https://shop.example:99999", "`https://shop.example:99999` is not a URL", id="port"
        ),
    ],
)
def test_what_is_no_origin_is_refused_naming_it(entry, message):
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        allowed_origin(entry)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://de.shop.example", True),
        ("https://eu.de.shop.example", True),
        ("https://shop.example", True),  # listed on its own as well
        ("http://de.shop.example", False),
        ("https://evilshop.example", False),
        ("https://de.shop.example.evil.example", False),
        ("https://de.shop.example:8443", False),
        ("null", False),
    ],
)
def test_a_wildcard_allows_subdomains_over_its_scheme_and_port(origin, allowed):
    origins = AllowedOrigins(["https://*.shop.example", "https://shop.example"])

    assert (origin in origins) is allowed


def test_a_page_on_a_subdomain_is_served_when_the_shop_allows_them(make_client, rank_body):
    client = make_client(allowed_origins=("https://*.shop.example",))

    def rank(origin: str) -> int:
        headers = {**auth(), "Origin": origin}
        return client.post("/v1/rank", json=rank_body(), headers=headers).status_code

    assert rank("https://de.shop.example") == 200
    assert rank("https://shop.example") == 403
    assert rank("https://evilshop.example") == 403


def test_the_environment_lists_origins_as_written():
    env = {"ENCORE_ALLOWED_ORIGINS": "https://Shop.Example/, http://localhost:8000/,"}

    assert load_settings(env).allowed_origins == ("https://shop.example", "http://localhost:8000")
