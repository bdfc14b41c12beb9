"""``GET /demo``: the demo shop's order-confirmation page, with the real snippet on it.

It shows a recent order from the store (``?order=ID`` for a given one) to a
customer of the demo shop. Served only by ``encore demo`` (the ``demo`` setting):
on a real shop the page would show a real customer's order.
"""

import random
from typing import Any

from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from offers import schema
from offers.holdout import in_holdout
from offers.store import Store
from widget.errors import ApiError
from widget.service import service_of

_RECENT_ORDERS = 200


async def demo_page(request: Request) -> Response:
    service = service_of(request)
    if not service.settings.extra.get("demo"):
        raise ApiError(404, "the demo page is served by `encore demo` only")
    chosen = request.query_params.get("order")
    found = await run_in_threadpool(
        sample_order, service.store, service.shop.id, chosen, service.settings.holdout_share
    )
    if found is None:
        raise ApiError(
            404,
            f"no order `{chosen}` in the demo shop" if chosen else "the demo shop has no orders",
        )
    order, customer = found
    context = {
        "publishable_key": service.shop.publishable_key,
        "order": order,
        "customer": customer,
        "script_url": f"{request.base_url}widget.js",
    }
    return service.templates.TemplateResponse(request, "demo.html", context)


def sample_order(
    store: Store, shop_id: str, order_id: str | None = None, holdout_share: float = 0.0
) -> tuple[dict, dict] | None:
    """A recent order (or ``order_id``) as the page shows it, and its customer.

    A random recent order is one of a customer outside the holdout, so that a
    first look at the demo shows offers; ``?order=`` shows any order as it is.
    """
    orders, lines = schema.orders, schema.order_lines
    with store.engine.connect() as connection:
        query = select(orders).where(orders.c.shop_id == shop_id)
        if order_id:
            query = query.where(orders.c.order_id == order_id)
        else:
            query = query.order_by(orders.c.ordered_at.desc()).limit(_RECENT_ORDERS)
        candidates = connection.execute(query).mappings().all()
        if not order_id:
            candidates = [c for c in candidates if not in_holdout(c["customer_id"], holdout_share)]
        if not candidates:
            return None
        header = random.choice(candidates)
        items = (
            connection.execute(
                select(lines).where(
                    lines.c.shop_id == shop_id, lines.c.order_id == header["order_id"]
                )
            )
            .mappings()
            .all()
        )
        earlier = connection.execute(
            select(func.count())
            .select_from(orders)
            .where(
                orders.c.shop_id == shop_id,
                orders.c.customer_id == header["customer_id"],
                orders.c.ordered_at < header["ordered_at"],
            )
        ).scalar_one()
    order_items = [_item(line) for line in items]
    order = {
        "id": header["order_id"],
        # the model scores the customer's history as it was then, without this very order
        "ordered_at": header["ordered_at"].isoformat() + "Z",
        "total": round(sum(item["price"] * item["quantity"] for item in order_items), 2),
        "currency": header["currency"] or "EUR",
        "country": header["country"],
        "device": header["device"],
        "items": order_items,
    }
    return order, {"id": header["customer_id"], "is_returning": earlier > 0}


def _item(line: Any) -> dict[str, Any]:
    return {
        "sku": line["sku"],
        "title": line["title"] or line["sku"],
        "category": line["category"],
        "price": float(line["price"] or 0.0),
        "quantity": _whole_if_whole(line["quantity"]),
    }


def _whole_if_whole(quantity: float) -> int | float:
    """A stored quantity as the page shows and /v1/rank takes it: 2, or 0.5 (kg) as it is,
    where int() made 0.5 a 0, a quantity /v1/rank refuses, so such an order showed no offers."""
    return int(quantity) if float(quantity).is_integer() else float(quantity)


routes = [Route("/demo", demo_page, methods=["GET"])]
