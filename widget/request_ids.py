"""Request ids: 24 hex digits, this worker's tag (8), the time in ms (11), a counter (5).

The tag lets a worker tell its own impressions from other workers' when it
refreshes what it holds in memory (:mod:`widget.recent`): it recorded its own
as it served them, and re-reading them grows with its own traffic. A forked
worker draws a new tag, so no two live workers share one but by a 1 in 2^32 chance.

Ids of one worker increase with time, so the feedback log appends to the indexes
keyed by request id instead of writing all over them (random ids cost the writer
a third more CPU per row, and more as the tables grow). The counter keeps the ids of
one millisecond apart.
"""

import itertools
import os
import time

_tag = os.urandom(4).hex()
_counter = itertools.count()


def new_request_id() -> str:
    return f"{_tag}{time.time_ns() // 1_000_000:011x}{next(_counter) & 0xFFFFF:05x}"


def worker_tag() -> str:
    """What every request id this worker issues starts with."""
    return _tag


def _new_tag() -> None:
    global _tag
    _tag = os.urandom(4).hex()


os.register_at_fork(after_in_child=_new_tag)
