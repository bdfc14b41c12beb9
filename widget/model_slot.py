"""The relevance model in use: loaded at start-up, reloaded when a new one is trained.

A missing, corrupt or incompatible artifact never takes the service down: it
ranks with the popularity fallback (built from the store's order history) and
``/healthz`` says why. Requests check the model folder at most every
``check_seconds`` (the resolved ``current`` target, and the mtime and size of its
``card.json`` and ``model.joblib``, so a model published before its copy ended is
loaded once the copy ends); when it changed, a new model is loaded in a worker
thread and swapped in while requests keep using the old one. A new model that
cannot be used (a model that knows none of the shop's products included: trained on
another shop's history) leaves the old one serving, and ``/healthz`` says why it was
refused.
"""

import asyncio
import logging
import os
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from threadpoolctl import threadpool_limits

from offers.errors import first_line
from ranker import ModelError, load_model

logger = logging.getLogger("encore.widget")

Signature = tuple[str, tuple[int, int], tuple[int, int]] | None
_MAX_NAMING_FILE_BYTES = 255  # a `current` file holds a folder's name, no more


class ModelSlot:
    """Holds the model (or the fallback) and swaps in a newly trained one."""

    def __init__(
        self,
        model_dir: str | Path,
        fallback: Callable[[], Any],
        check_seconds: float = 2.0,
        shop_skus: Callable[[], Collection[str]] = tuple,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.check_seconds = check_seconds
        self._make_fallback = fallback
        self._shop_skus = shop_skus
        self._fallback: Any = None
        self.model: Any = None
        self.reason: str | None = None
        self.rejected: str | None = None  # why the newest model was refused, while another serves
        self._signature: Signature = None
        self._next_check = 0.0
        self._reloading: asyncio.Task[None] | None = None

    @property
    def is_fallback(self) -> bool:
        return self.reason is not None

    @property
    def version(self) -> str:
        return str(self.model.version)

    def load(self) -> None:
        """Load the model, or the fallback (blocking)."""
        signature = model_signature(self.model_dir)
        model, self.reason = self._load()
        self.model = model if model is not None else self._fall_back(self.reason)
        self._signature = signature
        self._next_check = time.monotonic() + self.check_seconds

    def fallback(self) -> Any:
        """The popularity model, built on first use (blocking)."""
        if self._fallback is None:
            self._fallback = self._make_fallback()
        return self._fallback

    def maybe_reload(self) -> None:
        """On a request: look at the model folder now and then; reload in the background."""
        now = time.monotonic()
        if now < self._next_check or self._reloading is not None:
            return
        self._next_check = now + self.check_seconds
        signature = model_signature(self.model_dir)
        if signature != self._signature:
            self._reloading = asyncio.create_task(self._reload(signature))

    async def wait_reloaded(self) -> None:
        if self._reloading is not None:
            await self._reloading

    def health(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "fallback": self.is_fallback,
            "reason": self.reason,
            "rejected": self.rejected,
        }

    async def _reload(self, signature: Signature) -> None:
        try:
            model, reason = await run_in_threadpool(self._load)
            if model is None and self.is_fallback:
                self.model, self.reason = await run_in_threadpool(self._fall_back, reason), reason
            elif model is not None:
                self.model, self.reason, self.rejected = model, None, None
                threadpool_limits(limits=1)  # a new model may have loaded another native library
                logger.info("model %s in use", self.version)
            else:
                self.rejected = reason
                logger.error(
                    "keeping model %s: the new one cannot be used (%s)", self.version, reason
                )
            self._signature = signature
        finally:
            self._reloading = None

    def _load(self) -> tuple[Any, str | None]:
        """The model in the folder, or None and why it cannot be used (blocking)."""
        try:
            model = load_model(resolve(self.model_dir))
            _check_of_this_shop(model, self._shop_skus())
            model.warm_up()  # here, in the loading thread, not on the first requests
            return model, None
        except Exception as err:  # ModelError, or whatever a corrupt artifact raises on load
            return None, first_line(err)

    def _fall_back(self, reason: str | None) -> Any:
        logger.warning("ranking with the popularity fallback: %s", reason)
        return self.fallback()


def _check_of_this_shop(model: Any, shop_skus: Collection[str]) -> None:
    """Refuse a model that knows none of the shop's products: trained on another shop's
    history, it would score every cross-sell as unknown and none would show."""
    known = model.index.sku_code
    if shop_skus and not any(sku in known for sku in shop_skus):
        raise ModelError(
            f"model {model.version} knows none of this shop's products "
            "(trained on another shop's order history?)"
        )


def resolve(model_dir: Path) -> Path:
    """The folder ``model_dir`` points at: a `current` symlink, or a file naming the folder."""
    if not model_dir.is_file():
        return model_dir
    not_a_name = ModelError(f"{model_dir}: is a file, not a model folder nor one naming it")
    if model_dir.stat().st_size > _MAX_NAMING_FILE_BYTES:
        raise not_a_name
    try:
        name = model_dir.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        raise not_a_name from None
    if not name or any(not c.isprintable() for c in name):
        raise not_a_name
    return model_dir.parent / name


def model_signature(model_dir: Path) -> Signature:
    """What tells one published model from another: where ``model_dir`` leads, and the
    mtime and size of the two files there; None when there is no model to load."""
    try:
        folder = os.path.realpath(resolve(model_dir))
        card, joblib_file = (
            os.stat(os.path.join(folder, n)) for n in ("card.json", "model.joblib")
        )
    except (OSError, ValueError, ModelError):  # ValueError: a NUL in the path
        return None
    return folder, (card.st_mtime_ns, card.st_size), (joblib_file.st_mtime_ns, joblib_file.st_size)
