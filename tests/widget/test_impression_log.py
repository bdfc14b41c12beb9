import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TypeVar

import pytest
from anyio.from_thread import start_blocking_portal
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from offers import schema
from offers.feedback import record_feedback, write_feedback
from offers.store import Store
from tests.feedback import impression_row
from tests.widget.conftest import TestClient, auth
from widget.app import create_app
from widget.impression_log import ImpressionLog

T = TypeVar("T")


def _count(database_url: str, table) -> int:
    store = Store.open(database_url)
    try:
        with store.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(table)).scalar_one()
    finally:
        store.close()


def test_nothing_is_lost_at_shutdown_under_concurrent_requests(
    make_settings, rank_body, database_url
):
    # a flush interval longer than the test: every row is still queued when the app shuts down
    settings = make_settings(extra={"log_flush_seconds": 3600})
    n_requests = 240

    with TestClient(create_app(settings)) as client:

        def rank(n: int) -> dict:
            path = "/v1/widget" if n % 2 else "/v1/rank"
            return client.post(path, json=rank_body(customer=f"load-{n}"), headers=auth()).json()

        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(rank, range(n_requests)))
        assert client.app_state["service"].log.pending > 0

    assert _count(database_url, schema.rank_requests) == n_requests
    assert _count(database_url, schema.impressions) == sum(len(a["offers"]) for a in answers)


def test_rows_are_written_in_the_background(client, rank_body, database_url):
    client.post("/v1/rank", json=rank_body(), headers=auth())
    log = client.app_state["service"].log

    for _ in range(100):
        if log.n_written:
            break
        client.portal.call(_sleep)

    assert log.pending == 0
    assert _count(database_url, schema.rank_requests) == 1


async def _sleep() -> None:
    await asyncio.sleep(0.02)


def run(function: Callable[[], Awaitable[T]]) -> T:
    """Run on an event loop of its own thread (the test's thread may already run one)."""
    with start_blocking_portal() as portal:
        return portal.call(function)


def _request_row(request_id: str, **fields) -> dict:
    row = {
        "id": request_id,
        "shop_id": "s",
        "at": datetime(2026, 1, 1),
        "placement": "thank_you",
        "order_id": "o",
        "customer_id": "c",
        "order_total": 1.0,
        "holdout": False,
        "model_version": "v",
        "n_offers": 0,
    }
    return {**row, **fields}


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    """A SQLite store at ``tmp_path / "log.db"``."""
    store = Store.open(f"sqlite:///{tmp_path / 'log.db'}")
    yield store
    store.close()


def test_rows_are_kept_while_the_store_is_unreachable_and_written_when_it_is_back(
    store, monkeypatch
):
    log = ImpressionLog(store, flush_interval=3600)

    def unreachable(*args) -> None:
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    async def attempt() -> None:
        log.start()
        log.add_rank(_request_row("r1"), [])
        with monkeypatch.context() as away:
            away.setattr("widget.impression_log.write_feedback", unreachable)
            away.setattr("widget.impression_log.record_feedback", unreachable)
            with pytest.raises(OperationalError):
                await log.flush()
            away_health = log.health()
        await log.close()
        return away_health, log.health()

    away, back = run(attempt)

    assert _request_ids(store) == ["r1"]
    assert (away["pending"], away["written"]) == (1, 0) and away["failing_since"] is not None
    assert back == {"pending": 0, "written": 1, "failing_since": None, "locked_batches": 0}


def test_the_impressions_of_a_batch_are_told_once_written_not_while_the_store_is_away(
    store, monkeypatch
):
    told: list[list[str]] = []
    log = ImpressionLog(
        store,
        flush_interval=3600,
        on_written=lambda rows: told.append([r["offer_id"] for r in rows]),
    )
    at = datetime(2026, 1, 1)
    impressions = [impression_row("r1", o, "c", at, shop_id="s") for o in ("o1", "o2")]

    def unreachable(*args) -> None:
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    async def attempt() -> list[list[str]]:
        log.start()
        log.add_rank(_request_row("r1"), impressions)
        with monkeypatch.context() as away:
            away.setattr("widget.impression_log.write_feedback", unreachable)
            away.setattr("widget.impression_log.record_feedback", unreachable)
            with pytest.raises(OperationalError):
                await log.flush()
        while_away = list(told)
        await log.close()
        return while_away

    assert run(attempt) == []
    assert told == [["o1", "o2"]]


def test_rows_being_written_from_a_thread_still_count_as_pending(store, monkeypatch):
    """As with PostgreSQL: a batch is written from a worker thread while requests go on."""
    started, release = threading.Event(), threading.Event()

    def slow(store, batch) -> None:
        started.set()
        release.wait(timeout=30)
        record_feedback(store, batch)

    monkeypatch.setattr("widget.impression_log.record_feedback", slow)
    log = ImpressionLog(store, flush_interval=3600)  # not started: no connection of the loop's

    async def attempt() -> tuple[dict, dict]:
        log.add_rank(_request_row("r1"), [])
        flushing = asyncio.create_task(log.flush())
        await asyncio.to_thread(started.wait, 30)
        during = log.health()
        release.set()
        await flushing
        return during, log.health()

    during, after = run(attempt)

    assert (during["pending"], during["written"]) == (1, 0)
    assert (after["pending"], after["written"]) == (0, 1)


def _failing_first(times: int, written: asyncio.Event | None = None) -> Callable:
    """write_feedback that fails ``times`` times as if the store were away, then writes
    (and sets ``written``)."""
    calls = {"n": 0}

    def write(connection, batch) -> None:
        calls["n"] += 1
        if calls["n"] <= times:
            raise OperationalError("INSERT", {}, Exception("connection reset"))
        write_feedback(connection, batch)
        if written is not None:
            written.set()

    return write


def test_the_background_writer_retries_a_failed_batch_until_it_is_written(
    store, monkeypatch, caplog
):
    written = asyncio.Event()
    monkeypatch.setattr("widget.impression_log.write_feedback", _failing_first(1, written))
    log = ImpressionLog(store, flush_interval=0.01)

    async def attempt() -> None:
        log.start()
        log.add_rank(_request_row("r1"), [])
        await asyncio.wait_for(written.wait(), timeout=30)  # after a back-off of one second
        await log.close()

    run(attempt)

    assert _request_ids(store) == ["r1"]
    assert "writing the feedback log failed; 1 rows kept, retrying in 1 s" in caplog.text


def test_while_the_store_fails_a_full_queue_does_not_bring_the_next_attempt_forward(
    store, monkeypatch, caplog
):
    attempts = []
    fail_once = _failing_first(1)

    def write(connection, batch) -> None:
        attempts.append(len(batch.rank_requests))
        fail_once(connection, batch)

    monkeypatch.setattr("widget.impression_log.write_feedback", write)
    log = ImpressionLog(store, flush_interval=3600, batch_rows=2)

    async def outage() -> int:
        log.start()
        log.add_rank(_request_row("r0"), [])
        log.add_rank(_request_row("r1"), [])  # a full batch: written at once, and refused
        while log.failing_since is None:
            await asyncio.sleep(0)
        for n in range(2, 40):  # requests go on arriving, each with a full batch queued
            log.add_rank(_request_row(f"r{n}"), [])
            await asyncio.sleep(0)
        tried = len(attempts)
        await log.close()
        return tried

    assert run(outage) == 1  # the next try waits out its back-off (1 s)
    assert len(_request_ids(store)) == 40
    assert caplog.text.count("Traceback") == 1


@pytest.mark.parametrize(
    ("failures", "shutdown_seconds", "written"),
    [
        pytest.param(3, 5.0, ["r1"], id="the-store-back-within-the-window"),
        pytest.param(1_000, 0.6, [], id="the-store-away-past-the-window"),
    ],
)
def test_shutdown_retries_for_a_while_to_write_what_is_left(
    store, monkeypatch, caplog, failures, shutdown_seconds, written
):
    monkeypatch.setattr("widget.impression_log.write_feedback", _failing_first(failures))
    log = ImpressionLog(store, flush_interval=3600, shutdown_seconds=shutdown_seconds)

    async def attempt() -> None:
        log.start()
        log.add_rank(_request_row("r1"), [])
        await log.close()

    run(attempt)

    assert _request_ids(store) == written
    assert ("1 feedback rows could not be written" in caplog.text) == (not written)
    assert caplog.text.count("Traceback") == 1  # the first failure's; the others one line


def test_a_batch_that_finds_the_sqlite_file_locked_waits_off_the_loop_and_is_written(
    store, tmp_path
):
    log = ImpressionLog(store, flush_interval=3600)

    async def attempt() -> None:
        log.start()
        other_worker = sqlite3.connect(tmp_path / "log.db", isolation_level=None)
        other_worker.execute("BEGIN IMMEDIATE")
        log.add_rank(_request_row("r1"), [])
        flushing = asyncio.create_task(log.flush())
        while not log.n_found_locked:
            await asyncio.sleep(0)
        assert not flushing.done()  # it waits for the lock in a worker thread, not here
        other_worker.execute("COMMIT")
        other_worker.close()
        await flushing
        await log.close()

    run(attempt)

    assert _request_ids(store) == ["r1"]


def test_the_sqlite_write_ahead_log_is_checkpointed_and_does_not_grow(store, tmp_path):
    log = ImpressionLog(store, flush_interval=3600, checkpoint_seconds=0)
    wal_sizes = []

    async def write_batches() -> None:
        log.start()
        for batch in range(20):
            for n in range(200):
                log.add_rank(_request_row(f"r{batch}-{n}"), [])
            await log.flush()
            wal_sizes.append((tmp_path / "log.db-wal").stat().st_size)
        await log.close()

    run(write_batches)

    assert len(_request_ids(store)) == 4_000
    assert wal_sizes[-1] <= 2 * wal_sizes[0]


def test_a_flush_under_load_writes_what_was_queued_in_full_batches(store):
    log = ImpressionLog(store, flush_interval=3600, batch_rows=100)
    written_per_batch = []

    async def busy() -> None:
        log.start()
        for n in range(250):
            log.add_rank(_request_row(f"queued-{n}"), [])
        flushing = asyncio.create_task(log.flush())
        n_written, n = 0, 0
        while not flushing.done():  # requests keep coming while it writes
            if n < 1_000:
                log.add_rank(_request_row(f"later-{n}"), [])
                n += 1
            if log.n_written != n_written:
                written_per_batch.append(log.n_written - n_written)
                n_written = log.n_written
            await asyncio.sleep(0)
        assert log.pending > 0  # what came in meanwhile waits for the next flush
        await log.close()

    run(busy)

    assert len(written_per_batch) == 3  # the 250 queued rows, and a few that came meanwhile
    assert written_per_batch[:2] == [100, 100]
    assert len(_request_ids(store)) == log.n_written


def _request_ids(store: Store) -> list[str]:
    with store.engine.connect() as connection:
        return sorted(connection.execute(select(schema.rank_requests.c.id)).scalars())


def test_a_row_the_store_refuses_is_dropped_and_the_rest_written(store, caplog):
    log = ImpressionLog(store, flush_interval=3600)

    async def write() -> None:
        log.start()
        log.add_rank(_request_row("good-1"), [])
        log.add_rank(_request_row("bad", at=None), [])
        log.add_rank(_request_row("good-2"), [])
        await log.close()

    run(write)

    assert _request_ids(store) == ["good-1", "good-2"]
    assert log.pending == 0
    assert "dropped a rank_requests row" in caplog.text


def test_a_full_log_turns_requests_away(make_client, rank_body):
    client = make_client(extra={"log_flush_seconds": 3600})
    client.app_state["service"].log.max_pending = 1
    client.post("/v1/rank", json=rank_body(), headers=auth())

    response = client.post("/v1/rank", json=rank_body(customer="other"), headers=auth())

    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["code"] == "too_many_requests"


def test_rows_not_yet_written_one_by_one_are_kept_when_the_store_goes_away_midway(
    store, monkeypatch
):
    calls = {"n": 0}

    def away_after_the_first(store_, batch) -> None:  # good-1 written, then the store is gone
        calls["n"] += 1
        if calls["n"] == 2:
            raise OperationalError("INSERT", {}, Exception("connection reset"))
        record_feedback(store_, batch)

    log = ImpressionLog(store, flush_interval=3600)

    async def outage() -> int:
        log.start()
        for request_id in ("good-1", "good-2", "good-3"):
            log.add_rank(_request_row(request_id), [])
        log.add_rank(_request_row("bad", at=None), [])  # the batch is refused: one by one
        with monkeypatch.context() as patched:
            patched.setattr("widget.impression_log.record_feedback", away_after_the_first)
            with pytest.raises(OperationalError):
                await log.flush()
        kept = log.pending
        await log.close()  # the store is back
        return kept

    assert run(outage) == 3  # good-2, good-3 and bad: nothing lost but what was written
    assert _request_ids(store) == ["good-1", "good-2", "good-3"]
