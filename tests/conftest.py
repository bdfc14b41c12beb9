"""Shared fixtures: real stores (SQLite and a throwaway PostgreSQL server), generated shops."""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from offers.store import Store

REQUIRE_REAL = os.environ.get("ENCORE_REQUIRE_REAL_SERVICES") == "1"


def missing_service(reason: str) -> None:
    """Skip on a developer machine without the service; fail in CI, where it must be there."""
    if REQUIRE_REAL:
        pytest.fail(f"{reason} (ENCORE_REQUIRE_REAL_SERVICES=1)")
    pytest.skip(reason)


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server on loopback, started from Debian's binaries for this test run."""
    if url := os.environ.get("ENCORE_TEST_POSTGRES_URL"):
        yield url
        return
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not binaries:
        missing_service("PostgreSQL is not installed (apt-get install postgresql)")
    bin_dir = Path(binaries[-1])
    data_dir = Path(tempfile.mkdtemp(prefix="encore-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data_dir, "postgres", "postgres")
    port = free_port()
    run = lambda *cmd: subprocess.run(  # noqa: E731
        _as_postgres_user([str(c) for c in cmd]), check=True, capture_output=True
    )
    run(bin_dir / "initdb", "-D", data_dir / "db", "-U", "encore", "--auth=trust", "-E", "UTF8")
    options = f"-p {port} -k {data_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(
        bin_dir / "pg_ctl",
        "-D",
        data_dir / "db",
        "-o",
        options,
        "-l",
        data_dir / "log",
        "-w",
        "start",
    )
    try:
        run(bin_dir / "createdb", "-h", "127.0.0.1", "-p", port, "-U", "encore", "encore_test")
        yield f"postgresql://encore@127.0.0.1:{port}/encore_test"
    finally:
        run(bin_dir / "pg_ctl", "-D", data_dir / "db", "-m", "immediate", "-w", "stop")
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on the embedded SQLite store and on a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'encore.db'}"
    url = request.getfixturevalue("postgres_url")
    store = Store.open(url)
    _empty_all_tables(store)
    store.close()
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url)
    yield opened
    opened.close()


def _empty_all_tables(store: Store) -> None:
    from offers.schema import metadata

    with store.engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """Write a file under the test's folder and return its path."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return path

    return write


@pytest.fixture
def piped() -> Iterator[Callable[[str], str]]:
    """The path of a pipe holding some text, as the shell's ``<(cat orders.csv)`` gives one."""
    read_ends = []

    def pipe(content: str) -> str:
        read_end, write_end = os.pipe()
        os.write(write_end, content.encode())  # less than a pipe's buffer: no reader needed
        os.close(write_end)
        read_ends.append(read_end)
        return f"/dev/fd/{read_end}"

    yield pipe
    for read_end in read_ends:
        os.close(read_end)
