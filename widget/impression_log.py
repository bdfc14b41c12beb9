"""The feedback log, written off the request path.

Handlers append rows (a rank request and its impressions, events) to an
in-memory queue and answer at once; one background task writes the queue in
batches, and on shutdown writes everything left before the store closes, so a
graceful restart loses nothing. A failed write is retried with the rows kept in
order while the store is unreachable; a row the store refuses outright (it
never will accept it) is logged and dropped, so it cannot block the queue. The
queue is bounded: a full queue turns new requests away (429) rather than
silently dropping what they would log.

Where a batch is written depends on the store. PostgreSQL is across a network:
a worker thread waits for it. A SQLite file in WAL mode is written on the event
loop itself, from a connection of its own: handing batches to a thread cost
every request ~100-200 us of server CPU in GIL hand-offs. Batches are 500 rows,
with requests let in between (2,000-row batches held the loop for up to ~30 ms
under load, 500 for ~7-10 ms), and a flush writes what was queued when it began:
under load, chasing the rows queued meanwhile committed every ~50 rows, at
~25 us of CPU per row against ~15 us in batches of ~300. That connection never
waits and never fsyncs: it has no busy timeout, so a batch that finds the file
locked (another worker, an import) is written from a worker thread instead,
which waits as the store allows; and it does not checkpoint, so a worker thread
checkpoints the WAL after a flush that wrote, at most once a second.
"""

import asyncio
import contextlib
import itertools
import logging
import math
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from offers.feedback import FeedbackBatch, record_feedback, write_feedback
from offers.store import STORE_AWAY, Store
from widget.errors import log_outage

logger = logging.getLogger("encore.widget")

_TABLES = ("rank_requests", "impressions", "events")


class ImpressionLog:
    """A queue of feedback rows and the background task that writes it."""

    def __init__(
        self,
        store: Store,
        *,
        flush_interval: float = 0.2,
        batch_rows: int = 500,
        max_pending: int = 200_000,
        checkpoint_seconds: float = 1.0,
        shutdown_seconds: float = 20.0,
        on_written: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> None:
        self.store = store
        # told the impressions of each batch once written (or dropped): the per-worker
        # lifetime counts keep those not written yet (widget/recent.py)
        self.on_written = on_written
        self.flush_interval = flush_interval
        self.batch_rows = batch_rows
        self.max_pending = max_pending
        self.checkpoint_seconds = checkpoint_seconds
        # how long shutdown goes on retrying: well within the 30 s that process managers
        # (Kubernetes, systemd) give a stopping service before they kill it
        self.shutdown_seconds = shutdown_seconds
        self.n_written = 0
        self.n_found_locked = 0  # batches the loop found the SQLite file locked for
        self.failing_since: datetime | None = None  # when writes began to fail; None if they work
        self._in_flight = 0  # rows of the batch being written (from a thread, PostgreSQL)
        self._loop_connection: Connection | None = None
        self._checkpointed_at = time.monotonic()
        self._checkpointed_rows = 0  # n_written at the last checkpoint
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

    def health(self) -> dict[str, Any]:
        """What ``/healthz`` says of the log: rows not yet written (queued, or in the batch being
        written), rows written since start, when writing began to fail (None while it works),
        and batches that found the SQLite file locked."""
        return {
            "pending": self.pending + self._in_flight,
            "written": self.n_written,
            "failing_since": None if self.failing_since is None else self.failing_since.isoformat(),
            "locked_batches": self.n_found_locked,
        }

    def add_rank(self, request: dict[str, Any], impressions: list[dict[str, Any]]) -> None:
        self._queues["rank_requests"].append(request)
        self._queues["impressions"].extend(impressions)
        self._nudge()

    def add_events(self, events: list[dict[str, Any]]) -> None:
        self._queues["events"].extend(events)
        self._nudge()

    def start(self) -> None:
        self._loop_connection = _loop_connection(self.store)
        self._task = asyncio.create_task(self._run(), name="encore-impression-log")

    async def flush(self) -> None:
        """Write what is queued now; rows queued while it writes wait for the next flush."""
        async with self._lock:
            try:
                for _ in range(math.ceil(self.pending / self.batch_rows)):
                    await self._write_batch()
                    await asyncio.sleep(0)  # a batch written on the loop held it: let requests in
            except Exception:
                self.failing_since = self.failing_since or datetime.now(UTC)
                raise
            self.failing_since = None
            if self._checkpoint_due():
                await run_in_threadpool(_checkpoint, self.store)
                self._checkpointed_at, self._checkpointed_rows = time.monotonic(), self.n_written

    async def close(self) -> None:
        """Stop the background task and write what is left, retrying for up to
        ``shutdown_seconds`` (a store that is back within them loses nothing)."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        deadline = time.monotonic() + self.shutdown_seconds
        try:
            for attempt in itertools.count(1):
                try:
                    await self.flush()
                    while self.pending:  # queued while it wrote, by a request ending late
                        await self.flush()
                    return
                except Exception as err:
                    pause = min(0.5 * 2 ** (attempt - 1), 4.0, deadline - time.monotonic())
                    if pause <= 0:
                        break
                    log_outage(
                        err,
                        attempt == 1,
                        "writing the feedback log at shutdown failed (attempt %d)",
                        attempt,
                    )
                    await asyncio.sleep(pause)
            logger.error("shutdown: %d feedback rows could not be written", self.pending)
        finally:
            if self._loop_connection is not None:
                # its session settings (no busy timeout) must not go back to the pool
                self._loop_connection.invalidate()
                self._loop_connection.close()
                self._loop_connection = None

    def _checkpoint_due(self) -> bool:
        """The loop wrote since the last checkpoint (an idle log never checkpoints), which
        was ``checkpoint_seconds`` ago or more."""
        return (
            self._loop_connection is not None
            and self.n_written > self._checkpointed_rows
            and time.monotonic() - self._checkpointed_at >= self.checkpoint_seconds
        )

    def _nudge(self) -> None:
        # While the store fails, the back-off says when to try again, not the queue's length:
        # under load a full batch is queued at every request.
        if self.pending >= self.batch_rows and self.failing_since is None:
            self._wake.set()

    async def _run(self) -> None:
        backoff = self.flush_interval
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=backoff)
            self._wake.clear()
            already_failing = self.failing_since is not None
            try:
                await self.flush()
                backoff = self.flush_interval
            except Exception as err:
                backoff = min(max(backoff * 2, 1.0), 30.0)
                log_outage(
                    err,
                    not already_failing,
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
        self._in_flight = taken
        impressions = list(batch.impressions)
        try:
            await self._write(batch)
        except STORE_AWAY:  # the store is away: keep everything
            self._put_back(batch)
            raise
        except Exception:
            logger.exception("a feedback batch was refused; writing its rows one by one")
            try:
                await run_in_threadpool(self._write_one_by_one, batch)
            except STORE_AWAY:  # away midway: keep the rows not done
                self._tell_written(impressions[: len(impressions) - len(batch.impressions)])
                self._put_back(batch)
                raise
        finally:
            self._in_flight = 0
        self.n_written += taken
        self._tell_written(impressions)

    def _tell_written(self, impressions: list[dict[str, Any]]) -> None:
        if self.on_written is not None and impressions:
            self.on_written(impressions)

    def _put_back(self, batch: FeedbackBatch) -> None:
        """Return a batch's rows to the front of their queues, in order."""
        for name in _TABLES:
            self._queues[name].extendleft(reversed(getattr(batch, name)))

    async def _write(self, batch: FeedbackBatch) -> None:
        connection = self._loop_connection
        if connection is not None:
            try:
                with connection.begin():
                    write_feedback(connection, batch)
                return
            except OperationalError as err:
                if not _locked(err):
                    raise
            self.n_found_locked += 1
        await run_in_threadpool(record_feedback, self.store, batch)

    def _write_one_by_one(self, batch: FeedbackBatch) -> None:
        """Keep every row the store accepts; a row it never will is dropped, not retried forever.
        Each row leaves ``batch`` once done, so what is left when the store goes away is what
        still has to be written."""
        for name in _TABLES:
            rows = getattr(batch, name)
            while rows:
                try:
                    record_feedback(self.store, FeedbackBatch(**{name: [rows[0]]}))
                except STORE_AWAY:
                    raise
                except Exception as err:
                    logger.error("dropped a %s row the store refuses (%s): %r", name, err, rows[0])
                rows.pop(0)


def _loop_connection(store: Store) -> Connection | None:
    """A connection for writing on the event loop: to a SQLite file in WAL mode only, where
    a commit neither waits on the network nor fsyncs (without a checkpoint)."""
    if store.engine.dialect.name != "sqlite":
        return None
    connection = store.engine.connect()
    if connection.exec_driver_sql("PRAGMA journal_mode").scalar() != "wal":
        connection.close()
        return None
    connection.exec_driver_sql("PRAGMA busy_timeout=0")
    connection.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
    connection.commit()
    return connection


def _locked(err: OperationalError) -> bool:
    code = getattr(err.orig, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


def _checkpoint(store: Store) -> None:
    with store.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
