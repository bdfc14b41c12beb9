"""The `encore` command's own handling of what goes wrong in any subcommand."""

import sqlite3

from widget.cli import main

ORDERS = (
    "order_id,customer_id,ordered_at,sku,quantity,price\nO1,C1,2026-01-05T10:00:00Z,CAM,1,129\n"
)


def test_a_database_another_process_is_writing_to_is_one_line(tmp_path, capsys) -> None:
    """SQLite waits 5 s for the other writer, then the import says so in one line."""
    store, orders = tmp_path / "store.db", tmp_path / "orders.csv"
    orders.write_text(ORDERS)
    database = ["--database", f"sqlite:///{store}"]
    assert main(["import", "--orders", str(orders), *database]) == 0
    capsys.readouterr()
    other = sqlite3.connect(store, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        status = main(["import", "--orders", str(orders), *database])
    finally:
        other.execute("ROLLBACK")

    assert status == 2
    assert capsys.readouterr().err == (
        "encore import: error: the database could not be used: database is locked\n"
    )
