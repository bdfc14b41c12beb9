"""Ranker speed: one order in-process, `encore recommend` throughput, training time and memory.

    python benchmarks/bench_ranker.py [--work DIR] [--sizes 100000,1000000] [--latency-only]

1. In-process ranking of one order (stage 1, features, exported scorer, top 3) over
   its ~50 candidates, p50/p99, beside a plain NumPy dot product + sigmoid + top 3
   over the same candidate matrix, measured in the same run; the ratio is printed.
   ``score_offers`` (what the service calls per request) is timed on 5-20 offers
   drawn from the shop's offer catalog.
2. `encore recommend` queries per second on generated /v1/rank bodies (a subprocess,
   start-up included and excluded).
3. `encore train` wall time and peak resident memory on generated shops of about
   100k and 1M order lines (each run a subprocess; its rusage gives the peak).
Native thread pools are pinned to one thread, as the service does per worker.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from work_folder import work_folder  # noqa: E402

from offers.catalog import Offer, read_offers  # noqa: E402
from offers.files import read_orders, read_products  # noqa: E402
from offers.synthetic import generate_shop  # noqa: E402
from ranker.candidates import generate  # noqa: E402
from ranker.features import build_features  # noqa: E402
from ranker.model import RankContext, RelevanceModel  # noqa: E402
from ranker.train import train  # noqa: E402

LINES_PER_ORDER = 2.71  # of the generated shops
N_ORDERS_TIMED = 2_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="folder for generated shops and models")
    parser.add_argument(
        "--sizes", default="100000,1000000", help="order lines of the training runs"
    )
    parser.add_argument("--orders", type=int, default=20_000, help="orders of the latency shop")
    parser.add_argument(
        "--latency-only", action="store_true", help="skip `encore recommend` and training runs"
    )
    args = parser.parse_args()
    with work_folder(args.work, "encore-bench-") as work:
        return _run_all(args, work)


def _run_all(args: argparse.Namespace, work: Path) -> int:
    shop = work / f"shop-{args.orders}"
    if not (shop / "orders.csv").exists():
        generate_shop(shop, n_orders=args.orders, seed=0)
    lines = read_orders(shop / "orders.csv").lines
    with threadpool_limits(limits=1):
        model = train(lines, products=read_products(shop / "products.csv"))
        contexts = _contexts(lines, N_ORDERS_TIMED)
        bench_latency(model, contexts, read_offers(shop / "offers.json"))
    if args.latency_only:
        return 0
    bench_recommend(model, contexts, work)
    for n_lines in (int(size) for size in args.sizes.split(",")):
        bench_training(work, n_lines)
    return 0


def bench_latency(model: RelevanceModel, contexts: list[RankContext], offers: list[Offer]) -> None:
    """Full ranking of one order vs a NumPy dot product over the same candidate matrix."""
    rng = np.random.default_rng(0)
    full, scorer_only, dot, scoring, n_candidates = [], [], [], [], []
    for context in contexts:
        eligible = [offers[i] for i in rng.choice(len(offers), rng.integers(5, 21), replace=False)]
        start = time.perf_counter()
        model.score_offers(context, eligible)
        scoring.append(time.perf_counter() - start)
        queries = model.queries_of(context)
        X = build_features(
            model.index, queries, generate(model.index, queries, model.budget), model.horizon
        )
        weights = rng.normal(size=X.shape[1])
        n_candidates.append(len(X))
        start = time.perf_counter()
        model.recommend_skus(context, 3)
        middle = time.perf_counter()
        model.scorer.predict_proba(X)
        end = time.perf_counter()
        _dot_top3(X, weights)
        dot.append(time.perf_counter() - end)
        full.append(middle - start)
        scorer_only.append(end - middle)
    print(
        f"in-process ranking of one order ({np.median(n_candidates):.0f} candidates median, "
        f"{len(contexts)} orders, learner {model.card['learner']['name']}):"
    )
    for name, times in (
        ("score_offers", scoring),
        ("full ranking", full),
        ("scorer only", scorer_only),
        ("numpy dot+top3", dot),
    ):
        print(f"  {name:15} p50 {_us(times, 50):8.1f} us   p99 {_us(times, 99):8.1f} us")
    print(
        f"  ratio full / numpy dot: p50 {_us(full, 50) / _us(dot, 50):.1f}x, "
        f"p99 {_us(full, 99) / _us(dot, 99):.1f}x; "
        f"score_offers / numpy dot: p50 {_us(scoring, 50) / _us(dot, 50):.1f}x, "
        f"p99 {_us(scoring, 99) / _us(dot, 99):.1f}x"
    )


def _dot_top3(X: np.ndarray, weights: np.ndarray) -> np.ndarray:
    score = 1.0 / (1.0 + np.exp(-(X @ weights)))
    top = np.argpartition(-score, 2)[:3]
    return top[np.argsort(-score[top])]


def bench_recommend(model: RelevanceModel, contexts: list[RankContext], work: Path) -> None:
    """`encore recommend` over generated /v1/rank bodies, in a subprocess."""
    from ranker.artifact import save_model

    model_dir = save_model(model, work / "model-latency")
    bodies = work / "bodies.jsonl"
    repeated = contexts * 3  # enough lines to amortise the start-up
    bodies.write_text("".join(json.dumps(_body(i, c)) + "\n" for i, c in enumerate(repeated)))
    one = work / "one.jsonl"
    one.write_text(bodies.read_text().splitlines(keepends=True)[0])
    elapsed = {}
    for name, path in (("one", one), ("all", bodies)):
        command = [
            sys.executable,
            "-m",
            "widget.cli",
            "recommend",
            "--model",
            str(model_dir),
            "--input",
            str(path),
        ]
        start = time.perf_counter()
        subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
        elapsed[name] = time.perf_counter() - start
    n = len(repeated)
    print(
        f"encore recommend: {n} orders in {elapsed['all']:.2f} s = "
        f"{n / elapsed['all']:.0f} queries/s ({n / (elapsed['all'] - elapsed['one']):.0f} "
        f"queries/s after {elapsed['one']:.2f} s start-up)"
    )


def bench_training(work: Path, n_lines: int) -> None:
    """`encore train` on a generated shop of ~``n_lines`` order lines: wall time and peak RSS."""
    shop = work / f"shop-lines-{n_lines}"
    if not (shop / "orders.csv").exists():
        generate_shop(shop, n_orders=int(n_lines / LINES_PER_ORDER), seed=1)
    command = [
        sys.executable,
        "-m",
        "widget.cli",
        "train",
        "--orders",
        str(shop / "orders.csv"),
        "--products",
        str(shop / "products.csv"),
        "--out",
        str(work / f"model-{n_lines}"),
    ]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    actual = sum(1 for _ in (shop / "orders.csv").open()) - 1
    margin = next((line for line in output.splitlines() if line.startswith("model vs best")), "")
    print(
        f"encore train, {actual} order lines: {seconds:.1f} s, "
        f"peak memory {usage.ru_maxrss / 1024:.0f} MB, "
        f"exit {os.waitstatus_to_exitcode(status)}; {margin}"
    )


def _contexts(lines: pd.DataFrame, n: int) -> list[RankContext]:
    """The last ``n`` orders as contexts."""
    last = lines[lines["order_id"].isin(lines["order_id"].drop_duplicates().iloc[-n:])]
    return [
        RankContext(
            customer_id=group["customer_id"].iloc[0],
            basket=[
                (r.sku, r.category, float(r.price), int(r.quantity)) for r in group.itertuples()
            ],
            at=group["ordered_at"].iloc[0].to_pydatetime(),
        )
        for _, group in last.groupby("order_id", sort=False)
    ]


def _body(i: int, context: RankContext) -> dict:
    at = context.at or datetime.now()
    items = [{"sku": s, "category": c, "price": p, "quantity": q} for s, c, p, q in context.basket]
    return {
        "order": {"id": f"bench-{i}", "ordered_at": at.isoformat() + "Z", "items": items},
        "customer": {"id": context.customer_id},
    }


def _us(times: list[float], percentile: float) -> float:
    return float(np.percentile(times, percentile) * 1e6)


if __name__ == "__main__":
    sys.exit(main())
