"""The feedback log, written off the request path.

Handlers append rows (a rank request and its impressions, events) to an
in-memory queue and answer at once; one background task writes the queue in
batches, in a worker thread, and on shutdown writes everything left before the
store closes, so a graceful restart loses nothing. A failed write is retried
with the rows kept in order while the store is unreachable; a row the store
refuses outright (it never will accept it) is logged and dropped, so it cannot
block the queue. The queue is bounded: a full queue turns new requests away
(429) rather than silently dropping what they would log.
"""

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.concurrency import run_in_threadpool

from offers.feedback import FeedbackBatch, record_feedback
from offers.store import Store

logger = logging.getLogger("encore.widget")

_TABLES = ("rank_requests", "impressions", "events")


class ImpressionLog:
    """A queue of feedback rows and the background task that writes it."""

    def __init__(
        self,
        store: Store,
        *,
        flush_interval: float = 0.2,
        batch_rows: int = 2_000,
        max_pending: int = 200_000,
    ) -> None:
        self.store = store
        self.flush_interval = flush_interval
        self.batch_rows = batch_rows
        self.max_pending = max_pending
        self.n_written = 0
        self._queues: dict[str, deque[dict[str, Any]]] = {name: deque() for name in _TABLES}
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    @property
    def full(self) -> bool:
        return self.pending >= self.max_pending

    def add_rank(self, request: dict[str, Any], impressions: list[dict[str, Any]]) -> None:
        self._queues["rank_requests"].append(request)
        self._queues["impressions"].extend(impressions)
        self._nudge()

    def add_events(self, events: list[dict[str, Any]]) -> None:
        self._queues["events"].extend(events)
        self._nudge()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="encore-impression-log")

    async def flush(self) -> None:
        """Write everything queued so far."""
        async with self._lock:
            while self.pending:
                await self._write_batch()

    async def close(self) -> None:
        """Stop the background task and write what is left (retrying a few times)."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        for attempt in range(3):
            try:
                await self.flush()
                return
            except Exception:
                logger.exception(
                    "writing the feedback log at shutdown failed (attempt %d)", attempt + 1
                )
                await asyncio.sleep(0.5 * (attempt + 1))
        logger.error("shutdown: %d feedback rows could not be written", self.pending)

    def _nudge(self) -> None:
        if self.pending >= self.batch_rows:
            self._wake.set()

    async def _run(self) -> None:
        backoff = self.flush_interval
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=backoff)
            self._wake.clear()
            try:
                await self.flush()
                backoff = self.flush_interval
            except Exception:
                backoff = min(max(backoff * 2, 1.0), 30.0)
                logger.exception(
                    "writing the feedback log failed; %d rows kept, retrying in %.0f s",
                    self.pending,
                    backoff,
                )

    async def _write_batch(self) -> None:
        batch, taken = FeedbackBatch(), 0
        for name in _TABLES:
            queue, rows = self._queues[name], getattr(batch, name)
            while queue and taken < self.batch_rows:
                rows.append(queue.popleft())
                taken += 1
        try:
            await run_in_threadpool(record_feedback, self.store, batch)
        except (OperationalError, InterfaceError):  # the store is away: keep everything
            for name in _TABLES:
                self._queues[name].extendleft(reversed(getattr(batch, name)))
            raise
        except Exception:
            logger.exception("a feedback batch was refused; writing its rows one by one")
            await run_in_threadpool(self._write_one_by_one, batch)
        self.n_written += taken

    def _write_one_by_one(self, batch: FeedbackBatch) -> None:
        """Keep every row the store accepts; a row it never will is dropped, not retried forever."""
        for name in _TABLES:
            for row in getattr(batch, name):
                try:
                    record_feedback(self.store, FeedbackBatch(**{name: [row]}))
                except (OperationalError, InterfaceError):
                    raise
                except Exception as err:
                    logger.error("dropped a %s row the store refuses (%s): %r", name, err, row)
