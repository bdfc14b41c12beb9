"""The Starlette application: ``create_app(settings)`` wires everything.

The lifespan opens the store, sets up the shop, loads the model (or its
fallback) and pins native thread pools to one thread (several threads per
worker fight over the cores and collapse throughput); at shutdown it writes the
whole impression log before closing the store.

Once started, everything loaded so far (model, catalog, ~200k objects) is moved
out of the cyclic garbage collector's reach with ``gc.freeze()``: otherwise each
full collection walks it all again (~50-100 ms with every request waiting).
Young collections then run after 20,000 new objects instead of 700: a request's
objects are freed by reference counting, so the collector mostly re-walked the
rows waiting in the impression log (server CPU per request with the popularity
fallback 686 us against 780 us, mean of three paired wrk runs).
"""

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from threadpoolctl import threadpool_limits

from widget import admin, api, demo, worker_failures
from widget.access_log import hide_emails_in_access_log
from widget.auth import Cors, OriginList
from widget.errors import ANSWER_HEADERS, exception_handlers
from widget.openapi import openapi_document
from widget.origins import AllowedOrigins
from widget.request_ids import new_request_id
from widget.service import Service
from widget.settings import Settings, load_settings

_YOUNG_COLLECTION_OBJECTS = 20_000


class RequestId:
    """Gives every request an id (logged with errors, returned as ``X-Request-Id``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = scope["encore.request_id"] = new_request_id()
        header = (b"x-request-id", request_id.encode())
        scope.setdefault(ANSWER_HEADERS, []).append(header)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_app(settings: Settings, on_ready: Callable[[], None] | None = None) -> Starlette:
    """The service for ``settings``; ``on_ready`` is called once it has started (model loaded
    and compiled, catalog read), when it is about to take requests."""
    origins = OriginList(settings.allowed_origins)
    document = orjson.dumps(openapi_document())
    hide_emails_in_access_log()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        try:
            service = await Service.start(settings)
        except Exception as err:
            worker_failures.record(err)
            raise
        origins.allowed = AllowedOrigins(service.shop.allowed_origins)
        # As a context manager, so that on leaving it also gives up OpenBLAS's "controlling
        # thread": threadpoolctl lets only that thread set OpenBLAS's limit, and an app
        # started later from another thread would otherwise run with two threads.
        with threadpool_limits(limits=1):
            gc.collect()
            gc.freeze()
            thresholds = gc.get_threshold()
            gc.set_threshold(_YOUNG_COLLECTION_OBJECTS, *thresholds[1:])
            if on_ready is not None:
                on_ready()
            try:
                yield {
                    "service": service,
                    "store": service.store,
                    "shop": service.shop,
                    "keys": service.keys,
                }
            finally:
                await service.stop()
                gc.set_threshold(*thresholds)
                gc.unfreeze()

    async def openapi(request: Request) -> Response:
        return Response(document, media_type="application/json")

    routes = [
        *api.routes,
        Route("/openapi.json", openapi, methods=["GET"]),
        *demo.routes,
        *admin.routes,
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(RequestId), Middleware(Cors, origins=origins)],
        exception_handlers=exception_handlers,
        lifespan=lifespan,
    )


def app_from_environment() -> Starlette:
    """The app for ``uvicorn --factory widget.app:app_from_environment`` (ENCORE_* settings)."""
    return create_app(load_settings())
