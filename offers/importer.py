"""`encore import`: load a catalog or an order history into the store, idempotently."""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from offers.catalog import read_offers_file
from offers.errors import InputError
from offers.files import (
    OrderLines,
    describe_skipped,
    iter_orders,
    kept_and_skipped,
    merged,
    read_products,
)
from offers.store import Store, WriteCount


@dataclass
class FileReport:
    """What importing one file did."""

    path: Path
    n_read: int = 0
    written: WriteCount = field(default_factory=WriteCount)
    returns: WriteCount = field(default_factory=WriteCount)
    skipped: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        parts = [f"{self.n_read} rows read", f"{self.written.new} imported"]
        if self.written.updated:
            parts.append(f"{self.written.updated} updated")
        if self.written.unchanged:
            parts.append(f"{self.written.unchanged} already in the store")
        if self.returns.new or self.returns.unchanged:
            parts.append(f"{self.returns.new} returns imported")
        if self.returns.unchanged:
            parts.append(f"{self.returns.unchanged} returns already in the store")
        kept, skipped = kept_and_skipped(self.skipped)
        parts += [f"{n} {note}" for note, n in kept.items()]
        line = f"{self.path.name}: " + ", ".join(parts) + f", {skipped.total()} skipped"
        if skipped:
            line += f" ({describe_skipped(skipped)})"
        return line


_Write = Callable[[Store, str], FileReport]


@dataclass
class ReadFiles:
    """Files read and checked by :func:`read_files`, waiting to be written."""

    writes: list[_Write]

    def write(self, store: Store, shop_id: str) -> list[FileReport]:
        """Write them all to ``shop_id`` in one transaction: a failure while writing leaves
        the store as it was."""
        with store.transaction() as writing:
            return [write(writing, shop_id) for write in self.writes]


def read_files(
    *,
    products: Path | None = None,
    offers: Path | None = None,
    orders: Path | None = None,
    progress: bool = False,
    chunksize: int = 250_000,
) -> ReadFiles:
    """Read and check the files given (products, offers, orders, in that order), touching
    no store: a file that cannot be used raises before a store is opened, let alone made,
    and the store's write lock (the whole file on SQLite) is not held while they are read."""
    writes: list[_Write] = []
    if products is not None:
        writes.append(_products_write(products))
    if offers is not None:
        writes.append(_offers_write(offers))
    if orders is not None:
        writes.append(_orders_write(orders, progress, chunksize))
    return ReadFiles(writes)


def import_files(store: Store, shop_id: str, **files: Any) -> list[FileReport]:
    """Import the files given (the arguments of :func:`read_files`); what the store already
    holds is kept as it is. Every file is read and checked before anything is written."""
    return read_files(**files).write(store, shop_id)


def _orders_write(path: Path, progress: bool, chunksize: int) -> _Write:
    orders = merged(list(iter_orders(path, chunksize=chunksize, progress=progress)))
    if orders.lines.empty and orders.returns.empty and orders.n_read:
        _kept, skipped = kept_and_skipped(orders.skipped)
        raise InputError(f"{path.name}: no usable order lines ({describe_skipped(skipped)})")

    def write(store: Store, shop_id: str) -> FileReport:
        report = FileReport(Path(path), orders.n_read, skipped=orders.skipped)
        for start in range(0, max(len(orders.lines), len(orders.returns)), chunksize):
            rows = slice(start, start + chunksize)
            part = OrderLines(orders.lines.iloc[rows], orders.returns.iloc[rows])
            purchases, returns = store.save_order_lines(shop_id, part)
            report.written += purchases
            report.returns += returns
        return report

    return write


def _products_write(path: Path) -> _Write:
    products = read_products(path)
    if products.empty and products.attrs["n_read"]:
        skipped = describe_skipped(products.attrs["skipped"])
        raise InputError(f"{path.name}: no usable products ({skipped})")

    def write(store: Store, shop_id: str) -> FileReport:
        written = store.save_products(shop_id, products)
        n_read, skipped = products.attrs["n_read"], products.attrs["skipped"]
        return FileReport(Path(path), n_read, written, skipped=skipped)

    return write


def _offers_write(path: Path) -> _Write:
    """An offer the file gives no ``status`` keeps the status it has in the store: importing
    the file again does not resume an offer paused in the dashboard."""
    read = read_offers_file(path)

    def write(store: Store, shop_id: str) -> FileReport:
        stored = {offer.id: offer.status for offer in store.offers(shop_id)}
        offers = [
            msgspec.structs.replace(offer, status=stored[offer.id])
            if offer.id in read.ids_without_status and offer.id in stored
            else offer
            for offer in read.offers
        ]
        return FileReport(Path(path), len(offers), store.save_offers(shop_id, offers))

    return write
