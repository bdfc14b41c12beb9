"""Cross-sells learned from their own clicks: later clicks ranked with and without it.

    python benchmarks/cross_sell_feedback.py [--orders 20000] [--seed 7] [--work DIR]

Generates a shop (``encore generate``'s synthetic one: its log records each
impression's order, ``ctx_order_id``, and its known response model gives every
cross-sell an appeal of its own), holds out the last 20% of the log's period, and
fits on what came before: the relevance model on the orders, the feedback model on
the impressions (``fit_feedback`` with the catalog's cross-sells). Each later
cross-sell impression is then scored as the service scores it for its order:

- ``relevance``: the relevance model's probability alone (the score before the
  cross-sells' click weights);
- ``relevance + appeal``: that probability with the offer's click weight added to
  its log-odds (what ``score_offers`` now returns);
- ``appeal``: the offer's click weight alone, the baseline of a smoothed,
  position-debiased click-through rate per offer.

Prints the ROC AUC of each against the later clicks (0.5 is chance), pooled over
positions with the position's weight from the same click regression added to
each score, so that all three are compared at the position they were shown in.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from work_folder import work_folder  # noqa: E402

from offers.catalog import read_offers  # noqa: E402
from offers.files import read_impressions, read_orders  # noqa: E402
from offers.synthetic import generate_shop  # noqa: E402
from ranker.feedback import fit_click_model, fit_feedback  # noqa: E402
from ranker.model import RankContext  # noqa: E402
from ranker.train import train  # noqa: E402

TEST_FRACTION = 0.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, help="folder for the generated shop (kept)")
    args = parser.parse_args()
    with work_folder(args.work, "encore-cross-sell-") as work, threadpool_limits(limits=1):
        if not (work / "impressions.csv").is_file():
            generate_shop(work, n_orders=args.orders, seed=args.seed, progress=True)
        impressions = read_impressions(work / "impressions.csv")
        offers = {offer.id: offer for offer in read_offers(work / "offers.json")}
        lines = read_orders(work / "orders.csv").lines
        report(impressions, offers, lines)


def report(impressions: pd.DataFrame, offers: dict, lines: pd.DataFrame) -> None:
    shown = impressions["shown_at"]
    split = shown.min() + (shown.max() - shown.min()) * (1 - TEST_FRACTION)
    earlier, later = impressions[shown < split], impressions[shown >= split]
    cross_sells = {i for i, offer in offers.items() if offer.kind == "cross_sell"}
    model = train(lines[lines["ordered_at"] < split])
    appeal = fit_feedback(earlier, cross_sells).cross_sell_weights
    position_weight = _position_weights(earlier[earlier["offer_id"].isin(cross_sells)])
    later = later[later["offer_id"].isin(cross_sells)]
    baskets = {order_id: group for order_id, group in lines.groupby("order_id")}
    relevance, offer_appeal, at_position = [], [], []
    for row in later.itertuples():
        basket = baskets[row.ctx_order_id]
        context = RankContext(
            customer_id=row.customer_id,
            basket=list(basket[["sku", "category", "price", "quantity"]].itertuples(False, None)),
            at=row.shown_at.to_pydatetime(),
        )
        relevance.append(model.score_offers(context, [offers[row.offer_id]]).probability[0])
        offer_appeal.append(appeal.get(row.offer_id, 0.0))
        at_position.append(position_weight.get(row.position, 0.0))
    logit = np.log(np.array(relevance) / (1 - np.array(relevance)))
    offer_appeal, at_position = np.array(offer_appeal), np.array(at_position)
    clicked = later["clicked"].to_numpy()
    print(
        f"{len(later)} later cross-sell impressions ({clicked.sum()} clicks) of "
        f"{later['offer_id'].nunique()} offers, from {split:%Y-%m-%d}; "
        f"{len(appeal)} cross-sells with a click weight (sd {np.std(list(appeal.values())):.2f})"
    )
    for name, score in (
        ("relevance", logit),
        ("relevance + appeal", logit + offer_appeal),
        ("appeal", offer_appeal),
    ):
        print(f"  AUC {name:<20} {roc_auc_score(clicked, score + at_position):.4f}")


def _position_weights(impressions: pd.DataFrame) -> dict[int, float]:
    weights = fit_click_model(impressions).weights("position=")
    return {int(position): weight for position, weight in weights.items()}


if __name__ == "__main__":
    main()
