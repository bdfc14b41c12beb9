"""The offer catalog: what an offer is, and reading `offers.json` / `offers.yaml`."""

import codecs
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec
import yaml

from offers.errors import TOO_DEEP, InputError, binary_kind, first_line, opening, utf8_problem

OfferKind = Literal["cross_sell", "partner"]
OfferStatus = Literal["active", "paused", "archived"]
AttributeValue = str | int | float | bool
MAX_ID_LENGTH = 128
# An offer id is a path segment of /v1/offers/{id} and a key column in the store.
_UNSAFE_ID = re.compile(r"[/\x00-\x1f\x7f]")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_NOT_IN_URL = re.compile(r"[\\\x00-\x1f\x7f]")
_NUMBER_FIELDS = ("value", "targeting.min_order_total", "targeting.max_order_total", "caps.budget")
# Where a click may lead (the redirect refuses anything else), and what an image may load
_URL_RULES = {
    "cta_url": (("http", "https"), "an http(s) URL"),
    "image_url": (("http", "https", "data", ""), "an http(s) or data URL, or a path"),
}


class Targeting(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Who may see an offer. Every rule that is set must hold; unset rules always hold."""

    placements: list[str] | None = None
    countries: list[str] | None = None
    currencies: list[str] | None = None  # of the order; with a total bound, its currency
    min_order_total: float | None = None
    max_order_total: float | None = None
    required_categories: list[str] | None = None
    excluded_categories: list[str] | None = None
    required_skus: list[str] | None = None
    excluded_skus: list[str] | None = None
    customer: Literal["new", "returning"] | None = None
    devices: list[str] | None = None


class Caps(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """How often an offer may be shown, and how much a partner offer may spend."""

    per_customer_per_day: int | None = None
    per_customer_per_week: int | None = None
    total_impressions: int | None = None
    budget: float | None = None


class Offer(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """One offer: a cross-sell of the shop's own product or a partner's offer."""

    id: str
    kind: OfferKind
    title: str
    body: str = ""
    cta_label: str = ""
    cta_url: str = ""
    image_url: str = ""
    sku: str | None = None
    advertiser: str | None = None
    value: float = 0.0
    category: str = ""
    attributes: dict[str, AttributeValue] = {}
    targeting: Targeting = msgspec.field(default_factory=Targeting)
    caps: Caps = msgspec.field(default_factory=Caps)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    status: OfferStatus = "active"


_SURROGATE = re.compile("[\ud800-\udfff]")


class _YamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2's booleans, only ``true`` and ``false``: in YAML 1.1
    ``NO`` (Norway's country code), ``yes``, ``on`` and ``off`` are booleans too. Dates stay
    text, read and checked as in a JSON file (PyYAML's own reading of ``2025-02-30`` fails
    with no word of which value). A key written twice in one mapping is refused, as YAML 1.2
    says, not read as its last value. A character beyond U+FFFF escaped as a UTF-16 pair
    (``"\\ud83c\\udf81"``, as JSON writes it) is read as that character, where PyYAML reads
    the two halves apart; half a pair is refused."""

    def construct_scalar(self, node: yaml.ScalarNode) -> Any:
        value = super().construct_scalar(node)
        if isinstance(value, str) and _SURROGATE.search(value):
            try:
                return value.encode("utf-16", "surrogatepass").decode("utf-16")
            except UnicodeDecodeError:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    "an escape from \\ud800 to \\udfff alone is half a UTF-16 pair, "
                    "not a character",
                    node.start_mark,
                ) from None
        return value

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key `{key}` appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in (_BOOL, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_YamlLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def read_offers(path: str | Path) -> list[Offer]:
    """Read and validate an offers file (`.json`, or `.yaml` / `.yml`)."""
    return read_offers_file(path).offers


@dataclass(frozen=True)
class OffersFile:
    """The offers of a file, and the ids of those it gives no ``status`` (read as active)."""

    offers: list[Offer]
    ids_without_status: frozenset[str]


def read_offers_file(path: str | Path) -> OffersFile:
    """:func:`read_offers`, also telling which offers the file gives no ``status``."""
    path = Path(path)
    items = _offer_items(_decoded_offers_file(path), path.name)
    offers = parse_offers(items, path.name)
    unsaid = {o.id for o, item in zip(offers, items, strict=True) if "status" not in item}
    return OffersFile(offers, frozenset(unsaid))


def _decoded_offers_file(path: Path) -> object:
    with opening(path.name):
        content = path.read_bytes()
    kind = binary_kind(content[:8])
    if kind:
        raise InputError(f"{path.name}: {kind}, not JSON or YAML text")
    if not content.removeprefix(codecs.BOM_UTF8).strip():
        raise InputError(f"{path.name}: no offers (the file is empty)")
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.load(content, Loader=_YamlLoader)
        except yaml.YAMLError as err:
            raise InputError(f"{path.name}: not valid YAML ({first_line(err)})") from None
        except RecursionError:
            raise InputError(f"{path.name}: not valid YAML ({TOO_DEEP})") from None
        except ValueError:  # Python refuses to read an integer of over 4,300 digits
            raise InputError(f"{path.name}: not valid YAML (a number too long to read)") from None
        return data
    text = content.removeprefix(codecs.BOM_UTF8)  # as Notepad saves
    try:
        data = decode_offers_json(text)
    except InputError as err:
        raise InputError(f"{path.name}: not valid offers JSON ({err})", field=err.field) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as err:
        problem = utf8_problem(content) or f"not valid JSON ({err})"
        raise InputError(f"{path.name}: {problem}") from None
    except RecursionError:
        raise InputError(f"{path.name}: not valid JSON ({TOO_DEEP})") from None
    return data


# A number beyond a float (1e400) is read as infinity, which the offer's rules refuse naming
# its field: msgspec's own refusal, decoding without a type, names no key.
_OFFERS_JSON = msgspec.json.Decoder(float_hook=float)


def decode_offers_json(text: bytes) -> Any:
    """Offers written as JSON, in a file or a request body; msgspec's DecodeError for text
    that is not JSON, and an InputError naming a key written twice in one object (read as its
    last value, the first would be lost without a word)."""
    data = _OFFERS_JSON.decode(text)
    json.loads(text, object_pairs_hook=_without_repeated_keys)  # msgspec keeps the last
    return data


def _without_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise InputError(f"key `{key}` appears twice", field=key)
        found[key] = value
    return found


def parse_offers(data: object, source: str) -> list[Offer]:
    """Validate decoded JSON/YAML (a list of offers, or ``{"offers": [...]}``)."""
    items = _offer_items(data, source)
    offers = [parse_offer(item, f"{source}: offer {n}") for n, item in enumerate(items, start=1)]
    repeated = [offer_id for offer_id, count in Counter(o.id for o in offers).items() if count > 1]
    if repeated:
        raise InputError(f"{source}: offer id `{repeated[0]}` appears more than once", field="id")
    return offers


def _offer_items(data: object, source: str) -> list:
    if isinstance(data, dict) and "offers" in data:
        data = data["offers"]
    if not isinstance(data, list):
        raise InputError(f"{source}: expected a list of offers")
    return data


def parse_offer(item: object, where: str = "offer", *, stored: bool = False) -> Offer:
    """Validate one decoded offer; messages name the field and what was expected.
    ``stored``: a change to an offer already in the store, whose id may predate the
    rules for new ids (:func:`_new_id_problem`)."""
    try:
        offer = msgspec.convert(_schedule_bounds(item), Offer, strict=False)
    except msgspec.ValidationError as err:
        field = _field_of(err)
        raise InputError(f"{where}: {_readable(err)}", field=field) from None
    for message, field in _rule_violations(offer, stored):
        raise InputError(f"{where} (`{offer.id}`): {message}", field=field)
    return offer


def _schedule_bounds(item: object) -> object:
    """Schedule bounds as people write ISO 8601: a date alone (``"2026-12-01"``, or a date
    YAML read unquoted) is midnight UTC as that day begins; a time without seconds
    (``"2026-12-01T10:00"``, what a browser's date-time field gives) is read too, which
    RFC 3339, msgspec's format, refuses. A time without a zone is UTC, so that bounds
    written one with a zone and one without compare. Anything else is left to msgspec's
    message."""
    if not isinstance(item, dict):
        return item
    bounds = {}
    for name in ("starts_at", "ends_at"):
        value = item.get(name)
        if isinstance(value, str):
            try:
                value = (date if _DATE_ONLY.fullmatch(value) else datetime).fromisoformat(value)
            except ValueError:  # 2026-02-30: msgspec's own message names the field
                continue
        if isinstance(value, datetime):
            bounds[name] = value if value.tzinfo else value.replace(tzinfo=UTC)
        elif isinstance(value, date):
            bounds[name] = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return {**item, **bounds} if bounds else item


def is_offer_id(text: str) -> bool:
    """Whether ``text`` could name a stored offer: 1-128 characters, not all blank, with no
    `/` or control characters (what a URL's id is checked against before the store is
    asked). A new offer's id must also pass :func:`_new_id_problem`."""
    return bool(text.strip()) and len(text) <= MAX_ID_LENGTH and not _UNSAFE_ID.search(text)


def _new_id_problem(text: str) -> str | None:
    """What a new offer's id breaks beyond :func:`is_offer_id`: a space at either end (``a``
    and ``a `` would be two offers that look the same), or `.` / `..` (clients resolve those
    in a URL's path, so /v1/offers/.. could never be reached). Offers stored before these
    rules stay reachable."""
    if text != text.strip():
        return "`id` must not start or end with a space"
    if text in (".", ".."):
        return f"`id` must not be `{text}`: /v1/offers/{text} could not reach it"
    return None


def _rule_violations(offer: Offer, stored: bool) -> list[tuple[str, str]]:
    problems = []
    if not offer.id.strip():
        problems.append(("`id` must not be empty", "id"))
    elif not is_offer_id(offer.id):
        problems.append(
            (
                f"`id` must be at most {MAX_ID_LENGTH} characters, "
                "without `/` or control characters",
                "id",
            )
        )
    elif not stored and (problem := _new_id_problem(offer.id)):
        problems.append((problem, "id"))
    if not offer.title.strip():
        problems.append(("`title` must not be empty: it is what the shopper reads", "title"))
    numbers = [(name, attrgetter(name)(offer)) for name in _NUMBER_FIELDS]
    numbers += [(f"attributes.{name}", value) for name, value in offer.attributes.items()]
    for name, number in numbers:
        if isinstance(number, float) and not math.isfinite(number):
            problems.append((f"`{name}` must be a finite number, got {number}", name))
    for name, value in msgspec.to_builtins(offer).items():
        if name != "id" and _holds_nul(value):  # PostgreSQL's text holds none; nor does an offer
            problems.append((f"`{name}` must not contain NUL characters", name))
    for name, (_schemes, expected) in _URL_RULES.items():
        url = getattr(offer, name)
        if url and not allowed_url(name, url):
            shown = url if len(url) <= 40 else url[:40] + "..."
            problems.append((f"`{name}` must be {expected}, got `{shown}`", name))
    if offer.kind == "cross_sell" and not offer.sku:
        problems.append(("a cross_sell offer needs a `sku`", "sku"))
    if offer.kind == "partner" and not offer.advertiser:
        problems.append(("a partner offer needs an `advertiser`", "advertiser"))
    if offer.value < 0:
        problems.append(("`value` must be >= 0", "value"))
    if offer.starts_at and offer.ends_at and offer.ends_at <= offer.starts_at:
        problems.append(("`ends_at` must be after `starts_at`", "ends_at"))
    low, high = offer.targeting.min_order_total, offer.targeting.max_order_total
    if low is not None and high is not None and high < low:
        message = "`targeting.max_order_total` must be at least `min_order_total`"
        problems.append((message, "targeting.max_order_total"))
    for name in ("per_customer_per_day", "per_customer_per_week", "total_impressions", "budget"):
        cap = getattr(offer.caps, name)
        if cap is not None and cap < 0:
            problems.append((f"`caps.{name}` must be >= 0", f"caps.{name}"))
    return problems


def allowed_url(name: str, url: str) -> bool:
    """Whether ``url`` may be an offer's ``name`` (``cta_url`` or ``image_url``): of an allowed
    scheme, and an http(s) URL with a host (``https:/shop.example`` or ``https:\\shop.example``
    leads a browser nowhere, or somewhere else), without backslashes or control characters."""
    if _NOT_IN_URL.search(url):
        return False
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return bool(parts.hostname)
    return scheme in _URL_RULES[name][0]


def _holds_nul(value: object) -> bool:
    """Whether a decoded JSON value has a NUL character in any of its strings or keys."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def _field_of(err: msgspec.ValidationError) -> str | None:
    """The field an error is about, as the API's error body names it (widget/errors.py):
    a missing or unknown field by its own name, within the object it belongs to."""
    text = str(err)
    location = text.rsplit("`$.", 1)[1].rstrip("`").split("[")[0] if "`$." in text else ""
    for marker in ("missing required field `", "unknown field `"):
        if marker in text:
            named = text.split(marker, 1)[1].split("`")[0]
            return f"{location}.{named}" if location else named
    return location or None


_DATE_TIME_EXPECTED = (
    "Expected a date (YYYY-MM-DD) or an ISO 8601 date-time (YYYY-MM-DDTHH:MM, "
    "seconds and a zone optional)"
)


def _readable(err: msgspec.ValidationError) -> str:
    # msgspec names its own format; the bounds are read more widely (see _schedule_bounds)
    text = str(err).replace("Invalid RFC3339 encoded datetime", _DATE_TIME_EXPECTED)
    if " - at `$." in text:
        message, location = text.split(" - at `$.", 1)
        return f"`{location.rstrip('`')}`: {message[0].lower()}{message[1:]}"
    return f"{text[0].lower()}{text[1:]}"
