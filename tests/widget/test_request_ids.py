import os
import re

from widget.request_ids import new_request_id, worker_tag


def test_request_ids_are_24_hex_digits_starting_with_the_worker_tag():
    ids = [new_request_id() for _ in range(1_000)]

    assert len(set(ids)) == 1_000
    assert all(re.fullmatch(r"[0-9a-f]{24}", request_id) for request_id in ids)
    assert {request_id[:8] for request_id in ids} == {worker_tag()}


def test_request_ids_of_one_worker_follow_the_clock_then_the_counter(monkeypatch):
    monkeypatch.setattr("time.time_ns", lambda: 1_780_000_000_123_456_789)
    same_millisecond = [new_request_id() for _ in range(3)]
    monkeypatch.setattr("time.time_ns", lambda: 1_780_000_000_124_000_000)
    later = new_request_id()

    assert len(set(same_millisecond)) == 3
    assert sorted(same_millisecond) == same_millisecond
    assert max(same_millisecond) < later


def test_a_forked_worker_draws_its_own_tag():
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        os.write(write, (worker_tag() + new_request_id()).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    reported = os.read(read, 100).decode()
    os.close(read)

    tag, request_id = reported[:8], reported[8:]
    assert tag != worker_tag()
    assert request_id.startswith(tag)
