"""How `encore serve` learns that a worker could not start.

With several workers, uvicorn stops them all when one fails to start and then exits 0,
so a supervisor that restarts the service on failure would leave it down. A worker whose
start fails writes why to a file `encore serve` names in its environment; `encore serve`
reads it once uvicorn returns and stops with that reason, exit 2.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory

from offers.errors import InputError, first_line

VARIABLE = "ENCORE_WORKER_FAILURES"


def record(err: BaseException) -> None:
    """Write why this worker could not start, if `encore serve` asked to know."""
    path = os.environ.get(VARIABLE)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(first_line(err) + "\n")


@contextmanager
def reported() -> Iterator[None]:
    """Run the workers started inside; an InputError naming the first failure any of them
    recorded, once they have stopped."""
    with TemporaryDirectory(prefix="encore-serve-") as folder:
        failures = Path(folder) / "failures"
        os.environ[VARIABLE] = str(failures)
        try:
            try:
                yield
            except SystemExit:  # uvicorn's exit when its one worker could not start
                if not failures.exists():
                    raise
            if failures.exists():
                reason = failures.read_text(encoding="utf-8").splitlines()[0]
                raise InputError(f"a worker could not start, so the service stopped: {reason}")
        finally:
            del os.environ[VARIABLE]
