"""Files written whole or not at all: each is written under a temporary name beside it,
and all take their places only once every one is complete, so a write that fails (a full
disk, Ctrl-C) leaves the files already there as they were."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged(*paths: Path) -> Iterator[tuple[Path, ...]]:
    """The temporary names to write ``paths`` to; they replace ``paths`` when the block
    ends, and are removed if it raises. An error while writing names the file the user
    gave, not its temporary name."""
    temporary = tuple(path.with_name(f".{path.name}.partial") for path in paths)
    try:
        yield temporary
    except BaseException as err:
        for path in temporary:
            path.unlink(missing_ok=True)
        names = [str(path) for path in temporary]
        if isinstance(err, OSError) and str(err.filename) in names:
            named = paths[names.index(str(err.filename))]
            raise OSError(err.errno, err.strerror, str(named)) from err
        raise
    for path, final in zip(temporary, paths, strict=True):
        path.replace(final)
