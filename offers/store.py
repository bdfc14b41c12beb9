"""The store: shops, catalog, order history and feedback behind one interface.

SQLite (``sqlite:///path``) is the embedded default and PostgreSQL
(``postgresql://...``) the production store; the same SQLAlchemy Core code
serves both. The schema is created and migrated (Alembic) on first use.
"""

import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import repeat
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pandas as pd
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, Table, create_engine, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    DBAPIError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from offers import schema
from offers.catalog import Offer
from offers.errors import InputError, first_line
from offers.files import ORDER_COLUMNS, OrderLines

_MIGRATIONS = Path(__file__).with_name("migrations")
_ROWS_PER_STATEMENT = 5_000
_MIGRATION_LOCK = 0x656E636F7265  # "encore": the advisory lock key of schema migrations
_BUSY_TIMEOUT_MS = 5_000  # how long a SQLite write waits for another process's write lock
# ... and how long a migration waits for it: another process's migration may rebuild a big
# table (4.9M order lines: 18 s here), and the schema must be up to date before anything else
_MIGRATION_WAIT_MS = 600_000


@dataclass(frozen=True)
class Shop:
    """A shop served by Encore, with its keys and settings."""

    id: str
    name: str
    publishable_key: str
    allowed_origins: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class WriteCount:
    """What a write did: rows that were new, changed, or already there as given."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: "WriteCount") -> "WriteCount":
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


def hash_secret(secret_key: str) -> str:
    """Secret keys are stored as SHA-256 digests, never in the clear."""
    return hashlib.sha256(secret_key.encode()).hexdigest()


STORE_AWAY = (OperationalError, InterfaceError, PoolTimeout)
"""What a store raises when it did not answer (down, restarting, out of connections), rather
than refused what it was sent: worth retrying, and no one's mistake."""


class StoreUnreachable(InputError):
    """A database server that did not answer (down, restarting, or a wrong address)."""


def utcnow() -> datetime:
    """Now, in UTC, without tzinfo (as every timestamp in the store)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Store:
    """One database of shops, offers, orders and feedback."""

    def __init__(self, engine: Engine, connection: Connection | None = None) -> None:
        self.engine = engine
        self._connection = connection  # the transaction of :meth:`transaction`

    @classmethod
    def open(cls, url: str, *, create: bool = True) -> "Store":
        """Connect to ``url`` and bring its schema up to date (creating it on first use).
        With ``create=False`` (a command that only reads), a SQLite file that does not exist,
        or a database without Encore's tables, is a one-line InputError, and nothing is made:
        no file, folder or table."""
        store = cls(_create_engine(url, create=create))
        try:
            if not create and store.schema_version() is None:
                raise InputError(
                    "the database holds no Encore store (`encore import` or `encore serve` "
                    "creates one)",
                    field="database",
                )
            store.migrate()
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator["Store"]:
        """This store, with the catalog and order writes made through it in one transaction:
        committed when the block ends, rolled back if it raises, so an import that fails
        halfway writes nothing."""
        with self.engine.begin() as connection:
            yield Store(self.engine, connection)

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        if self._connection is not None:
            yield self._connection
        else:
            with self.engine.begin() as connection:
                yield connection

    def database_files(self) -> tuple[Path, ...]:
        """The files a SQLite store lives in (its database, WAL, shared-memory and journal
        files), resolved; none for PostgreSQL."""
        if self.engine.dialect.name != "sqlite":
            return ()
        database = Path(self.engine.url.database).resolve()
        return tuple(
            database.with_name(database.name + suffix)
            for suffix in ("", "-wal", "-shm", "-journal")
        )

    def migrate(self) -> None:
        """Bring the schema up to date. Processes that start together on a new database
        (two hosts deployed at once, an import beside a starting service) take turns: the
        next one finds the schema made. A schema this Encore cannot make (no right to
        create tables, or migrated by a newer Encore) is a one-line InputError."""
        config = _alembic_config()
        scripts = ScriptDirectory.from_config(config)
        try:
            with self.engine.connect() as connection:  # the usual case: nothing to do, no lock
                if _schema_version(connection, scripts) == scripts.get_current_head():
                    return
            with self.engine.begin() as connection:
                _take_the_migration_lock(connection)
                _schema_version(connection, scripts)  # a newer Encore may have come first
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except DatabaseError as err:
            reason = first_line(_first_failure(err))
            raise InputError(
                f"cannot prepare the database's tables: {reason}", field="database"
            ) from None

    def schema_version(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    @staticmethod
    def latest_schema_version() -> str:
        return ScriptDirectory.from_config(_alembic_config()).get_current_head()

    # shops

    def save_shop(self, shop: Shop, secret_key: str) -> None:
        """Create the shop, or update its name, keys, origins and settings."""
        row = {
            "id": shop.id,
            "name": shop.name,
            "publishable_key": shop.publishable_key,
            "secret_key_hash": hash_secret(secret_key),
            "allowed_origins": list(shop.allowed_origins),
            "settings": shop.settings,
            "created_at": utcnow(),
        }
        with self.engine.begin() as connection:
            _upsert(connection, schema.shops, [row], ["id"], keep=["created_at"])

    def shop_by_secret_key(self, key: str) -> Shop | None:
        condition = schema.shops.c.secret_key_hash == hash_secret(key)
        with self.engine.connect() as connection:
            row = connection.execute(select(schema.shops).where(condition)).mappings().first()
        if row is None:
            return None
        return Shop(
            id=row["id"],
            name=row["name"],
            publishable_key=row["publishable_key"],
            allowed_origins=tuple(row["allowed_origins"]),
            settings=dict(row["settings"]),
        )

    # catalog

    def save_products(self, shop_id: str, products: pd.DataFrame) -> WriteCount:
        """Insert new products and update changed ones; identical rows are left alone."""
        known = ("sku", "title", "category", "price", "margin", "image_url", "url")
        rows = []
        for record in products.to_dict("records"):
            row = {column: _none_if_nan(record.get(column)) for column in known}
            row["attributes"] = {k: v for k, v in record.items() if k not in known and v != ""}
            row["shop_id"] = shop_id
            rows.append(row)
        return self._save_changed(schema.products, rows, ["shop_id", "sku"])

    def save_offers(self, shop_id: str, offers: Sequence[Offer]) -> WriteCount:
        """Insert new offers and update changed ones; identical offers are left alone."""
        now = utcnow()
        rows = [
            {"shop_id": shop_id, "id": offer.id, **_offer_columns(offer, now)} for offer in offers
        ]
        return self._save_changed(schema.offers, rows, ["shop_id", "id"], ignore=["updated_at"])

    def offers(self, shop_id: str, *, status: str | None = None) -> list[Offer]:
        """The shop's offers by id, character by character (as SQLite orders text; a
        PostgreSQL database's collation may not: ``B`` after ``b`` in en-US)."""
        table = schema.offers
        query = select(table.c.id, table.c.document).where(table.c.shop_id == shop_id)
        if status is not None:
            query = query.where(table.c.status == status)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [msgspec.convert(row.document, Offer) for row in sorted(rows, key=lambda r: r.id)]

    def product_links(self, shop_id: str, skus: Sequence[str]) -> dict[str, tuple[str, str]]:
        """``(url, image_url)`` of each of ``skus`` that products.csv gave (empty when not)."""
        table = schema.products
        query = select(table.c.sku, table.c.url, table.c.image_url).where(
            table.c.shop_id == shop_id, table.c.sku.in_(sorted(set(skus)))
        )
        with self.engine.connect() as connection:
            return {sku: (url, image) for sku, url, image in connection.execute(query)}

    def offer(self, shop_id: str, offer_id: str) -> Offer | None:
        table = schema.offers
        query = select(table.c.document).where(table.c.shop_id == shop_id, table.c.id == offer_id)
        with self.engine.connect() as connection:
            document = connection.execute(query).scalar_one_or_none()
        return None if document is None else msgspec.convert(document, Offer)

    def create_offer(self, shop_id: str, offer: Offer) -> bool:
        """Insert ``offer`` unless one with its id is stored; False if one is. Atomic: of two
        creations of one id at once (two workers), exactly one inserts."""
        row = {"shop_id": shop_id, "id": offer.id, **_offer_columns(offer, utcnow())}
        with self._begin() as connection:
            return insert_if_new(connection, schema.offers, row, ["shop_id", "id"])

    def change_offer(
        self, shop_id: str, offer_id: str, change: Callable[[Offer], Offer]
    ) -> Offer | None:
        """Read an offer, ``change`` it and write the result, in one transaction; None if
        there is no such offer. Two changes at once (two PATCHes, two workers) apply one
        after the other, so neither is lost. An exception from ``change`` changes nothing."""
        table = schema.offers
        this = (table.c.shop_id == shop_id, table.c.id == offer_id)
        with self.engine.begin() as connection:
            if not _lock_row(connection, table, *this):
                return None
            document = connection.execute(select(table.c.document).where(*this)).scalar_one()
            offer = change(msgspec.convert(document, Offer))
            connection.execute(table.update().where(*this).values(_offer_columns(offer, utcnow())))
        return offer

    def shop_settings(self, shop_id: str) -> dict[str, Any]:
        table = schema.shops
        with self.engine.connect() as connection:
            query = select(table.c.settings).where(table.c.id == shop_id)
            return dict(connection.execute(query).scalar_one())

    def change_shop_settings(
        self, shop_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> None:
        """Read the shop's settings, ``change`` them and write the result, in one transaction
        (as :meth:`change_offer`)."""
        table = schema.shops
        this = table.c.id == shop_id
        with self.engine.begin() as connection:
            _lock_row(connection, table, this)
            settings = connection.execute(select(table.c.settings).where(this)).scalar_one()
            connection.execute(table.update().where(this).values(settings=change(dict(settings))))

    def delete_offer(self, shop_id: str, offer_id: str) -> bool:
        table = schema.offers
        with self.engine.begin() as connection:
            result = connection.execute(
                table.delete().where(table.c.shop_id == shop_id, table.c.id == offer_id)
            )
        return result.rowcount > 0

    # order history

    def save_order_lines(
        self, shop_id: str, order_lines: OrderLines
    ) -> tuple[WriteCount, WriteCount]:
        """Add purchases and returns; lines already in the store are left as they are.

        Returns the counts for purchase lines and for returns.
        """
        lines, returns = order_lines.lines, order_lines.returns
        headers = lines.drop_duplicates("order_id")
        extra = [c for c in lines.columns if c not in ORDER_COLUMNS]
        with self._begin() as connection:
            dialect = connection.dialect.name
            order_columns = {
                "order_id": headers["order_id"].tolist(),
                "customer_id": headers["customer_id"].tolist(),
                "ordered_at": _timestamps(headers["ordered_at"], dialect),
                **{c: headers[c].tolist() for c in ("country", "currency", "device")},
            }
            line_columns = {
                **{c: lines[c].tolist() for c in ("order_id", "sku", "quantity")},
                "price": _nullable(lines["price"]),
                **{c: lines[c].tolist() for c in ("title", "category")},
                "attributes": _attributes(lines[extra]),
            }
            return_columns = {
                **{c: returns[c].tolist() for c in ("order_id", "sku", "customer_id")},
                "returned_at": _timestamps(returns["ordered_at"], dialect),
                "quantity": returns["quantity"].tolist(),
                "price": _nullable(returns["price"]),
            }
            _insert_new(connection, schema.orders, shop_id, order_columns)
            purchases = _insert_new(connection, schema.order_lines, shop_id, line_columns)
            returned = _insert_new(connection, schema.order_returns, shop_id, return_columns)
        return purchases, returned

    def some_skus(self, shop_id: str, n: int = 200) -> list[str]:
        """Up to ``n`` distinct skus of the shop's purchase lines (any ``n``: a sample)."""
        lines = schema.order_lines
        query = select(lines.c.sku).where(lines.c.shop_id == shop_id).distinct().limit(n)
        with self.engine.connect() as connection:
            return list(connection.execute(query).scalars())

    def order_lines(self, shop_id: str) -> pd.DataFrame:
        """Purchase lines with their order's customer and time, oldest first."""
        lines, orders = schema.order_lines, schema.orders
        query = (
            select(
                lines.c.order_id,
                orders.c.customer_id,
                orders.c.ordered_at,
                lines.c.sku,
                lines.c.quantity,
                lines.c.price,
                lines.c.title,
                lines.c.category,
            )
            .join(
                orders,
                (orders.c.shop_id == lines.c.shop_id) & (orders.c.order_id == lines.c.order_id),
            )
            .where(lines.c.shop_id == shop_id)
            .order_by(orders.c.ordered_at, lines.c.order_id)
        )
        with self.engine.connect() as connection:
            return pd.DataFrame(
                connection.execute(query).mappings().all(),
                columns=list(query.selected_columns.keys()),
            )

    def count(self, table: Table, shop_id: str) -> int:
        with self.engine.connect() as connection:
            return connection.execute(
                select(func.count()).select_from(table).where(table.c.shop_id == shop_id)
            ).scalar_one()

    def _save_changed(
        self, table: Table, rows: list[dict], keys: list[str], ignore: Iterable[str] = ()
    ) -> WriteCount:
        compared = [c.name for c in table.columns if c.name not in (*keys, *ignore)]
        count = WriteCount()
        with self._begin() as connection:
            existing = (
                {
                    tuple(row[k] for k in keys): row
                    for row in connection.execute(
                        select(table).where(table.c.shop_id == rows[0]["shop_id"])
                    ).mappings()
                }
                if rows
                else {}
            )
            changed = []
            for row in rows:
                before = existing.get(tuple(row[k] for k in keys))
                if before is None:
                    count.new += 1
                elif any(before[c] != row[c] for c in compared):
                    count.updated += 1
                else:
                    count.unchanged += 1
                    continue
                changed.append(row)
            for start in range(0, len(changed), _ROWS_PER_STATEMENT):
                _upsert(connection, table, changed[start : start + _ROWS_PER_STATEMENT], keys)
        return count


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def check_database_url(url: str) -> None:
    """Refuse, in one line, a URL that names no store Encore can open, without connecting
    or creating anything (`encore import` checks it before it reads its files)."""
    _parsed_url(url)


def _parsed_url(url: str) -> tuple[str, URL]:
    """``url`` with the driver Encore uses, and parsed; an unusable one is an InputError."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith(("sqlite:", "postgresql+psycopg:")):
        raise InputError(
            f"database URL must start with sqlite:/// or postgresql://, got `{url.split(':')[0]}:`",
            field="database",
        )
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # e.g. a port that is not a number
        raise InputError(  # not the URL itself, which may hold a password
            "database URL is not valid: expected sqlite:///PATH or "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE",
            field="database",
        ) from None
    is_sqlite = parsed.drivername == "sqlite"
    if is_sqlite and parsed.database in (None, "", ":memory:"):
        raise InputError(
            "an in-memory SQLite database is lost when the command ends, and each "
            "connection sees its own: give a file, sqlite:///PATH",
            field="database",
        )
    return url, parsed


def _create_engine(url: str, *, create: bool) -> Engine:
    url, parsed = _parsed_url(url)
    is_sqlite = parsed.drivername == "sqlite"
    if is_sqlite and not create and not Path(parsed.database).is_file():
        raise InputError(f"no such database: {parsed.database}", field="database")
    try:
        if is_sqlite:
            if create:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url)
            event.listen(engine, "connect", _tune_sqlite)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        with engine.connect():
            pass
    except (ArgumentError, NoSuchModuleError) as err:
        raise InputError(f"database URL is not valid: {err}", field="database") from None
    except DatabaseError as err:  # OperationalError (unreachable), or not a database file
        reason = f"cannot open the database: {first_line(err)}"
        if isinstance(err, OperationalError) and not is_sqlite:
            raise StoreUnreachable(reason, field="database") from None
        raise InputError(reason, field="database") from None
    return engine


def _take_the_migration_lock(connection: Connection) -> None:
    """Hold the database's migration lock until the transaction ends."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
    else:  # SQLite: a write lock now, not at the first write (DDL runs without one)
        connection.exec_driver_sql(f"PRAGMA busy_timeout={_MIGRATION_WAIT_MS}")
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")


def _schema_version(connection: Connection, scripts: ScriptDirectory) -> str | None:
    """The store's schema version (None when new), refusing one a newer Encore made."""
    current = MigrationContext.configure(connection).get_current_revision()
    known = {script.revision for script in scripts.walk_revisions()}
    if current is not None and current not in known:
        raise InputError(
            f"the database's tables are at schema version {current}, which this Encore "
            f"does not know (its newest is {scripts.get_current_head()}): a newer Encore "
            "migrated them; run that version, or restore a backup made before it",
            field="database",
        )
    return current


def _first_failure(err: DatabaseError) -> DatabaseError:
    """The database error ``err`` was raised while handling, if any: when copying rows into a
    rebuilt table fails on SQLite (a full disk), the transaction is already rolled back, new
    table and all, so Alembic's clean-up (dropping that table) fails too and hides why."""
    first, earlier = err, err.__context__
    while earlier is not None:
        if isinstance(earlier, DatabaseError):
            first = earlier
        earlier = earlier.__context__
    return first


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError as err:
        # A new database being switched to WAL by another process this moment: SQLite answers
        # at once, without waiting, and the file is in WAL when that process is done.
        if "locked" not in str(err):
            raise
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _lock_row(connection: Connection, table: Table, *where: Any) -> bool:
    """Lock the row ``where`` selects until the transaction ends; False if there is none.

    A write before the read takes the row's lock (SQLite, which ignores FOR UPDATE: the
    file's write lock), so a second change waits here and then reads what the first wrote.
    """
    return bool(connection.execute(table.update().where(*where).values(id=table.c.id)).rowcount)


def dialect_insert(connection: Connection, table: Table) -> Any:
    """An INSERT with ON CONFLICT support for the connection's database."""
    module = postgresql if connection.dialect.name == "postgresql" else sqlite
    return module.insert(table)


def insert_if_new(connection: Connection, table: Table, row: dict, keys: list[str]) -> bool:
    """Insert ``row`` unless a row with its ``keys`` is stored; whether it was inserted.
    Atomic: of two inserts of one key at once (two workers), exactly one is."""
    statement = dialect_insert(connection, table).on_conflict_do_nothing(index_elements=keys)
    # RETURNING: rowcount is not reported for this statement by every driver
    returning = statement.returning(*(table.c[key] for key in keys))
    return connection.execute(returning, row).first() is not None


def _offer_columns(offer: Offer, at: datetime) -> dict[str, Any]:
    """An offer's stored columns, but for its shop and id."""
    return {
        "kind": offer.kind,
        "status": offer.status,
        "document": msgspec.to_builtins(offer),
        "updated_at": at,
    }


def _upsert(
    connection: Connection,
    table: Table,
    rows: list[dict],
    keys: list[str],
    keep: Sequence[str] = (),
) -> None:
    if not rows:
        return
    statement = dialect_insert(connection, table)
    updates = {
        c.name: statement.excluded[c.name] for c in table.columns if c.name not in (*keys, *keep)
    }
    connection.execute(statement.on_conflict_do_update(index_elements=keys, set_=updates), rows)


def _insert_new(
    connection: Connection, table: Table, shop_id: str, columns: dict[str, list]
) -> WriteCount:
    """Bulk-insert rows whose key is not yet stored; the driver counts the rows this
    insert added (an import running at the same time adds the others, and says so).

    Large imports go straight to the driver's executemany: SQLAlchemy's per-row
    parameter processing costs more than the database's own work here.
    """
    names = ["shop_id", *columns]
    marker = "?" if connection.dialect.name == "sqlite" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) "
        f"VALUES ({', '.join([marker] * len(names))}) ON CONFLICT DO NOTHING"
    )
    n_rows = len(next(iter(columns.values())))
    cursor = connection.connection.cursor()
    dbapi_error = connection.dialect.loaded_dbapi.Error
    try:
        cursor.executemany(sql, zip(repeat(shop_id, n_rows), *columns.values(), strict=False))
        new = max(cursor.rowcount, 0)  # the sum over the rows (sqlite3, psycopg 3.1+)
    except dbapi_error as err:  # raised as SQLAlchemy raises its own statements' (no rows quoted)
        raise DBAPIError.instance(sql, None, err, dbapi_error, hide_parameters=True) from err
    finally:
        cursor.close()
    return WriteCount(new=new, unchanged=n_rows - new)


def _timestamps(values: pd.Series, dialect: str) -> list:
    """Timestamps as the driver takes them (SQLite: the text SQLAlchemy reads back)."""
    if dialect == "sqlite":
        return values.dt.strftime("%Y-%m-%d %H:%M:%S.%f").tolist()
    return list(values.dt.to_pydatetime())


def _nullable(values: pd.Series) -> list:
    return values.astype(object).where(values.notna(), None).tolist()


def _attributes(extra: pd.DataFrame) -> list[str]:
    """Extra columns of a line as a JSON object per row (blank values left out)."""
    if extra.columns.empty:
        return ["{}"] * len(extra)
    names = list(extra.columns)
    return [
        orjson.dumps({n: v for n, v in zip(names, row, strict=True) if v != ""}).decode()
        for row in extra.itertuples(index=False, name=None)
    ]


def _none_if_nan(value: Any) -> Any:
    return None if isinstance(value, float) and value != value else value
