"""The `generate`, `import` and `export` subcommands."""

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from offers.dates import midnight
from offers.errors import InputError
from offers.export import export_impressions
from offers.files import check_regular_file, path_argument
from offers.importer import read_files
from offers.store import Store, check_database_url
from offers.synthetic import generate_shop
from widget.settings import Settings, load_settings

MAX_GENERATED_ORDERS = 2_000_000  # ~5.4M order lines; far more would not fit in memory


def register(subparsers: argparse._SubParsersAction) -> None:
    generate = subparsers.add_parser(
        "generate",
        help="write a synthetic shop (products, orders, offers, impressions)",
        description="Write a realistic synthetic shop: products.csv, orders.csv, offers.json, "
        "impressions.csv. The same seed gives byte-identical files.",
    )
    generate.add_argument("--out", required=True, type=path_argument, help="folder to write into")
    generate.add_argument(
        "--orders", type=int, default=20_000, help="number of orders (default 20000)"
    )
    generate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    generate.set_defaults(run=run_generate)

    load = subparsers.add_parser(
        "import",
        help="load a catalog or an order history into the store",
        description="Load files into the store. Importing a file twice changes nothing.",
    )
    load.add_argument("--offers", type=Path, help="offers.json or offers.yaml")
    load.add_argument("--orders", type=Path, help="orders.csv")
    load.add_argument("--products", type=Path, help="products.csv")
    _store_arguments(load)
    load.set_defaults(run=run_import)

    export = subparsers.add_parser(
        "export",
        help="write the service's feedback log as impressions.csv (for encore train)",
        description="Write every impression the service logged, with whether it was clicked "
        "and converted and its context, as impressions.csv for `encore train --impressions`.",
    )
    export.add_argument(
        "--impressions",
        required=True,
        type=path_argument,
        help="file to write (impressions.csv, or .csv.gz to gzip it)",
    )
    export.add_argument(
        "--since", type=_day, help="first day (UTC, YYYY-MM-DD) of impressions (default: all)"
    )
    export.add_argument(
        "--until", type=_day, help="last day (UTC, YYYY-MM-DD), included (default: up to now)"
    )
    _store_arguments(export)
    export.set_defaults(run=run_export)


def run_generate(args: argparse.Namespace) -> int:
    if not 1 <= args.orders <= MAX_GENERATED_ORDERS:
        raise InputError(
            f"--orders must be between 1 and {MAX_GENERATED_ORDERS:,}, got {args.orders}"
        )
    if args.seed < 0:
        raise InputError(f"--seed must be at least 0, got {args.seed}")
    if args.out.exists() and not args.out.is_dir():
        raise InputError(f"--out {args.out}: exists and is not a folder")
    summary = generate_shop(args.out, n_orders=args.orders, seed=args.seed, progress=True)
    print(
        f"wrote {args.out}: {summary.n_products} products, {summary.n_customers} customers, "
        f"{summary.n_orders} orders ({summary.n_order_lines} lines), {summary.n_offers} offers, "
        f"{summary.n_impressions} impressions"
    )
    return 0


def run_import(args: argparse.Namespace) -> int:
    if not (args.offers or args.orders or args.products):
        raise InputError("nothing to import: give --offers, --orders and/or --products")
    # Here, before the database URL, each file named as given, the offers file too; the CSV
    # readers check again for their other callers (encore train, evaluate, recommend).
    for given in (args.offers, args.orders, args.products):
        if given is not None:
            check_regular_file(given, str(given))
    check_database_url(_settings_of(args).database_url)  # a typo stops it before the reading
    # Read and checked before the store is opened: a file that cannot be used makes no
    # database, folder or table.
    files = read_files(
        products=args.products, offers=args.offers, orders=args.orders, progress=True
    )
    with _store_of(args) as (store, shop_id):
        reports = files.write(store, shop_id)
    for report in reports:
        print(report.summary())
    return 0


def run_export(args: argparse.Namespace) -> int:
    path = args.impressions
    if path.is_dir():
        raise InputError(f"--impressions {path}: is a folder, not a file")
    if not path.parent.is_dir():
        raise InputError(f"--impressions {path}: no such folder {path.parent}")
    if args.since and args.until and args.until < args.since:
        raise InputError(f"--until {args.until} is before --since {args.since}")
    with _store_of(args, create=False) as (store, shop_id):
        if path.resolve() in store.database_files():
            raise InputError(
                f"--impressions {path}: is a file of the store itself, which the export "
                "would replace: write it elsewhere"
            )
        exported = export_impressions(
            store,
            shop_id,
            path,
            since=None if args.since is None else midnight(args.since),
            until=None if args.until is None else midnight(args.until, days_later=1),
            show_progress=True,
        )
    print(exported.summary())
    return 0


def _store_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database", help="store URL (default: ENCORE_DATABASE_URL or sqlite:///encore.db)"
    )
    parser.add_argument("--shop", help="shop id (default: ENCORE_SHOP_ID or `default`)")


@contextmanager
def _store_of(args: argparse.Namespace, *, create: bool = True) -> Iterator[tuple[Store, str]]:
    """The store and shop id that ``--database`` and ``--shop`` (or the environment) name;
    ``create=False`` for a command that only reads (see :meth:`Store.open`)."""
    settings = _settings_of(args)
    store = Store.open(settings.database_url, create=create)
    try:
        yield store, settings.shop_id
    finally:
        store.close()


def _settings_of(args: argparse.Namespace) -> Settings:
    """The settings, with ``--database`` and ``--shop`` over the environment's, checked."""
    return load_settings().with_overrides(database_url=args.database, shop_id=args.shop)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None
