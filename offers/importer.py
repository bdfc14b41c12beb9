"""`encore import`: load a catalog or an order history into the store, idempotently."""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from offers.catalog import read_offers_file
from offers.files import describe_skipped, iter_orders, kept_and_skipped, read_products
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


def import_files(
    store: Store,
    shop_id: str,
    *,
    products: Path | None = None,
    offers: Path | None = None,
    orders: Path | None = None,
    progress: bool = False,
    chunksize: int = 250_000,
) -> list[FileReport]:
    """Import the files given (products, offers, orders, in that order); what the store
    already holds is kept as it is.

    Every file is read and checked before anything is written, then all of it is written
    in one transaction: a file that cannot be read writes nothing, a failure while writing
    leaves the store as it was, and the store's write lock (the whole file on SQLite) is
    held only while writing, not while the files are read.
    """
    writes: list[Callable[[Store], FileReport]] = []
    if products is not None:
        writes.append(_products_write(shop_id, products))
    if offers is not None:
        writes.append(_offers_write(shop_id, offers))
    if orders is not None:
        writes.append(_orders_write(shop_id, orders, progress, chunksize))
    with store.transaction() as writing:
        return [write(writing) for write in writes]


def _orders_write(
    shop_id: str, path: Path, progress: bool, chunksize: int
) -> Callable[[Store], FileReport]:
    chunks = list(iter_orders(path, chunksize=chunksize, progress=progress))

    def write(store: Store) -> FileReport:
        report = FileReport(Path(path))
        for chunk in chunks:
            purchases, returns = store.save_order_lines(shop_id, chunk)
            report.n_read += chunk.n_read
            report.written += purchases
            report.returns += returns
            report.skipped += chunk.skipped
        return report

    return write


def _products_write(shop_id: str, path: Path) -> Callable[[Store], FileReport]:
    products = read_products(path)

    def write(store: Store) -> FileReport:
        written = store.save_products(shop_id, products)
        n_read, skipped = products.attrs["n_read"], products.attrs["skipped"]
        return FileReport(Path(path), n_read, written, skipped=skipped)

    return write


def _offers_write(shop_id: str, path: Path) -> Callable[[Store], FileReport]:
    """An offer the file gives no ``status`` keeps the status it has in the store: importing
    the file again does not resume an offer paused in the dashboard."""
    read = read_offers_file(path)

    def write(store: Store) -> FileReport:
        stored = {offer.id: offer.status for offer in store.offers(shop_id)}
        offers = [
            msgspec.structs.replace(offer, status=stored[offer.id])
            if offer.id in read.ids_without_status and offer.id in stored
            else offer
            for offer in read.offers
        ]
        return FileReport(Path(path), len(offers), store.save_offers(shop_id, offers))

    return write
