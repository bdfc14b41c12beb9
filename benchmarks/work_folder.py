"""Where a benchmark writes its data: a folder the user named, or a temporary one."""

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def work_folder(given: Path | None, prefix: str) -> Iterator[Path]:
    """``given`` (created if needed, and kept for the next run), or a temporary
    folder that is removed at the end, so repeated runs do not fill the disk."""
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        yield Path(scratch)
    print(f"removed the temporary folder {scratch}", file=sys.stderr)
