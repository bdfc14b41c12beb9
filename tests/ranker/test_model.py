"""The request-time model: recommendations and offer scores for one order."""

import dataclasses
from collections.abc import Callable
from datetime import datetime

import msgspec
import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from offers.catalog import Offer
from ranker.candidates import generate
from ranker.fallback import TOP_PROBABILITY, popularity_model
from ranker.features import build_features
from ranker.model import PRIOR_PROBABILITY, RankContext, RelevanceModel, rank_queries
from ranker.reasons import MESSAGES, wording
from ranker.scorer import LEARNERS, Scorer


def _returning_context(model: RelevanceModel, order_lines: pd.DataFrame) -> RankContext:
    """The last order of the customer with the most orders, replayed as a new order."""
    busiest = order_lines.groupby("customer_id")["order_id"].nunique().idxmax()
    last = order_lines[order_lines["customer_id"] == busiest].query(
        "ordered_at == ordered_at.max()"
    )
    return RankContext(
        customer_id=busiest,
        basket=[(r.sku, r.category, r.price, r.quantity) for r in last.itertuples()],
        at=datetime(2026, 11, 15),
    )


def test_likely_skus_hold_the_best_recommendations_and_never_the_basket(
    trained_model: RelevanceModel, order_lines: pd.DataFrame
) -> None:
    context = _returning_context(trained_model, order_lines)
    likely = trained_model.likely_skus(context)

    assert set(trained_model.recommend_skus(context, 3)) <= likely
    assert not likely & {sku for sku, _, _, _ in context.basket}


def test_recommendations_never_repeat_the_basket(
    trained_model: RelevanceModel, order_lines: pd.DataFrame
) -> None:
    context = _returning_context(trained_model, order_lines)
    skus = trained_model.recommend_skus(context, 5)
    basket = {sku for sku, _, _, _ in context.basket}
    assert len(skus) == 5
    assert len(set(skus)) == 5
    assert not basket & set(skus)


def test_a_large_k_gets_k_skus_while_the_shop_has_them(
    trained_model: RelevanceModel, order_lines: pd.DataFrame
) -> None:
    context = _returning_context(trained_model, order_lines)
    k = order_lines["sku"].nunique() - len(context.basket)  # over 200, which were the most
    skus = trained_model.recommend_skus(context, k)
    assert len(set(skus)) == k
    assert not {sku for sku, _, _, _ in context.basket} & set(skus)


def test_cold_start_gets_popular_skus(trained_model: RelevanceModel) -> None:
    context = RankContext(customer_id="never-seen", basket=[("NOT-A-SKU", "Nowhere", 5.0, 1)])
    skus = trained_model.recommend_skus(context, 3)
    popular = [trained_model.index.skus[code] for code in trained_model.index.popular[:20]]
    assert len(skus) == 3
    assert set(skus) <= set(popular)


def test_an_empty_basket_still_gets_recommendations(trained_model: RelevanceModel) -> None:
    assert len(trained_model.recommend_skus(RankContext(customer_id=None, basket=[]), 3)) == 3


def test_an_order_scores_the_same_whatever_its_lines_say_of_skus_the_model_knows(
    trained_model: RelevanceModel, order_lines: pd.DataFrame
) -> None:
    """Training reads a sku once per order, with its own category and price: a request's
    discount, a category in another case or a line sent twice must not move the scores."""
    context = _returning_context(trained_model, order_lines)
    sent = [(sku, category.lower(), price * 0.8, 1) for sku, category, price, _ in context.basket]
    as_sent = msgspec.structs.replace(context, basket=[*sent, sent[0]])
    offers = [offer for offer in trained_model.offers if offer.kind == "cross_sell"]

    expected = trained_model.score_offers(context, offers).probability
    assert trained_model.score_offers(as_sent, offers).probability.tolist() == expected.tolist()
    assert trained_model.recommend_skus(as_sent, 5) == trained_model.recommend_skus(context, 5)


def test_offer_scores_are_calibrated_probabilities_with_reasons(
    trained_model: RelevanceModel, order_lines: pd.DataFrame
) -> None:
    context = _returning_context(trained_model, order_lines)
    offers = trained_model.offers
    scores = trained_model.score_offers(context, offers)
    assert scores.probability.shape == (len(offers),)
    assert scores.value.shape == (len(offers),)
    assert len(scores.reasons) == len(offers)
    assert np.all((scores.probability >= 0) & (scores.probability <= 1))
    assert all(wording(r) and "\n" not in wording(r) for r in scores.reasons)
    partner = [i for i, o in enumerate(offers) if o.kind == "partner"]
    assert scores.value[partner].tolist() == [offers[i].value for i in partner]


def test_restock_reason_names_a_due_sku(
    trained_model: RelevanceModel, order_lines: pd.DataFrame
) -> None:
    context = _returning_context(trained_model, order_lines)
    queries = trained_model.queries_of(context)
    from ranker.candidates import generate

    candidates = generate(trained_model.index, queries, trained_model.budget)
    reasons = trained_model._reasons(candidates, float(queries.time[0]))
    assert {message for message, _ in reasons} <= set(MESSAGES)
    assert any(wording(r).startswith("Time to restock ") and r[1] for r in reasons)


def _with_cross_sell_weights(model: RelevanceModel, weights: dict) -> RelevanceModel:
    feedback = dataclasses.replace(model.feedback, cross_sell_weights=weights)
    return RelevanceModel(
        model.index,
        model.scorer,
        horizon=model.horizon,
        card=model.card,
        feedback=feedback,
        estimator=model.estimator,  # requests never read it
    )


def test_a_cross_sell_s_own_clicks_move_its_probability_for_the_same_order(
    trained_model: RelevanceModel, order_lines: pd.DataFrame
) -> None:
    cross_sells = [o.id for o in trained_model.offers if o.kind == "cross_sell"]
    assert trained_model.feedback.cross_sell_weights  # learned from the shop's log
    assert set(trained_model.feedback.cross_sell_weights) <= set(cross_sells)
    context = _returning_context(trained_model, order_lines)
    offers = trained_model.offers
    before = _with_cross_sell_weights(trained_model, {}).score_offers(context, offers)
    scored = [
        i
        for i, o in enumerate(offers)
        if o.kind == "cross_sell"
        and 0 < before.probability[i] < 1
        and before.probability[i] != trained_model.scorer.floor
    ]
    liked, ignored = offers[scored[0]].id, offers[scored[1]].id

    after = _with_cross_sell_weights(trained_model, {liked: 1.0, ignored: -1.0}).score_offers(
        context, offers
    )

    moved = {scored[0]: 1.0, scored[1]: -1.0}
    for i, shift in moved.items():  # the odds times e, or over e
        assert after.probability[i] == pytest.approx(expit(logit(before.probability[i]) + shift))
    unmoved = [i for i in range(len(offers)) if i not in moved]
    assert after.probability[unmoved].tolist() == before.probability[unmoved].tolist()
    assert after.reasons == before.reasons


def test_a_cross_sell_of_an_unknown_sku_gets_the_lowest_probability(
    trained_model: RelevanceModel,
) -> None:
    offer = Offer(id="x", kind="cross_sell", title="X", sku="NOT-A-SKU", value=3.0)
    scores = trained_model.score_offers(RankContext(customer_id=None, basket=[]), [offer])
    assert scores.probability.tolist() == [trained_model.scorer.floor]
    assert scores.value.tolist() == [3.0]
    assert [wording(r) for r in scores.reasons] == ["Picked for your order"]


def test_popularity_fallback_from_order_lines(make_lines) -> None:
    lines = make_lines(
        [
            ("o1", "c1", 0, "A", "Cameras"),
            ("o2", "c2", 0, "A", "Cameras"),
            ("o2", "c2", 0, "B", "Bags"),
            ("o3", "c3", 1, "C", "Cameras"),
        ]
    )
    model = popularity_model(lines)
    context = RankContext(customer_id=None, basket=[("C", "Cameras", 10.0, 1)])
    offers = [
        Offer(id="a", kind="cross_sell", title="A", sku="A"),
        Offer(id="b", kind="cross_sell", title="B", sku="B"),
        Offer(id="p", kind="partner", title="P", advertiser="ad", value=2.0),
    ]
    scores = model.score_offers(context, offers)
    assert model.version == "popularity-fallback"
    assert model.recommend_skus(context, 2) == ["A", "B"]
    assert model.likely_skus(context) == {"A", "B"}  # never the basket's C
    assert scores.probability.tolist() == [TOP_PROBABILITY, TOP_PROBABILITY / 2, PRIOR_PROBABILITY]
    assert [wording(r) for r in scores.reasons] == [
        "Popular in Cameras",
        "Popular in Bags",
        "Popular right now",
    ]


@pytest.mark.parametrize(
    "history",
    [
        pytest.param({}, id="counts"),
        pytest.param(pd.DataFrame(columns=["order_id", "sku"]), id="no-orders"),
    ],
)
def test_popularity_fallback_for_a_new_shop_gives_every_offer_the_prior(history: object) -> None:
    model = popularity_model(history)
    offer = Offer(id="a", kind="cross_sell", title="A", sku="A")
    assert model.score_offers(
        RankContext(customer_id=None, basket=[]), [offer]
    ).probability.tolist() == [PRIOR_PROBABILITY]
    assert model.recommend_skus(RankContext(customer_id=None, basket=[]), 3) == []


@pytest.fixture(params=LEARNERS)
def serving_model(
    request: pytest.FixtureRequest,
    trained_model: RelevanceModel,
    make_scorer: Callable[[str], Scorer],
) -> RelevanceModel:
    """The trained model scoring with each learner in turn."""
    return RelevanceModel(
        trained_model.index,
        make_scorer(request.param),
        horizon=trained_model.horizon,
        card=trained_model.card,
        feedback=trained_model.feedback,
        offers=trained_model.offers,
        budget=trained_model.budget,
        estimator=trained_model.estimator,  # requests never read it
    )


def _as_placed(context: RankContext) -> RankContext:
    return context


def _unknown_customer(context: RankContext) -> RankContext:
    return msgspec.structs.replace(context, customer_id="never-seen")


def _empty_basket(context: RankContext) -> RankContext:
    return msgspec.structs.replace(context, basket=[])


def _unknown_basket_skus(context: RankContext) -> RankContext:
    basket = [(f"NOT-A-SKU-{i}", *line[1:]) for i, line in enumerate(context.basket)]
    return msgspec.structs.replace(context, basket=basket)


def _batch_scores(
    model: RelevanceModel, context: RankContext, offers: list
) -> tuple[np.ndarray, dict[int, str]]:
    """P(accept) of each offer through the batch path (all candidates scored), the reference,
    and the reason of each offer whose sku was scored there."""
    queries = model.queries_of(context)
    codes = [model.index.sku_code.get(o.sku, -1) if o.kind == "cross_sell" else -1 for o in offers]
    wanted = np.array([code for code in codes if code >= 0], dtype=np.int64)
    candidates = generate(model.index, queries, model.budget, extra=(np.zeros_like(wanted), wanted))
    X = build_features(model.index, queries, candidates, model.horizon)
    probability = model.scorer.predict_proba(X)
    reasons = model._reasons(candidates, float(queries.time[0]))
    expected, reason_of = [], {}
    for i, (offer, code) in enumerate(zip(offers, codes, strict=True)):
        position = int(np.searchsorted(candidates.sku, code))
        if offer.kind == "partner":
            expected.append(
                model.feedback.probability(offer, context) if model.feedback else PRIOR_PROBABILITY
            )
        elif code >= 0 and position < len(candidates.sku) and candidates.sku[position] == code:
            appeal = model.feedback.cross_sell_weights.get(offer.id, 0.0) if model.feedback else 0.0
            expected.append(expit(logit(probability[position]) + appeal))
            reason_of[i] = reasons[position]
        else:
            expected.append(model.scorer.floor)
    return np.array(expected), reason_of


def test_the_one_order_path_gives_the_batch_scores_reasons_and_rankings(
    serving_model: RelevanceModel, order_lines: pd.DataFrame
) -> None:
    """Orders as placed, from unknown customers, with empty baskets or unknown skus,
    offered with a cross-sell of an unknown sku."""
    last = order_lines[order_lines["order_id"].isin(order_lines["order_id"].unique()[-300:])]
    rng = np.random.default_rng(0)
    model = serving_model
    offers = model.offers
    unknown = Offer(id="unknown", kind="cross_sell", title="Unknown", sku="NOT-A-SKU")
    variants = (_as_placed, _unknown_customer, _empty_basket, _unknown_basket_skus)
    for n, (_, order) in enumerate(last.groupby("order_id", sort=False)):
        context = variants[n % len(variants)](
            RankContext(
                customer_id=order["customer_id"].iloc[0],
                basket=[(r.sku, r.category, r.price, r.quantity) for r in order.itertuples()],
                at=order["ordered_at"].iloc[0].to_pydatetime(),
            )
        )
        eligible = [offers[i] for i in rng.choice(len(offers), 12, replace=False)] + [unknown]
        scores = model.score_offers(context, eligible)
        probability, reason_of = _batch_scores(model, context, eligible)
        np.testing.assert_allclose(scores.probability, probability, rtol=1e-12, atol=1e-14)
        assert {i: scores.reasons[i] for i in reason_of} == reason_of
        queries = model.queries_of(context)
        ranked = rank_queries(
            model.scorer, model.index, queries, horizon=model.horizon, k=5, budget=model.budget
        )
        expected = [model.index.skus[code] for code in ranked[0] if code >= 0]
        assert model.recommend_skus(context, 5) == expected
