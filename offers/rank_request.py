"""The order a shop sends to be ranked: the body of ``POST /v1/rank`` and ``/v1/widget``.

``encore recommend`` reads the same body, one a line. :data:`rank_decoder` reads it
the way shops' templates write it, not only the way the API documents it: a shop
pastes ``{"id": {{ order.id }}, "price": "{{ item.price }}"}`` into its page, and a
422 there means the widget silently shows nothing. So:

- an id (``order.id``, ``customer.id``, an item's ``sku``) may be a whole number,
  read as its digits (``1001`` and ``"1001"`` are the same order); ids and
  categories are trimmed, as files are (``"SKU-1 "`` is SKU-1);
- an amount (``price``, ``total``) may be text, read as amounts in files are
  (:func:`offers.money.read_amount`: ``"19.99"``, ``"1,299.00"``, ``"19,99 €"``), as
  Liquid's ``money_without_currency`` writes it;
- another number (``quantity``, ``limit``) may be a numeric string such as ``"2"``,
  and ``is_returning`` may be ``"true"`` or ``"false"`` (msgspec's lax mode,
  ``strict=False``);
- ``null`` in an optional field is the field left out, and an attribute whose
  value is ``null`` is dropped.

Anything else is refused, naming the field. After decoding, ids are ``str``,
amounts ``float``, and no field holds a ``None`` its type does not document: the
``| None``, ``| Digits`` and the text half of ``Amount`` in the annotations are
there for the JSON only.
"""

import copy
import functools
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from msgspec.structs import force_setattr

from offers.dates import read_moment
from offers.identity import has_email
from offers.money import read_amount

Text = Annotated[str, msgspec.Meta(max_length=500)]
Name = Annotated[str, msgspec.Meta(max_length=64)]
OrderedAt = Annotated[
    Any,
    msgspec.Meta(
        description="When the order was placed: ISO 8601 (also `2026-10-31 12:00:00 +0100`, "
        "as shop templates write it), JavaScript's `String(new Date())`, or Unix time "
        "(9-10 digits of seconds or 12-13 of milliseconds); one that cannot be read is "
        "ignored.",
    ),
]
Digits = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
"""A whole-number id (at most 19 digits)."""
MAX_ID_LENGTH = 128
IdOrEmail = Annotated[str, msgspec.Meta(max_length=320)] | Digits
"""An id that may be, or hold, an email (stored as its digest): 320 characters then, else
``MAX_ID_LENGTH``; see :func:`check_id_length`."""
MAX_AMOUNT = 1e12
Money = Annotated[float, msgspec.Meta(ge=0, le=MAX_AMOUNT)]
Amount = Money | Annotated[str, msgspec.Meta(max_length=64)]
"""A number, or text such as ``"1,299.00"``."""
Attributes = Annotated[dict[str, str | int | float | bool | None], msgspec.Meta(max_length=50)]
MAX_ITEMS = 200


def settle(body: msgspec.Struct, keys: tuple[str, ...] = (), amounts: tuple[str, ...] = ()) -> None:
    """``null`` fields back to their defaults; ``keys`` (ids, skus, categories: what is
    matched with the store) as trimmed text, whole numbers as their digits; ``amounts``
    written as text to numbers (ValueError, which msgspec reports as invalid, if unreadable)."""
    cls = type(body)
    defaults = _DEFAULTS.get(cls)
    if defaults is None:
        defaults = _DEFAULTS[cls] = _defaults_standing_for_null(cls)
    for name, make_default in defaults:
        if getattr(body, name) is None:
            force_setattr(body, name, make_default())
    for name in keys:
        value = getattr(body, name)
        if type(value) is int:
            force_setattr(body, name, str(value))
        elif value and value != (trimmed := value.strip()):  # as files read it: "SKU-1 " is SKU-1
            force_setattr(body, name, trimmed)
    for name in amounts:
        value = getattr(body, name)
        if type(value) is str:
            amount = read_amount(value)
            if not 0 <= amount <= MAX_AMOUNT:  # NaN too
                raise ValueError(f"Expected `{name}` as an amount such as 19.99, got {value!r}")
            force_setattr(body, name, amount)


def check_id_length(body: msgspec.Struct, name: str) -> None:
    """An :data:`IdOrEmail` ``name`` (settled) longer than ``MAX_ID_LENGTH`` must hold an
    email, as an order id numbered by email does (ValueError, which msgspec reports)."""
    value = getattr(body, name)
    if value and len(value) > MAX_ID_LENGTH and "@" not in value:
        raise ValueError(f"Expected `{name}` of length <= {MAX_ID_LENGTH} (or an email)")


def _defaults_standing_for_null(cls: type[msgspec.Struct]) -> tuple[tuple[str, Callable], ...]:
    """(field, a fresh copy of its default) for each field whose default is not None."""
    found = []
    for field in msgspec.structs.fields(cls):
        if field.default_factory is not msgspec.NODEFAULT:
            found.append((field.name, field.default_factory))
        elif field.default is not None and field.default is not msgspec.NODEFAULT:
            found.append((field.name, functools.partial(copy.copy, field.default)))
    return tuple(found)


_DEFAULTS: dict[type, tuple[tuple[str, Callable], ...]] = {}


class Item(msgspec.Struct, frozen=True):
    """One line of the order being confirmed."""

    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | Digits
    category: Annotated[str, msgspec.Meta(max_length=200)] | None = ""
    price: Amount | None = 0.0
    # A fraction is an amount sold by weight or length (2.375 kg), as order files hold it.
    quantity: Annotated[float, msgspec.Meta(gt=0, le=100_000)] | None = 1
    title: Text | None = ""

    def __post_init__(self) -> None:
        settle(self, keys=("sku", "category"), amounts=("price",))
        if not self.sku:
            raise ValueError("Expected `sku` to hold more than spaces")


class Order(msgspec.Struct, frozen=True):
    """The order on the thank-you page; ``total`` defaults to the sum of its lines."""

    id: IdOrEmail | None = ""
    total: Amount | None = None
    currency: Annotated[str, msgspec.Meta(max_length=16)] | None = ""
    country: Name | None = ""
    device: Name | None = ""
    ordered_at: OrderedAt = None  # whatever a page writes: see placed_at
    items: Annotated[list[Item], msgspec.Meta(max_length=MAX_ITEMS)] | None = []

    def __post_init__(self) -> None:
        settle(self, keys=("id",), amounts=("total",))
        check_id_length(self, "id")
        # One spelling from here on, for targeting, the log and the models alike: a shop that
        # sends "fr" or "Mobile" matches rules written "FR" and "mobile", and feedback learnt
        # from logged requests weighs the same values the service then scores.
        if self.country and not self.country.isupper():
            force_setattr(self, "country", self.country.upper())
        if self.currency and not self.currency.isupper():
            force_setattr(self, "currency", self.currency.upper())
        if self.device and not self.device.islower():
            force_setattr(self, "device", self.device.lower())

    @property
    def placed_at(self) -> datetime | None:
        """``ordered_at`` in UTC without tzinfo (:func:`~offers.dates.read_moment`), never
        later than now (a page's clock may run ahead); None when the page sent none, or one
        that cannot be read: it only sharpens the ranking, and an unreadable one must not
        cost the page its offers."""
        placed = None if self.ordered_at is None else read_moment(self.ordered_at)
        return None if placed is None else min(placed, datetime.now(UTC).replace(tzinfo=None))

    @property
    def grand_total(self) -> float:
        """``total``, or the sum of the lines when the page sent none."""
        if self.total is not None:
            return self.total
        return float(sum(item.price * item.quantity for item in self.items))


class Customer(msgspec.Struct, frozen=True):
    """Who ordered; an email as ``id`` is hashed before anything is stored."""

    id: IdOrEmail | None = None
    is_returning: bool | None = None

    def __post_init__(self) -> None:
        settle(self, keys=("id",))
        check_id_length(self, "id")


class RankRequest(msgspec.Struct, frozen=True):
    """Body of ``POST /v1/rank`` and ``POST /v1/widget``."""

    order: Order
    placement: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = "thank_you"
    customer: Customer | None = Customer()
    attributes: Attributes | None = {}
    limit: Annotated[int, msgspec.Meta(ge=1)] | None = None
    key: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    locale: Annotated[str, msgspec.Meta(max_length=35)] | None = ""

    def __post_init__(self) -> None:
        settle(self)
        if not self.placement.isprintable() or has_email(self.placement):
            raise ValueError(
                "Expected `placement` to name a place on the page (such as thank_you), "
                "without control characters or an email"
            )
        force_setattr(self, "attributes", fold_names(self.attributes))


LOGGED_FIELDS = ("country", "currency", "device", "is_returning", "n_items")
"""Fields of an order logged with each impression beside its attributes (and over an
attribute of the same name), as the feedback model then reads them."""


def fold_names(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes by their names trimmed and in lower case, as an impressions file's columns
    are read: of names that fold to one (``Segment``, ``segment``), the first value that is
    neither null nor empty; nulls left out."""
    folded: dict[str, Any] = {}
    for name, value in attributes.items():
        if value is None:
            continue
        key = name.strip().lower()
        if folded.get(key, "") == "":
            folded[key] = value
    return folded


def logged_value(value: Any) -> Any:
    """A context value as the impressions log holds it, for export and for the feedback
    model alike: booleans as 1 and 0, anything else as it is."""
    return int(value) if isinstance(value, bool) else value


rank_decoder = msgspec.json.Decoder(RankRequest, strict=False)
