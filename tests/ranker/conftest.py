"""Factories for the ranker tests: generated shops, trained models, offers and scores."""

from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from threadpoolctl import threadpool_limits

from offers.catalog import Offer, read_offers
from offers.files import read_impressions, read_orders, read_products
from offers.synthetic import generate_shop
from ranker.artifact import save_model
from ranker.interactions import from_lines
from ranker.model import OfferScores, RelevanceModel
from ranker.scorer import Scorer, export_scorer, make_learner
from ranker.train import train, training_set

SHOP_ORDERS = 4_000
SCORER_HORIZON = 30.0


@pytest.fixture(scope="session", autouse=True)
def one_native_thread() -> Iterator[None]:
    """Boosting with OpenMP threads crawls when pytest shares the cores; one thread is steady."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def shop_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated shop: products.csv, orders.csv, offers.json, impressions.csv."""
    directory = tmp_path_factory.mktemp("shop")
    generate_shop(directory, n_orders=SHOP_ORDERS, seed=7)
    return directory


@pytest.fixture(scope="session")
def order_lines(shop_dir: Path) -> pd.DataFrame:
    return read_orders(shop_dir / "orders.csv").lines


@pytest.fixture(scope="session")
def trained_model(shop_dir: Path, order_lines: pd.DataFrame) -> RelevanceModel:
    """A model trained on the small shop, with products, impressions and offers."""
    return train(
        order_lines,
        products=read_products(shop_dir / "products.csv"),
        impressions=read_impressions(shop_dir / "impressions.csv"),
        offers=read_offers(shop_dir / "offers.json"),
    )


@pytest.fixture(scope="session")
def make_scorer(order_lines: pd.DataFrame) -> Callable[[str], Scorer]:
    """An exported scorer of a learner by name, fitted on three quarters of the small
    shop's training rows (horizon ``SCORER_HORIZON``) and calibrated on the rest."""
    X, y, _ = training_set(from_lines(order_lines), SCORER_HORIZON)
    fit = np.arange(len(y)) % 4 > 0

    @cache
    def make(name: str) -> Scorer:
        learner = make_learner(name).fit(X[fit], y[fit])
        calibrated = CalibratedClassifierCV(FrozenEstimator(learner), method="isotonic")
        return export_scorer(calibrated.fit(X[~fit], y[~fit]))

    return make


@pytest.fixture(scope="session")
def model_dir(trained_model: RelevanceModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained model saved as an artifact (treat as read-only; copy before altering)."""
    return save_model(trained_model, tmp_path_factory.mktemp("model"))


@pytest.fixture
def make_offer() -> Callable[..., Offer]:
    """An offer with sensible defaults; keyword arguments override any field."""

    def make(offer_id: str, kind: str = "cross_sell", **fields: object) -> Offer:
        defaults: dict = {"title": offer_id.title()}
        if kind == "cross_sell":
            defaults["sku"] = f"SKU-{offer_id}"
        else:
            defaults["advertiser"] = f"adv-{offer_id}"
        return Offer(id=offer_id, kind=kind, **(defaults | fields))

    return make


@pytest.fixture
def make_scores() -> Callable[..., OfferScores]:
    """OfferScores from lists; values default to 1.0 and reasons to ``reason <i>``."""

    def make(probability: list[float], value: list[float] | None = None) -> OfferScores:
        value = [1.0] * len(probability) if value is None else value
        return OfferScores(
            probability=np.array(probability, dtype=np.float64),
            value=np.array(value, dtype=np.float64),
            reasons=[(f"reason {i}", "") for i in range(len(probability))],
        )

    return make


@pytest.fixture
def make_lines() -> Callable[..., pd.DataFrame]:
    """Order lines from ``(order_id, customer_id, day, sku)`` or ``(..., sku, category)`` tuples.

    ``day`` counts days from 2025-01-01; every line costs 10.0.
    """

    def make(rows: list[tuple]) -> pd.DataFrame:
        records = [
            {
                "order_id": row[0],
                "customer_id": row[1],
                "ordered_at": pd.Timestamp("2025-01-01") + pd.Timedelta(days=row[2]),
                "sku": row[3],
                "quantity": 1,
                "price": 10.0,
                "title": f"Title {row[3]}",
                "category": row[4] if len(row) > 4 else "",
            }
            for row in rows
        ]
        return pd.DataFrame(records).astype({"ordered_at": "datetime64[ns]"})

    return make
