"""Request and response bodies of the HTTP API (the rank body is :mod:`offers.rank_request`).

Request bodies are decoded and validated in one pass by msgspec; the same
structs generate the JSON Schemas of ``/openapi.json``, so the document cannot
drift from what the service accepts. Response structs only describe what the
handlers answer (they encode plain dicts with orjson).
"""

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from offers.rank_request import Amount, IdOrEmail, check_id_length, settle

EventType = Literal["impression", "view", "click", "dismiss", "accept", "csat"]
MAX_EVENTS = 100


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


class ConversionRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Body of ``POST /v1/conversions``: a ``token``, or ``request_id`` with ``offer_id``.

    An unknown field is refused: a server that sends ``orderId`` for ``order_id`` would
    otherwise record every order of an offer as the first one, and lose the others.
    """

    revenue: Amount
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)] | None = None
    request_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    offer_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    order_id: IdOrEmail | None = ""

    def __post_init__(self) -> None:
        settle(self, keys=("order_id",), amounts=("revenue",))
        check_id_length(self, "order_id")


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


class RankingExplained(msgspec.Struct):
    """``?debug=1`` (secret key): why each offer of the shop was not shown."""

    candidates: int
    shown: list[str]
    excluded: Annotated[
        dict[str, str], msgspec.Meta(description="offer id -> why it was not shown")
    ]
    holdout: bool
    max_offers: int | msgspec.UnsetType = msgspec.UNSET  # not for a holdout customer
    relevance_floor: float | msgspec.UnsetType = msgspec.UNSET


class RankResponse(msgspec.Struct):
    request_id: str
    model_version: str
    offers: list[RankedOffer]
    debug: RankingExplained | msgspec.UnsetType = msgspec.UNSET


class WidgetOffer(msgspec.Struct):
    id: str
    token: str


class WidgetResponse(msgspec.Struct):
    html: str
    request_id: str
    model_version: str
    offers: list[WidgetOffer]
    debug: RankingExplained | msgspec.UnsetType = msgspec.UNSET


class EventsResponse(msgspec.Struct):
    """``refused``: the events of the batch whose token was refused (only when some were)."""

    accepted: int
    refused: list["ErrorDetail"] = []


class ConversionResponse(msgspec.Struct):
    id: str
    request_id: str
    offer_id: str
    recorded: bool


class ModelHealth(msgspec.Struct):
    version: str
    fallback: bool
    reason: str | None
    rejected: Annotated[
        str | None,
        msgspec.Meta(
            description="Why the newest published model was not loaded (corrupt, another "
            "format, a copy not finished, or one that knows none of the shop's ordered "
            "products) while the model in `version` goes on serving; null once one loads."
        ),
    ]


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


# Lax, as offers.rank_request explains: numeric strings are numbers.
events_decoder = msgspec.json.Decoder(EventsRequest, strict=False)
conversion_decoder = msgspec.json.Decoder(ConversionRequest, strict=False)
