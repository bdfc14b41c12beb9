"""`encore import`: load a catalog or an order history into the store, idempotently."""

from collections import Counter
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


def import_orders(
    store: Store,
    shop_id: str,
    path: Path,
    *,
    progress: bool = False,
    chunksize: int = 250_000,
) -> FileReport:
    """Stream an orders file into the store in chunks; lines already stored are kept as they are."""
    report = FileReport(Path(path))
    for chunk in iter_orders(path, chunksize=chunksize, progress=progress):
        purchases, returns = store.save_order_lines(shop_id, chunk)
        report.n_read += chunk.n_read
        report.written += purchases
        report.returns += returns
        report.skipped += chunk.skipped
    return report


def import_products(store: Store, shop_id: str, path: Path) -> FileReport:
    products = read_products(path)
    written = store.save_products(shop_id, products)
    return FileReport(
        Path(path), products.attrs["n_read"], written, skipped=products.attrs["skipped"]
    )


def import_offers(store: Store, shop_id: str, path: Path) -> FileReport:
    """Save the file's offers. One the file gives no ``status`` keeps the status it has in
    the store: importing the file again does not resume an offer paused in the dashboard."""
    read = read_offers_file(path)
    stored = {offer.id: offer.status for offer in store.offers(shop_id)}
    offers = [
        msgspec.structs.replace(offer, status=stored[offer.id])
        if offer.id in read.ids_without_status and offer.id in stored
        else offer
        for offer in read.offers
    ]
    return FileReport(Path(path), len(offers), store.save_offers(shop_id, offers))
