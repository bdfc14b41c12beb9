"""Everything a running service holds: opened at start-up, closed at shutdown.

The store, the shop and its keys, the catalog and recent activity in memory,
the model, the token signer, the impression log and the templates. One
background task refreshes the in-memory catalog and activity every few seconds
(other workers write too); the impression log has its own.
"""

import asyncio
import contextlib
import gzip
import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import rjsmin
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from offers.errors import first_line
from offers.store import STORE_AWAY, Shop, Store, StoreUnreachable, utcnow
from ranker import popularity_model
from widget.auth import KeyRing
from widget.catalog_cache import CatalogCache
from widget.errors import ApiError, log_outage
from widget.impression_log import ImpressionLog
from widget.model_slot import ModelSlot
from widget.ranking import Ranker
from widget.recent import RecentActivity
from widget.settings import Settings
from widget.shop import prepare_shop
from widget.tokens import TokenSigner

logger = logging.getLogger("encore.widget")

PACKAGE = Path(__file__).parent


@dataclass(frozen=True)
class Asset:
    """A static file served from memory, as is and gzipped, with its validator.

    A script is served minified (comments and layout dropped, the ``/*!`` banner kept): it
    ships to every thank-you page, and its source keeps the comments that explain it."""

    content: bytes
    gzipped: bytes
    etag: str  # of the content; the gzipped bytes are another representation: ``etag`` + "-gz"

    @classmethod
    def read(cls, path: Path) -> "Asset | None":
        try:
            content = path.read_bytes()
        except OSError:
            return None
        if path.suffix == ".js":
            content = rjsmin.jsmin(content, keep_bang_comments=True)
        etag = hashlib.sha256(content).hexdigest()[:20]
        return cls(content, gzip.compress(content, compresslevel=9, mtime=0), etag)


@dataclass
class Service:
    settings: Settings
    store: Store
    shop: Shop
    keys: KeyRing
    catalog: CatalogCache
    recent: RecentActivity
    models: ModelSlot
    signer: TokenSigner
    log: ImpressionLog
    ranker: Ranker
    templates: Jinja2Templates
    widget_js: Asset | None
    refresh_seconds: float
    _refresher: "asyncio.Task[None] | None" = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    async def start(cls, settings: Settings) -> "Service":
        store = await _open_store(settings)
        try:
            return await cls._build(settings, store)
        except BaseException:
            store.close()
            raise

    @classmethod
    async def _build(cls, settings: Settings, store: Store) -> "Service":
        served = await run_in_threadpool(prepare_shop, store, settings)
        shop = served.shop
        extra = settings.extra
        models = ModelSlot(
            settings.model_dir,
            fallback=lambda: popularity_model(store.order_lines(shop.id)),
            check_seconds=float(extra.get("model_check_seconds", 2.0)),
            shop_skus=lambda: store.some_skus(shop.id),
        )
        await run_in_threadpool(models.load)
        catalog = CatalogCache(store, shop.id)
        recent = RecentActivity(store, shop.id, settings.dismiss_days, settings.workers)
        signer = TokenSigner(served.signing_secret, settings.token_max_age_days)
        log = ImpressionLog(
            store,
            flush_interval=float(extra.get("log_flush_seconds", 0.2)),
            on_written=recent.written,
        )
        service = cls(
            settings=settings,
            store=store,
            shop=shop,
            keys=KeyRing(shop, served.secret_key_hash),
            catalog=catalog,
            recent=recent,
            models=models,
            signer=signer,
            log=log,
            ranker=Ranker(settings, catalog, recent, models, signer, log),
            templates=_templates(),
            widget_js=Asset.read(PACKAGE / "static" / "widget.js"),
            refresh_seconds=float(extra.get("refresh_seconds", 5.0)),
        )
        await service.refresh()
        log.start()
        service._refresher = asyncio.create_task(service._refresh_forever(), name="encore-refresh")
        return service

    @property
    def csat(self) -> bool:
        return bool(self.shop.settings.get("csat", True))

    async def refresh(self) -> None:
        """Re-read the catalog and what other workers logged."""
        await self.reload_catalog()
        await self.recent.refresh(self.catalog.offers, utcnow())

    async def reload_catalog(self) -> None:
        self.catalog.apply(await run_in_threadpool(self.catalog.fetch))

    async def offers_changed(self) -> None:
        """After an offer write, rank with the new catalog and its caps at once.

        The log is flushed first, so the impressions it still holds count
        toward the per-customer caps that are read back. The write is done by then: a
        store that stops answering now leaves the re-read to the next refresh, rather than
        have the caller told that nothing was saved.
        """
        try:
            await self.log.flush()
            await self.refresh()
        except STORE_AWAY as err:
            logger.error(
                "an offer was saved, but re-reading the catalog failed; it applies at the "
                "next refresh (%s)",
                first_line(err),
            )

    async def stop(self) -> None:
        """Stop refreshing, write the whole impression log, close the store."""
        self._stopping.set()
        if self._refresher is not None:
            await self._refresher  # a refresh in flight finishes: its thread uses the store
        await self.models.wait_reloaded()
        await self.log.close()
        self.store.close()

    async def _refresh_forever(self) -> None:
        failing = False
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.refresh_seconds)
                return
            try:
                await self.refresh()
            except Exception as err:
                self.recent.refresh_failed()
                message = "refreshing the catalog and recent activity failed; will retry"
                log_outage(err, not failing, message)
                failing = True
            else:
                failing = False


async def _open_store(settings: Settings) -> Store:
    """The store, waited for while its server does not answer, up to ``store_wait_seconds``
    (60 s): a worker that uvicorn restarts during a database restart would otherwise fail
    to start, and uvicorn then stops every worker. ``encore serve`` has opened the store
    once before starting any, so a wrong address fails at once there."""
    wait = float(settings.extra.get("store_wait_seconds", 60.0))
    deadline, pause = time.monotonic() + wait, 0.5
    while True:
        try:
            return await run_in_threadpool(Store.open, settings.database_url)
        except StoreUnreachable as err:
            left = deadline - time.monotonic()
            if left <= 0:
                raise
            logger.warning("%s; trying again for up to %.0f s", err, left)
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, 5.0)


def service_of(request: Request) -> Service:
    return request.scope["state"]["service"]  # what request.state reads, without a State per call


def check_capacity(service: Service) -> None:
    """Turn requests away (429) while the impression log is full, rather than lose what they log."""
    if service.log.full:
        error = ApiError(429, "too many requests are waiting to be logged; retry in a second")
        error.headers["Retry-After"] = "1"
        raise error


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PACKAGE / "templates"), autoescape=True, auto_reload=False
    )
    return Jinja2Templates(env=env)


def describe(service: Service) -> dict[str, Any]:
    """The body of ``GET /healthz``."""
    return {"status": "ok", "model": service.models.health(), "feedback_log": service.log.health()}
