"""Request and response bodies of the HTTP API.

Request bodies are decoded and validated in one pass by msgspec; the same
structs generate the JSON Schemas of ``/openapi.json``, so the document cannot
drift from what the service accepts. Response structs only describe what the
handlers answer (they encode plain dicts with orjson).
"""

from datetime import datetime
from typing import Annotated, Literal

import msgspec

Text = Annotated[str, msgspec.Meta(max_length=500)]
Name = Annotated[str, msgspec.Meta(max_length=64)]
Id = Annotated[str, msgspec.Meta(max_length=128)]
Money = Annotated[float, msgspec.Meta(ge=0, le=1e12)]
Attributes = Annotated[dict[str, str | int | float | bool], msgspec.Meta(max_length=50)]
EventType = Literal["impression", "view", "click", "dismiss", "accept", "csat"]
MAX_ITEMS = 200
MAX_EVENTS = 100


class Item(msgspec.Struct, frozen=True):
    """One line of the order being confirmed."""

    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    category: Annotated[str, msgspec.Meta(max_length=200)] = ""
    price: Money = 0.0
    quantity: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1
    title: Text = ""


class Order(msgspec.Struct, frozen=True):
    """The order on the thank-you page; ``total`` defaults to the sum of its lines."""

    id: Id = ""
    total: Money | None = None
    currency: Annotated[str, msgspec.Meta(max_length=16)] = ""
    country: Name = ""
    device: Name = ""
    ordered_at: datetime | None = None
    items: Annotated[list[Item], msgspec.Meta(max_length=MAX_ITEMS)] = []


class Customer(msgspec.Struct, frozen=True):
    """Who ordered; an email as ``id`` is hashed before anything is stored."""

    id: Annotated[str, msgspec.Meta(max_length=320)] | None = None
    is_returning: bool | None = None

    def __post_init__(self) -> None:
        if self.id and "@" not in self.id and len(self.id) > 128:
            raise ValueError("Expected `id` of length <= 128 (or an email)")


class RankRequest(msgspec.Struct, frozen=True):
    """Body of ``POST /v1/rank`` and ``POST /v1/widget``."""

    order: Order
    placement: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "thank_you"
    customer: Customer = Customer()
    attributes: Attributes = {}
    limit: Annotated[int, msgspec.Meta(ge=1, le=5)] | None = None
    key: Annotated[str, msgspec.Meta(max_length=128)] | None = None


class Event(msgspec.Struct, frozen=True):
    """Something the shopper did with a shown offer; ``at`` is the browser's clock (informational).

    ``csat`` is the answer (``score`` 1-5) to "How was your checkout?", with the
    request's ``csat_token`` (or any offer token of that request).
    """

    type: EventType
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
    at: datetime | float | None = None
    score: Annotated[int, msgspec.Meta(ge=1, le=5)] | None = None

    def __post_init__(self) -> None:
        if self.type == "csat" and self.score is None:
            raise ValueError("a csat event needs a `score` from 1 to 5")


class EventsRequest(msgspec.Struct, frozen=True):
    """Body of ``POST /v1/events``: a batch from one page."""

    events: Annotated[list[Event], msgspec.Meta(min_length=1, max_length=MAX_EVENTS)]
    key: Annotated[str, msgspec.Meta(max_length=128)] | None = None


class ConversionRequest(msgspec.Struct, frozen=True):
    """Body of ``POST /v1/conversions``: a ``token``, or ``request_id`` with ``offer_id``."""

    revenue: Money
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)] | None = None
    request_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    offer_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    order_id: Id = ""


# Responses (documentation only: handlers encode dicts with orjson).


class RankedOffer(msgspec.Struct):
    id: str
    kind: Literal["cross_sell", "partner"]
    title: str
    body: str
    image_url: str
    cta_label: str
    click_url: str
    token: str
    position: int
    score: float
    reason: str


class RankResponse(msgspec.Struct):
    request_id: str
    model_version: str
    offers: list[RankedOffer]


class WidgetOffer(msgspec.Struct):
    id: str
    token: str


class WidgetResponse(msgspec.Struct):
    html: str
    request_id: str
    model_version: str
    offers: list[WidgetOffer]


class EventsResponse(msgspec.Struct):
    accepted: int


class ConversionResponse(msgspec.Struct):
    id: str
    request_id: str
    offer_id: str
    recorded: bool


class ModelHealth(msgspec.Struct):
    version: str
    fallback: bool
    reason: str | None


class FeedbackLogHealth(msgspec.Struct):
    pending: int
    written: int
    failing_since: str | None
    locked_batches: int


class Health(msgspec.Struct):
    status: Literal["ok"]
    model: ModelHealth
    feedback_log: FeedbackLogHealth


class ErrorDetail(msgspec.Struct):
    code: str
    message: str
    field: str | None


class ErrorBody(msgspec.Struct):
    error: ErrorDetail


rank_decoder = msgspec.json.Decoder(RankRequest)
events_decoder = msgspec.json.Decoder(EventsRequest)
conversion_decoder = msgspec.json.Decoder(ConversionRequest)
