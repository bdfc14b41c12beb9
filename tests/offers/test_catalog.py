"""Offer files are validated with messages that name the offer and the field."""

import codecs
import json
from datetime import UTC, datetime

import msgspec
import pytest

from offers.catalog import Offer, parse_offers, read_offers
from offers.errors import InputError

CROSS_SELL = {"id": "x1", "kind": "cross_sell", "title": "Memory card", "sku": "SD64"}
PARTNER = {
    "id": "p1",
    "kind": "partner",
    "title": "Travel insurance",
    "advertiser": "Safe",
    "value": 3,
}


def test_json_and_yaml_catalogs_read_the_same(write_file):
    as_json = write_file("offers.json", json.dumps([CROSS_SELL, PARTNER]))
    as_yaml = write_file(
        "offers.yaml",
        "- {id: x1, kind: cross_sell, title: Memory card, sku: SD64}\n"
        "- {id: p1, kind: partner, title: Travel insurance, advertiser: Safe, value: 3}\n",
    )
    assert read_offers(as_json) == read_offers(as_yaml)
    assert [o.kind for o in read_offers(as_json)] == ["cross_sell", "partner"]


def test_yaml_reads_country_codes_as_text_and_only_true_and_false_as_booleans(write_file):
    """YAML 1.1 read NO (Norway), ON and Y as booleans; YAML 1.2 does not."""
    as_yaml = write_file(
        "offers.yaml",
        "- {id: p1, kind: partner, title: Travel insurance, advertiser: Safe, value: 3,\n"
        "   targeting: {countries: [NO, ON, Y, SE]}, attributes: {gift: true, region: no}}\n",
    )
    (offer,) = read_offers(as_yaml)
    assert offer.targeting.countries == ["NO", "ON", "Y", "SE"]
    assert offer.attributes == {"gift": True, "region": "no"}


def test_a_json_catalog_saved_with_a_byte_order_mark_is_read(write_file):
    plain = write_file("offers.json", json.dumps([CROSS_SELL, PARTNER]))
    with_bom = write_file("bom.json", codecs.BOM_UTF8 + plain.read_bytes())
    assert read_offers(with_bom) == read_offers(plain)


def test_a_schedule_time_without_seconds_reads_as_iso_8601():
    """What a browser's date-time field gives; RFC 3339 requires the seconds."""
    with_minutes, with_seconds = (
        parse_offers([{**CROSS_SELL, "starts_at": moment}], "offers.json")[0].starts_at
        for moment in ("2026-12-01T10:00+01:00", "2026-12-01T10:00:00+01:00")
    )
    assert with_minutes == with_seconds == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_offers_survive_a_round_trip_through_json(write_file):
    offers = parse_offers(
        [
            CROSS_SELL,
            {**PARTNER, "targeting": {"countries": ["DE"]}, "starts_at": "2026-01-01T00:00:00Z"},
        ],
        "offers.json",
    )
    path = write_file("again.json", msgspec.json.encode(offers))
    assert read_offers(path) == offers


def test_a_date_alone_schedules_an_offer_from_midnight_utc(write_file):
    as_yaml = write_file(
        "offers.yaml",
        "- {id: x1, kind: cross_sell, title: Memory card, sku: SD64,\n"
        "   starts_at: 2026-12-01, ends_at: 2027-01-01}\n",
    )
    as_json = write_file(
        "offers.json",
        json.dumps([{**CROSS_SELL, "starts_at": "2026-12-01", "ends_at": "2027-01-01"}]),
    )

    (offer,) = read_offers(as_yaml)
    assert offer.starts_at == datetime(2026, 12, 1, tzinfo=UTC)
    assert offer.ends_at == datetime(2027, 1, 1, tzinfo=UTC)
    assert read_offers(as_json) == [offer]


@pytest.mark.parametrize("moment", ["2026-02-30", "01/12/2026"])
def test_a_date_it_cannot_read_is_refused_saying_what_it_reads(moment):
    with pytest.raises(InputError) as raised:
        parse_offers([{**CROSS_SELL, "starts_at": moment}], "offers.json")
    assert raised.value.field == "starts_at"
    assert str(raised.value) == (
        "offers.json: offer 1: `starts_at`: expected a date (YYYY-MM-DD) or an ISO 8601 "
        "date-time (YYYY-MM-DDTHH:MM, seconds and a zone optional)"
    )


@pytest.mark.parametrize(
    ("offers", "message", "field"),
    [
        pytest.param(
            [{**CROSS_SELL, "title": 3}],
            "offers.json: offer 1: `title`: expected `str`, got `int`",
            "title",
            id="wrong-type",
        ),
        pytest.param(
            [{"id": "a", "title": "x"}],
            "offers.json: offer 1: object missing required field `kind`",
            "kind",
            id="missing-kind",
        ),
        pytest.param(
            [{**CROSS_SELL, "kind": "banner"}],
            "offers.json: offer 1: `kind`: invalid enum value 'banner'",
            "kind",
            id="unknown-kind",
        ),
        pytest.param(
            [{**CROSS_SELL, "sku": None}],
            "offers.json: offer 1 (`x1`): a cross_sell offer needs a `sku`",
            "sku",
            id="cross-sell-without-sku",
        ),
        pytest.param(
            [{**PARTNER, "advertiser": None}],
            "offers.json: offer 1 (`p1`): a partner offer needs an `advertiser`",
            "advertiser",
            id="partner-without-advertiser",
        ),
        pytest.param(
            [{**PARTNER, "value": -1}],
            "offers.json: offer 1 (`p1`): `value` must be >= 0",
            "value",
            id="negative-value",
        ),
        pytest.param(
            [PARTNER, {**CROSS_SELL, "targeting": {"countries": "DE"}}],
            "offers.json: offer 2: `targeting.countries`: expected `array | null`, got `str`",
            "targeting.countries",
            id="countries-not-a-list",
        ),
        pytest.param(
            [{**PARTNER, "starts_at": "2026-02-01T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"}],
            "offers.json: offer 1 (`p1`): `ends_at` must be after `starts_at`",
            "ends_at",
            id="ends-before-start",
        ),
        pytest.param(
            [{**PARTNER, "targeting": {"min_order_total": 100, "max_order_total": 10}}],
            "offers.json: offer 1 (`p1`): `targeting.max_order_total` must be at least "
            "`min_order_total`",
            "targeting.max_order_total",
            id="order-total-bounds-reversed",
        ),
        pytest.param(
            [{**PARTNER, "id": "a/b"}],
            "offers.json: offer 1 (`a/b`): `id` must be at most 128 characters, "
            "without `/` or control characters",
            "id",
            id="id-with-a-slash",
        ),
        pytest.param(
            [{**PARTNER, "id": "x" * 129}],
            f"offers.json: offer 1 (`{'x' * 129}`): `id` must be at most 128 characters, "
            "without `/` or control characters",
            "id",
            id="id-too-long",
        ),
        pytest.param(
            [{**PARTNER, "id": "p1 "}],
            "offers.json: offer 1 (`p1 `): `id` must not start or end with a space",
            "id",
            id="id-ending-in-a-space",
        ),
        pytest.param(
            [{**PARTNER, "id": ".."}],
            "offers.json: offer 1 (`..`): `id` must not be `..`: /v1/offers/.. could not reach it",
            "id",
            id="id-a-url-cannot-reach",
        ),
        pytest.param(
            [{**PARTNER, "title": "  "}],
            "offers.json: offer 1 (`p1`): `title` must not be empty: it is what the shopper reads",
            "title",
            id="blank-title",
        ),
        *(
            pytest.param(
                [{**PARTNER, **offer}],
                f"offers.json: offer 1 (`p1`): `{field}` must be a finite number, got {shown}",
                field,
                id=f"{shown}-{field}",
            )
            for offer, field, shown in [
                ({"value": float("nan")}, "value", "nan"),
                (
                    {"targeting": {"min_order_total": float("inf")}},
                    "targeting.min_order_total",
                    "inf",
                ),
                ({"caps": {"budget": float("nan")}}, "caps.budget", "nan"),
                ({"attributes": {"weight": float("inf")}}, "attributes.weight", "inf"),
            ]
        ),
        *(
            pytest.param(
                [{**PARTNER, field: value}],
                f"offers.json: offer 1 (`p1`): `{field}` must not contain NUL characters",
                field,
                id=f"nul-in-{field}",
            )
            for field, value in [
                ("title", "Free\x00 gift"),
                ("targeting", {"countries": ["DE\x00"]}),
                ("attributes", {"colour\x00": "red"}),
            ]
        ),
        pytest.param(
            [{**PARTNER, "cta_url": "javascript:alert(document.cookie)"}],
            "offers.json: offer 1 (`p1`): `cta_url` must be an http(s) URL, "
            "got `javascript:alert(document.cookie)`",
            "cta_url",
            id="script-link",
        ),
        *(
            pytest.param(
                [{**PARTNER, "cta_url": url}],
                f"offers.json: offer 1 (`p1`): `cta_url` must be an http(s) URL, got `{url}`",
                "cta_url",
                id=name,
            )
            for name, url in [
                ("link-without-a-host", "https:/shop.example"),
                ("link-with-backslashes", "https:\\\\shop.example"),
                ("link-with-a-line-break", "https://shop.example/\r\nSet-Cookie: a=b"),
            ]
        ),
        pytest.param(
            [{**PARTNER, "cta_url": "/offers/p1"}],
            "offers.json: offer 1 (`p1`): `cta_url` must be an http(s) URL, got `/offers/p1`",
            "cta_url",
            id="relative-link",
        ),
        pytest.param(
            [{**PARTNER, "image_url": "javascript:" + "x" * 60}],
            "offers.json: offer 1 (`p1`): `image_url` must be an http(s) or data URL, "
            f"or a path, got `javascript:{'x' * 29}...`",
            "image_url",
            id="script-image",
        ),
        pytest.param(
            [PARTNER, PARTNER],
            "offers.json: offer id `p1` appears more than once",
            "id",
            id="repeated-id",
        ),
        pytest.param(
            {"not": "a list"}, "offers.json: expected a list of offers", None, id="not-a-list"
        ),
    ],
)
def test_invalid_offers_are_one_clear_error(offers, message, field):
    with pytest.raises(InputError) as raised:
        parse_offers(offers, "offers.json")
    assert (str(raised.value), raised.value.field) == (message, field)


def test_schedule_bounds_with_and_without_a_zone_compare_as_utc():
    (offer,) = parse_offers(
        [{**PARTNER, "starts_at": "2026-12-01 10:00:00", "ends_at": "2026-12-24T18:00+01:00"}],
        "offers.json",
    )
    assert (offer.starts_at.isoformat(), offer.ends_at.isoformat()) == (
        "2026-12-01T10:00:00+00:00",
        "2026-12-24T18:00:00+01:00",
    )
    with pytest.raises(InputError, match="`ends_at` must be after `starts_at`"):
        parse_offers([{**PARTNER, "starts_at": "2026-12-24T10:00", "ends_at": "2026-12-24"}], "o")


def test_images_may_be_paths_or_data_urls_and_links_any_http_url():
    (offer,) = parse_offers(
        [{**PARTNER, "image_url": "/assets/p1.png", "cta_url": "HTTPS://safe.example/p1"}],
        "offers.json",
    )
    (inline,) = parse_offers([{**PARTNER, "image_url": "data:image/png;base64,iVBO"}], "o.json")
    assert (offer.image_url, inline.image_url) == ("/assets/p1.png", "data:image/png;base64,iVBO")


def test_broken_json_names_the_file(write_file):
    with pytest.raises(InputError, match=r"^offers\.json: not valid JSON"):
        read_offers(write_file("offers.json", "[{"))


@pytest.mark.parametrize(
    ("name", "kind"), [("offers.json", "JSON"), ("offers.yaml", "YAML"), ("offers.yml", "YAML")]
)
def test_an_offers_file_nested_thousands_deep_is_one_clear_error(write_file, name, kind):
    path = write_file(name, '[{"id": "p", "attributes": ' + "[" * 5000 + "]" * 5000 + "}]")
    with pytest.raises(InputError) as raised:
        read_offers(path)
    assert str(raised.value) == (
        f"{name}: not valid {kind} (nested too deeply (arrays or objects over ~1,000 levels))"
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param(
            "offers.json",
            '[{"id": "a", "id": "b", "kind": "partner", "title": "T", "advertiser": "A"}]',
            "offers.json: not valid offers JSON (key `id` appears twice)",
            id="json",
        ),
        pytest.param(
            "offers.yaml",
            "- id: a\n  id: b\n  kind: partner\n  title: T\n  advertiser: A\n",
            "offers.yaml: not valid YAML (key `id` appears twice",
            id="yaml",
        ),
    ],
)
def test_a_key_written_twice_in_an_offer_is_refused_not_half_read(
    write_file, name, content, message
):
    with pytest.raises(InputError) as raised:
        read_offers(write_file(name, content))
    assert str(raised.value).startswith(message)


def test_a_yaml_number_too_long_to_read_is_one_clear_error(write_file):
    path = write_file("offers.yaml", "- id: p\n  value: " + "9" * 5000 + "\n")
    with pytest.raises(InputError) as raised:
        read_offers(path)
    assert str(raised.value) == "offers.yaml: not valid YAML (a number too long to read)"


def test_a_character_escaped_as_a_utf16_pair_reads_the_same_in_yaml_as_in_json(write_file):
    written = json.dumps(
        [{"id": "p", "kind": "cross_sell", "sku": "s", "title": "Gift \U0001f381"}]
    )
    assert "\\ud83c\\udf81" in written  # what json.dumps writes for a character past U+FFFF

    from_yaml = read_offers(write_file("offers.yaml", written))
    from_json = read_offers(write_file("offers.json", written))

    assert from_yaml == from_json
    assert from_yaml[0].title == "Gift \U0001f381"


def test_half_a_utf16_pair_in_yaml_is_one_clear_error(write_file):
    path = write_file("offers.yaml", '- id: p\n  kind: partner\n  title: "bad \\ud800 x"\n')

    with pytest.raises(InputError) as raised:
        read_offers(path)

    assert str(raised.value) == (
        "offers.yaml: not valid YAML (an escape from \\ud800 to \\udfff alone is half a "
        "UTF-16 pair, not a character)"
    )


@pytest.mark.parametrize("name", ["offers.json", "offers.yaml"])
@pytest.mark.parametrize("content", ["", " \n\n", "\ufeff"], ids=["empty", "blank", "bom"])
def test_an_empty_offers_file_says_so(write_file, name, content):
    with pytest.raises(InputError) as raised:
        read_offers(write_file(name, content))
    assert str(raised.value) == f"{name}: no offers (the file is empty)"


@pytest.mark.parametrize("starts_at", ["2025-02-30", "2025-13-45"])
def test_an_impossible_date_in_yaml_is_named_as_in_json(write_file, starts_at):
    offer = "- {id: p1, kind: partner, title: T, advertiser: A, value: 3, starts_at: %s}\n"
    messages = []
    for name, text in (
        ("offers.yaml", offer % starts_at),
        ("offers.json", json.dumps([PARTNER | {"starts_at": starts_at}])),
    ):
        with pytest.raises(InputError) as raised:
            read_offers(write_file(name, text))
        messages.append(str(raised.value).removeprefix(name))

    assert messages[0] == messages[1]
    assert "`starts_at`" in messages[0]


def test_yaml_dates_and_times_are_read_as_json_s(write_file):
    as_json = write_file(
        "offers.json",
        json.dumps([PARTNER | {"starts_at": "2025-11-01", "ends_at": "2026-01-01T08:00:00Z"}]),
    )
    as_yaml = write_file(
        "offers.yaml",
        "- {id: p1, kind: partner, title: Travel insurance, advertiser: Safe, value: 3,\n"
        "   starts_at: 2025-11-01, ends_at: 2026-01-01T08:00:00Z}\n",
    )
    assert read_offers(as_yaml) == read_offers(as_json)


@pytest.mark.parametrize("name", ["offers.json", "offers.yaml"])
def test_an_offers_file_that_is_a_workbook_is_named_for_what_it_is(write_file, name):
    path = write_file(name, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    with pytest.raises(InputError) as raised:
        read_offers(path)
    assert str(raised.value) == f"{name}: an Excel 97-2003 workbook, not JSON or YAML text"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32-be"])
def test_json_saved_as_utf16_or_utf32_is_named_so(write_file, encoding):
    path = write_file("offers.json", '[{"id": "p1", "kind": "partner"}]'.encode(encoding))
    with pytest.raises(InputError) as raised:
        read_offers(path)
    width = "32" if "32" in encoding else "16"
    assert str(raised.value) == f"offers.json: UTF-{width} text, not UTF-8"


def test_json_that_is_not_utf8_names_the_file_and_the_byte(write_file):
    path = write_file("offers.json", b'[{"id": "p\xff", "kind": "partner"}]')
    with pytest.raises(InputError) as raised:
        read_offers(path)
    assert str(raised.value) == "offers.json: not UTF-8 text (byte 0xff)"


def test_offer_defaults_are_active_and_untargeted():
    offer = Offer(id="a", kind="cross_sell", title="A", sku="A")
    assert offer.status == "active"
    assert offer.targeting.countries is None
