"""``/v1/offers``: the catalog over HTTP (secret key).

Bodies are validated by :func:`offers.catalog.parse_offer` (422 naming the
field); every write reloads this worker's in-memory catalog at once (other
workers pick it up on their next refresh).
"""

from typing import Any
from urllib.parse import quote

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from offers.catalog import Offer, is_offer_id, parse_offer
from offers.errors import InputError
from widget.bodies import decode_offer_body, read_body
from widget.errors import ApiError, from_input_error
from widget.query import single
from widget.responses import offer_response
from widget.service import service_of


async def list_offers(request: Request) -> Response:
    service = service_of(request)
    shop = service.keys.secret(request)
    unknown = sorted(set(request.query_params) - {"status"})
    if unknown:  # a `limit` or `page` silently ignored would look like a short catalog
        raise ApiError(
            422,
            f"`{unknown[0]}` is not a parameter here: the list holds every offer, "
            "filtered by `status` alone",
            field=unknown[0],
        )
    status = single(request.query_params, "status")
    if status is not None and status not in ("active", "paused", "archived"):
        raise ApiError(422, "`status` must be one of active, paused, archived", field="status")
    offers = await run_in_threadpool(service.store.offers, shop.id, status=status)
    return offer_response({"offers": offers})


async def create_offer(request: Request) -> Response:
    service = service_of(request)
    shop = service.keys.secret(request)
    offer = _parse_offer(decode_offer_body(await read_body(request)))
    if not await run_in_threadpool(service.store.create_offer, shop.id, offer):
        raise ApiError(
            409,
            f"offer `{offer.id}` already exists; PUT /v1/offers/{offer.id} replaces it",
            field="id",
        )
    await service.offers_changed()
    # Headers are latin-1: an id in any script goes in percent-encoded.
    location = str(request.url_for("offer", offer_id=quote(offer.id, safe="")))
    return offer_response(offer, 201, headers={"Location": location})


async def get_offer(request: Request) -> Response:
    service = service_of(request)
    shop = service.keys.secret(request)
    offer_id = offer_id_of(request)
    offer = await run_in_threadpool(service.store.offer, shop.id, offer_id)
    if offer is None:
        raise no_offer(offer_id)
    return offer_response(offer)


async def put_offer(request: Request) -> Response:
    service = service_of(request)
    shop = service.keys.secret(request)
    offer_id = request.path_params["offer_id"]  # checked with the body's, as `id`
    document = decode_offer_body(await read_body(request))
    if isinstance(document, dict):
        document.setdefault("id", offer_id)
        if document["id"] != offer_id:
            raise ApiError(422, f"`id` must be `{offer_id}` (the id in the URL)", field="id")

    def replaced_by(stored: Offer) -> Offer:
        return _kept_archived(stored, _parse_offer(document, stored=True))

    # Replaced under the stored row's lock, so an offer deleted meanwhile is not brought back
    # with an id that only a stored offer may keep. Not looked up with an id that cannot be
    # one (PostgreSQL refuses a NUL in it): parsing names the problem.
    if is_offer_id(offer_id):
        replaced = await run_in_threadpool(
            service.store.change_offer, shop.id, offer_id, replaced_by
        )
        if replaced is not None:
            await service.offers_changed()
            return offer_response(replaced, 200)
    offer = _parse_offer(document)
    if await run_in_threadpool(service.store.create_offer, shop.id, offer):
        await service.offers_changed()
        return offer_response(offer, 201)
    # Created by another request this moment: this one replaces it, as it would a moment later.
    replaced = await run_in_threadpool(service.store.change_offer, shop.id, offer_id, replaced_by)
    if replaced is None:  # and deleted again meanwhile
        raise ApiError(409, f"offer `{offer_id}` changed meanwhile: send it again", field="id")
    await service.offers_changed()
    return offer_response(replaced, 200)


async def patch_offer(request: Request) -> Response:
    """Change some fields (a JSON Merge Patch, RFC 7386: ``null`` removes a field, objects
    such as ``targeting`` merge); the result is validated as a whole offer."""
    service = service_of(request)
    shop = service.keys.secret(request)
    offer_id = offer_id_of(request)
    patch = decode_offer_body(await read_body(request))
    if not isinstance(patch, dict):
        raise ApiError(422, "expected a merge patch: a JSON object of the fields to change")
    if patch.get("id", offer_id) != offer_id:
        raise ApiError(422, f"`id` must be `{offer_id}` (the id in the URL)", field="id")

    def patched(stored: Offer) -> Offer:
        offer = _parse_offer(_merged(msgspec.to_builtins(stored), patch), stored=True)
        return _kept_archived(stored, offer)

    offer = await run_in_threadpool(service.store.change_offer, shop.id, offer_id, patched)
    if offer is None:
        raise no_offer(offer_id)
    await service.offers_changed()
    return offer_response(offer)


async def delete_offer(request: Request) -> Response:
    service = service_of(request)
    shop = service.keys.secret(request)
    offer_id = offer_id_of(request)
    if not await run_in_threadpool(service.store.delete_offer, shop.id, offer_id):
        raise no_offer(offer_id)
    await service.offers_changed()
    return Response(status_code=204)


def offer_id_of(request: Request) -> str:
    """The offer id in the URL; 404 at once for one no offer can have (PostgreSQL would
    refuse a NUL in it with an error)."""
    offer_id = request.path_params["offer_id"]
    if not is_offer_id(offer_id):
        raise no_offer(offer_id)
    return offer_id


def no_offer(offer_id: str) -> ApiError:
    return ApiError(404, f"no offer `{offer_id}`", field="offer_id")


def _merged(document: Any, patch: Any) -> Any:
    """``patch`` applied to ``document`` by RFC 7386's rules."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(document) if isinstance(document, dict) else {}
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = _merged(merged.get(name), value)
    return merged


def _parse_offer(document: Any, *, stored: bool = False) -> Offer:
    if not isinstance(document, dict):
        raise ApiError(422, "expected an offer: a JSON object")
    try:
        offer = parse_offer(document, stored=stored)
    except InputError as err:
        raise from_input_error(err) from None
    return offer


def _kept_archived(stored: Offer, offer: Offer) -> Offer:
    """``offer``, to replace ``stored``, unless it would pause or resume an archived offer:
    that is for good, as in the dashboard (raised in the store's transaction: nothing is
    written)."""
    if stored.status == "archived" and offer.status != "archived":
        raise ApiError(
            409,
            f"offer `{offer.id}` is archived, and archived offers cannot be paused or resumed: "
            'create a new offer instead (a change that keeps `"status": "archived"` is allowed)',
            field="status",
        )
    return offer


async def offers_collection(request: Request) -> Response:
    return await (list_offers if request.method in ("GET", "HEAD") else create_offer)(request)


async def offer_item(request: Request) -> Response:
    handlers = {"PUT": put_offer, "PATCH": patch_offer, "DELETE": delete_offer}
    return await handlers.get(request.method, get_offer)(request)


routes = [
    Route("/v1/offers", offers_collection, methods=["GET", "POST"]),
    Route(
        "/v1/offers/{offer_id}", offer_item, methods=["GET", "PUT", "PATCH", "DELETE"], name="offer"
    ),
]
