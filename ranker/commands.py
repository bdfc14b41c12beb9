"""The `train`, `evaluate` and `recommend` subcommands."""

import argparse
import codecs
import json
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import orjson
from threadpoolctl import threadpool_limits

from offers.caps import OfferUsage
from offers.catalog import Offer, read_offers
from offers.errors import TOO_DEEP, InputError, binary_kind, opening, utf8_problem
from offers.files import (
    OrderLines,
    describe_skipped,
    kept_and_skipped,
    path_argument,
    read_impressions,
    read_orders,
    read_products,
)
from offers.identity import customer_key
from offers.rank_request import RankRequest, rank_decoder
from offers.targeting import OrderContext, eligible_offers
from offers.translations import language_of, translator
from ranker.artifact import ModelError, load_model, save_model
from ranker.baselines import BASELINES
from ranker.evaluate import METRICS, evaluate_model
from ranker.model import RankContext, RelevanceModel
from ranker.policy import MAX_OFFERS_LIMIT, SelectionPolicy
from ranker.reasons import wording
from ranker.stage_one import MAX_SCORED_OFFERS, worth_scoring
from ranker.train import train

MAX_K = 1_000  # more skus than anyone reads; evaluate allocates k per query


def register(subparsers: argparse._SubParsersAction) -> None:
    command = subparsers.add_parser(
        "train",
        help="train a relevance model on an order history",
        description="Train on orders (and optionally products, impressions, offers), evaluate on "
        "a time split beside the baselines, and write DIR/model.joblib and DIR/card.json.",
    )
    command.add_argument("--orders", required=True, type=Path, help="orders.csv")
    command.add_argument(
        "--products", type=Path, help="products.csv (titles, categories, prices, margins)"
    )
    command.add_argument(
        "--impressions", type=Path, help="impressions.csv (how shown offers were received)"
    )
    command.add_argument(
        "--offers", type=Path, help="offers.json or .yaml (kept for `encore recommend`)"
    )
    command.add_argument(
        "--out", required=True, type=path_argument, help="folder to write the artifact into"
    )
    command.set_defaults(run=run_train)

    command = subparsers.add_parser(
        "evaluate",
        help="score a model on an order history beside the baselines",
        description="Split the orders at one date (last 20% of the period = test) and report "
        "hit rate, recall and NDCG at k of the model and of the baselines on the same queries.",
    )
    command.add_argument("--model", required=True, type=Path, help="a trained model's folder")
    command.add_argument("--orders", required=True, type=Path, help="orders.csv")
    command.add_argument("--k", type=int, default=3, help="cut-off (default 3)")
    command.add_argument("--json", action="store_true", help="print the metrics as JSON")
    command.set_defaults(run=run_evaluate)

    command = subparsers.add_parser(
        "recommend",
        help="rank a batch of orders (JSON lines of /v1/rank bodies)",
        description="For each input line (a /v1/rank body) print one JSON line: the order id, "
        "the top-k cross-sell skus (never one already in the order) and the offers chosen.",
    )
    command.add_argument("--model", required=True, type=Path, help="a trained model's folder")
    command.add_argument(
        "--input", required=True, type=Path, help="FILE.jsonl, one /v1/rank body a line"
    )
    command.add_argument("--k", type=int, default=3, help="skus per order (default 3)")
    command.set_defaults(run=run_recommend)


def run_train(args: argparse.Namespace) -> int:
    if args.out.exists() and not args.out.is_dir():
        raise InputError(f"--out {args.out}: exists and is not a folder")
    created = not args.out.exists()
    args.out.mkdir(parents=True, exist_ok=True)  # now, not after training: a bad path fails fast
    try:
        return _train_into(args)
    except BaseException:
        if created and not any(args.out.iterdir()):  # a failed run leaves no empty folder
            args.out.rmdir()
        raise


def _train_into(args: argparse.Namespace) -> int:
    orders = read_orders(args.orders, progress=True)
    _require_purchases(args.orders, orders)
    products = read_products(args.products) if args.products else None
    impressions = read_impressions(args.impressions) if args.impressions else None
    model = train(
        orders.lines,
        products=products,
        impressions=impressions,
        offers=read_offers(args.offers) if args.offers else (),
        show_progress=True,
    )
    save_model(model, args.out)
    card = model.card
    data = card["data"]
    print(
        f"read {orders.n_read} rows: {data['rows']} order lines, {data['orders']} orders, "
        f"{data['customers']} customers, {data['skus']} skus, {len(orders.returns)} returns"
        + _kept_and_skipped_text(orders.skipped)
    )
    for path, table in ((args.products, products), (args.impressions, impressions)):
        if table is not None:
            print(
                f"{path.name}: {table.attrs['n_read']} rows read, {len(table)} used"
                + _kept_and_skipped_text(table.attrs["skipped"])
            )
    print(f"learner: {card['learner']['name']}; test split at {card['metrics']['split_at']}")
    print(format_metrics(card["metrics"]))
    if card.get("feedback"):
        print(_feedback_text(card["feedback"]))
    if model.feedback is not None:
        print(_cross_sells_text(model.feedback.cross_sell_weights, bool(args.offers)))
    print(f"wrote {args.out} (version {card['version']})")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    _check_k(args.k)
    model = _load(args.model)
    orders = read_orders(args.orders, progress=True)
    _require_purchases(args.orders, orders)
    metrics = evaluate_model(model, orders.lines, k=args.k)
    if not metrics["n_queries"]:
        raise InputError(f"{args.orders.name}: {_nothing_to_score(metrics['split_at'])}")
    kept, skipped = kept_and_skipped(orders.skipped)
    read = {
        "rows": orders.n_read,
        "order_lines": len(orders.lines),
        "returns": len(orders.returns),
        "kept": dict(kept),
        "skipped": dict(skipped.most_common()),
    }
    if args.json:
        print(json.dumps({**metrics, "read": read}, indent=2))
    else:
        print(
            f"read {read['rows']} rows: {read['order_lines']} order lines, "
            f"{read['returns']} returns" + _kept_and_skipped_text(orders.skipped)
        )
        print(format_metrics(metrics))
    return 0


def _kept_and_skipped_text(counts: Counter) -> str:
    """``, 2 merged with another row of its line (skipped: no sku: 1)``, for a summary."""
    kept, skipped = kept_and_skipped(counts)
    notes = "".join(f", {n} {note}" for note, n in kept.items())
    return f"{notes} (skipped: {describe_skipped(skipped) or 'none'})"


def _require_purchases(path: Path, orders: OrderLines) -> None:
    """Refuse an orders file with no purchase line, saying what its rows were instead."""
    if not orders.lines.empty:
        return
    _kept, found = kept_and_skipped(orders.skipped)
    if len(orders.returns):
        found["returns"] = len(orders.returns)
    detail = f" ({describe_skipped(found)})" if found else ""
    raise InputError(f"{path.name}: no usable order lines{detail}")


def run_recommend(args: argparse.Namespace) -> int:
    _check_k(args.k)
    model = _load(args.model)
    policies = {n: SelectionPolicy(max_offers=n) for n in range(1, MAX_OFFERS_LIMIT + 1)}
    out = sys.stdout.buffer
    with threadpool_limits(limits=1):
        for number, line in _lines(args.input):
            try:
                body = rank_decoder.decode(line)
            except (msgspec.DecodeError, UnicodeDecodeError) as err:
                problem = utf8_problem(line) or str(err)
                raise InputError(f"{args.input.name}: line {number}: {problem}") from None
            except RecursionError:
                raise InputError(f"{args.input.name}: line {number}: {TOO_DEEP}") from None
            placed = body.order.placed_at
            if body.order.ordered_at not in (None, "") and placed is None:
                raise InputError(  # the service ranks such an order as of now; a replay cannot
                    f"{args.input.name}: line {number}: `order.ordered_at`: expected a date-time "
                    f"such as 2026-10-31T12:00:00Z, got {repr(body.order.ordered_at)[:80]}"
                )
            out.write(orjson.dumps(_recommend(model, body, placed, args.k, policies)) + b"\n")
    out.flush()
    return 0


def format_metrics(metrics: dict) -> str:
    """The model's and the baselines' metrics as an aligned table, with the margin over the best."""
    k = metrics["k"]
    if not metrics["n_queries"]:
        return f"next-order metrics: none; {_nothing_to_score(metrics['split_at'])}"
    header = f"{'':15}" + "".join(f"{name.replace('_at_k', f'@{k}'):>14}" for name in METRICS)
    rows = [("model", metrics), *((name, metrics[name]) for name in BASELINES)]
    lines = [f"next-order metrics on {metrics['n_queries']} customers", header]
    lines += [f"{name:15}" + "".join(f"{row[m]:>14.4f}" for m in METRICS) for name, row in rows]
    best = max(BASELINES, key=lambda name: metrics[name]["hit_rate_at_k"])
    top = metrics[best]["hit_rate_at_k"]
    if top > 0:
        margin = metrics["hit_rate_at_k"] / top - 1
        lines.append(f"model vs best baseline ({best}): {margin:+.1%} hit rate@{k}")
    return "\n".join(lines)


def _feedback_text(feedback: dict) -> str:
    """The click model's held-out figures against its baselines, in two lines."""
    names = ("model", "overall_ctr", "offer_position_ctr")
    loss = ", ".join(f"{name} {feedback['log_loss'][name]:.4f}" for name in names)
    text = (
        f"click model on the {feedback['test_impressions']} impressions from "
        f"{feedback['split_at']} ({feedback['test_clicks']} clicks)\nlog loss: {loss}"
    )
    if feedback["auc"]:
        text += "; AUC: " + ", ".join(f"{name} {feedback['auc'][name]:.4f}" for name in names)
    return text


def _cross_sells_text(weights: dict[str, float], offers_given: bool) -> str:
    if not offers_given:
        return "cross-sells: not moved by their own clicks (give --offers to say which they are)"
    return f"cross-sells moved by their own clicks: {len(weights)}"


def _nothing_to_score(split_at: str) -> str:
    return (
        f"nothing to score: no customer who ordered before the split ({split_at}) bought "
        "a product after it that their last order before it did not hold"
    )


def _recommend(
    model: RelevanceModel, body: RankRequest, placed: datetime | None, k: int, policies: dict
) -> dict:
    context = RankContext.of_request(body, body.customer.id, placed)
    return {
        "order_id": customer_key(body.order.id),  # an order numbered by email: its digest
        "skus": model.recommend_skus(context, k),
        "offers": (
            _offers(model, body, context, policies, language_of(body.locale))
            if model.offers
            else []
        ),
    }


def _offers(
    model: RelevanceModel,
    body: RankRequest,
    context: RankContext,
    policies: dict,
    language: str,
) -> list[dict]:
    order = OrderContext.of_request(
        body, shop_id="", customer_id=context.customer_id, at=context.at or datetime.now(UTC)
    )
    offers = model.offers
    if len(offers) > MAX_SCORED_OFFERS:
        likely = model.likely_skus(context)
        offers = [offer for offer in offers if worth_scoring(offer, likely)]
    eligible: list[Offer] = eligible_offers(offers, order, OfferUsage())[0]
    if not eligible:
        return []
    scores = model.score_offers(context, eligible)
    policy = policies[min(max(body.limit or 3, 1), MAX_OFFERS_LIMIT)]
    translate = translator(language)
    return [
        {
            "id": eligible[s.index].id,
            "kind": eligible[s.index].kind,
            "title": eligible[s.index].title,
            "score": round(s.score, 6),
            "probability": round(s.probability, 6),
            "reason": wording(s.reason, translate),
        }
        for s in policy.select(eligible, scores, basket_skus=order.skus)
    ]


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with opening(path.name):
        handle = path.open("rb")
    with handle:
        start = handle.peek(8)[:8]
        kind = binary_kind(start)
        if kind:
            raise InputError(f"{path.name}: {kind}, not JSON lines (one /v1/rank body a line)")
        if start.startswith(codecs.BOM_UTF8):  # as Windows tools write UTF-8
            handle.read(len(codecs.BOM_UTF8))
        empty = True
        for number, line in enumerate(handle, start=1):
            if line.strip():
                empty = False
                yield number, line
    if empty:
        raise InputError(f"{path.name}: no orders to rank (the file is empty)")


def _load(directory: Path) -> RelevanceModel:
    try:
        return load_model(directory)
    except ModelError as err:
        raise InputError(str(err)) from None


def _check_k(k: int) -> None:
    if not 1 <= k <= MAX_K:  # evaluate holds k skus for every query
        raise InputError(f"--k must be between 1 and {MAX_K}, got {k}")
