"""The synthetic shop: DESIGN.md formats, determinism, and structure a model can learn."""

import errno
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from offers.catalog import read_offers
from offers.files import read_impressions, read_orders, read_products
from offers.synthetic import ShopSummary, generate_shop
from offers.synthetic import shop as shop_module
from offers.synthetic.feedback_log import _draw_slates, _position_marginals
from widget import cli

N_ORDERS = 2_000
SEED = 7
FILES = ("products.csv", "orders.csv", "offers.json", "impressions.csv")
ORDER_COLUMNS = [
    "order_id", "customer_id", "ordered_at", "sku", "quantity", "price",
    "title", "category", "country", "currency", "device",
]  # fmt: skip
PRODUCT_COLUMNS = ["sku", "title", "category", "price", "image_url", "url", "margin"]
IMPRESSION_COLUMNS = [
    "request_id", "shown_at", "customer_id", "placement", "offer_id", "position",
    "propensity", "clicked", "converted",
    "ctx_country", "ctx_device", "ctx_segment", "ctx_order_total", "ctx_is_returning",
]  # fmt: skip
# (anchor type, a type designed to go with it), from the generator's catalog
COMPLEMENTS = [
    ("Inkjet Printer", "Ink Cartridge"),
    ("Espresso Machine", "Espresso Beans"),
    ("Pod Coffee Maker", "Coffee Pods"),
    ("Action Camera", "Memory Card"),
    ("Mirrorless Camera", "Memory Card"),
    ("Smartphone", "Phone Case"),
    ("Laptop", "Wireless Mouse"),
    ("Dog Crate", "Dog Food"),
    ("Tent", "Sleeping Bag"),
    ("Game Console", "Controller"),
]
# consumable type -> days one unit lasts, as the module docstring states them
CYCLE_DAYS = {
    "Espresso Beans": 30,
    "Coffee Pods": 21,
    "Ink Cartridge": 60,
    "Diapers": 21,
    "Dog Food": 30,
    "Cat Litter": 21,
    "Protein Powder": 30,
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[ShopSummary, Path]:
    folder = tmp_path_factory.mktemp("shop")
    return generate_shop(folder, n_orders=N_ORDERS, seed=SEED), folder


@pytest.fixture(scope="module")
def orders(shop: tuple[ShopSummary, Path]) -> pd.DataFrame:
    return pd.read_csv(shop[1] / "orders.csv", dtype={"order_id": str, "customer_id": str})


@pytest.fixture(scope="module")
def purchases(shop: tuple[ShopSummary, Path], orders: pd.DataFrame) -> pd.DataFrame:
    """Purchase lines with their product type and time."""
    products = pd.read_csv(shop[1] / "products.csv")
    lines = orders[orders["quantity"] > 0].merge(products[["sku", "product_type"]], on="sku")
    return lines.assign(at=pd.to_datetime(lines["ordered_at"]))


def test_writes_the_four_files_with_the_design_columns(shop):
    summary, folder = shop
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    assert summary.paths == {name.split(".")[0]: folder / name for name in FILES}
    assert list(pd.read_csv(folder / "orders.csv", nrows=1).columns) == ORDER_COLUMNS
    assert list(pd.read_csv(folder / "products.csv", nrows=1).columns)[:7] == PRODUCT_COLUMNS
    impressions = pd.read_csv(folder / "impressions.csv", nrows=1)
    assert list(impressions.columns)[: len(IMPRESSION_COLUMNS)] == IMPRESSION_COLUMNS


def test_summary_counts_what_was_written(shop, orders):
    summary, folder = shop
    assert summary.n_orders == orders["order_id"].nunique() == N_ORDERS
    assert summary.n_order_lines == len(orders)
    assert summary.n_customers == orders["customer_id"].nunique()
    assert summary.n_products == len(pd.read_csv(folder / "products.csv"))
    assert summary.n_offers == len(json.loads((folder / "offers.json").read_text()))
    assert summary.n_impressions == len(pd.read_csv(folder / "impressions.csv"))
    assert 300 <= summary.n_products <= 2_000
    assert 2.0 <= (orders["quantity"] > 0).sum() / N_ORDERS <= 3.0


def test_the_readers_accept_every_row(shop):
    folder = shop[1]
    orders = read_orders(folder / "orders.csv")
    assert not orders.skipped
    assert len(orders.lines) + len(orders.returns) == orders.n_read
    assert not read_products(folder / "products.csv").attrs["skipped"]
    assert not read_impressions(folder / "impressions.csv").attrs["skipped"]
    assert len(read_offers(folder / "offers.json")) == shop[0].n_offers


def test_ids_and_timestamps_look_real(orders):
    assert orders["order_id"].str.fullmatch(r"O\d{7}").all()
    assert orders["customer_id"].str.fullmatch(r"C\d{6}").all()
    assert orders["sku"].str.fullmatch(r"SKU-\d{5}").all()
    assert orders["ordered_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    assert orders["ordered_at"].min() >= "2025-11-01" and orders["ordered_at"].max() < "2026-11-01"


def test_offers_are_cross_sells_of_real_skus_and_partner_offers(shop):
    folder = shop[1]
    offers = json.loads((folder / "offers.json").read_text())
    skus = set(pd.read_csv(folder / "products.csv")["sku"])
    cross_sells = [o for o in offers if o["kind"] == "cross_sell"]
    partners = [o for o in offers if o["kind"] == "partner"]
    assert len(cross_sells) + len(partners) == len(offers)
    assert 50 <= len(cross_sells) <= 150
    assert all(o["sku"] in skus for o in cross_sells)
    assert 5 <= len({o["advertiser"] for o in partners}) <= 8
    assert all(o["value"] > 0 for o in partners)
    assert {o["status"] for o in offers} == {"active", "paused"}
    assert any(o.get("ends_at", "9999") < "2026-10-31" for o in offers)


def test_the_same_seed_gives_identical_files(shop, tmp_path):
    again = generate_shop(tmp_path, n_orders=N_ORDERS, seed=SEED, progress=True)
    assert again.n_order_lines == shop[0].n_order_lines
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (shop[1] / name).read_bytes(), name


def test_another_seed_gives_different_files(shop, tmp_path):
    generate_shop(tmp_path, n_orders=N_ORDERS, seed=SEED + 1)
    for name in FILES:
        assert (tmp_path / name).read_bytes() != (shop[1] / name).read_bytes(), name


@pytest.mark.parametrize("n_orders", [1, 333])
def test_writes_exactly_the_orders_asked_for(tmp_path, n_orders):
    summary = generate_shop(tmp_path, n_orders=n_orders, seed=1)
    orders = pd.read_csv(tmp_path / "orders.csv")
    assert summary.n_orders == orders["order_id"].nunique() == n_orders


@pytest.mark.parametrize(
    ("n_orders", "seed"), list(itertools.product(range(1, 7), [0, 2, 3, 4, 5])), ids=str
)
def test_a_shop_of_a_few_orders_gives_readable_files(tmp_path, n_orders, seed):
    summary = generate_shop(tmp_path, n_orders=n_orders, seed=seed)

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    assert read_orders(tmp_path / "orders.csv").lines["order_id"].nunique() == n_orders
    assert len(read_products(tmp_path / "products.csv")) == summary.n_products
    assert len(read_offers(tmp_path / "offers.json")) == summary.n_offers
    assert len(read_impressions(tmp_path / "impressions.csv")) == summary.n_impressions


def test_a_shop_where_no_order_opens_an_offer_request_logs_just_the_header(tmp_path):
    summary = generate_shop(tmp_path, n_orders=1, seed=0)

    assert summary.n_impressions == 0
    header = ",".join([*IMPRESSION_COLUMNS, "ctx_order_id"]) + "\n"
    assert (tmp_path / "impressions.csv").read_text() == header


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(["--seed", "-1"], "--seed must be at least 0, got -1", id="negative-seed"),
        pytest.param(
            ["--orders", "0"], "--orders must be between 1 and 2,000,000, got 0", id="no-orders"
        ),
        pytest.param(
            ["--orders", "99999999999"],
            "--orders must be between 1 and 2,000,000, got 99999999999",
            id="more-than-memory-holds",
        ),
    ],
)
def test_a_bad_generate_argument_is_one_line_and_exit_2_and_creates_nothing(
    tmp_path, capsys, options, message
):
    status = cli.main(["generate", "--out", str(tmp_path / "new" / "shop"), *options])

    assert status == 2
    assert capsys.readouterr().err == f"encore generate: error: {message}\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["generate"], ["train", "--orders", "orders.csv"]])
def test_an_empty_out_path_is_refused_not_read_as_the_current_folder(
    capsys, monkeypatch, tmp_path, command
):
    monkeypatch.chdir(tmp_path)  # where a mistaken run would write
    with pytest.raises(SystemExit) as exited:
        cli.main([*command, "--out", ""])

    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith("argument --out: an empty path")


@pytest.mark.parametrize(
    ("n_orders", "seed"), [(0, 1), (1, -1)], ids=["no-orders", "negative-seed"]
)
def test_generate_shop_refuses_bad_arguments_before_creating_the_folder(tmp_path, n_orders, seed):
    with pytest.raises(ValueError, match="must be at least"):
        generate_shop(tmp_path / "shop", n_orders=n_orders, seed=seed)

    assert not (tmp_path / "shop").exists()


def _fail_writing_impressions(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    """Writing impressions.csv raises ``error``, after products.csv and orders.csv were written."""
    write_csv = shop_module.write_csv

    def failing(path: Path, columns: dict, *args: object) -> int:
        if "impressions" in path.name:
            raise error
        return write_csv(path, columns, *args)

    monkeypatch.setattr(shop_module, "write_csv", failing)


def test_a_failed_generate_leaves_no_new_folder_behind(tmp_path, capsys, monkeypatch):
    shop = tmp_path / "new" / "shop"
    _fail_writing_impressions(
        monkeypatch, OSError(errno.ENOSPC, "No space left on device", str(shop / "x"))
    )

    status = cli.main(["generate", "--out", str(shop), "--orders", "50"])

    assert status == 2
    assert capsys.readouterr().err == (
        f"encore generate: error: {shop / 'x'}: No space left on device\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_failed_generate_leaves_the_shop_already_there_as_it_was(tmp_path, monkeypatch):
    generate_shop(tmp_path, n_orders=50, seed=1)
    before = {name: (tmp_path / name).read_bytes() for name in FILES}
    (tmp_path / "notes.txt").write_text("mine")
    _fail_writing_impressions(monkeypatch, KeyboardInterrupt())

    with pytest.raises(KeyboardInterrupt):
        generate_shop(tmp_path, n_orders=60, seed=2)

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*FILES, "notes.txt"])
    assert {name: (tmp_path / name).read_bytes() for name in FILES} == before


def test_anchors_bring_their_complements_in_the_same_or_the_next_order(purchases):
    baskets = (
        purchases.groupby("order_id")
        .agg(customer=("customer_id", "first"), at=("at", "first"), types=("product_type", set))
        .sort_values(["customer", "at"])
    )
    later = baskets.groupby("customer")["types"].shift(-1)
    later = later.map(lambda types: types if isinstance(types, set) else set())  # last orders
    now_or_next = [now | then for now, then in zip(baskets["types"], later, strict=True)]
    hits = expected = n_anchors = 0
    for anchor, complement in COMPLEMENTS:
        with_anchor = np.array([anchor in types for types in baskets["types"]])
        has_complement = np.array([complement in types for types in now_or_next])
        hits += has_complement[with_anchor].sum()
        expected += with_anchor.sum() * has_complement.mean()
        n_anchors += with_anchor.sum()
    assert n_anchors >= 50
    assert hits / expected > 5  # lift far above 1


def test_consumables_are_bought_again_after_their_cycle(purchases):
    lines = purchases[purchases["product_type"].isin(list(CYCLE_DAYS))]
    lines = lines.sort_values(["customer_id", "sku", "at"])
    same = lines.groupby(["customer_id", "sku"])
    gap_days = same["at"].diff().dt.total_seconds() / 86_400
    lasted = same["quantity"].shift() * lines["product_type"].map(CYCLE_DAYS)
    ratio = (gap_days / lasted).dropna()
    assert len(ratio) >= 100
    assert 0.85 <= ratio.median() <= 1.15
    assert ratio.quantile(0.75) - ratio.quantile(0.25) < 0.5


def test_about_five_percent_of_rows_are_returns_of_earlier_purchases(orders):
    returns = orders[orders["quantity"] < 0]
    assert 0.03 <= len(returns) / len(orders) <= 0.07
    bought = orders[orders["quantity"] > 0]
    matched = returns.merge(bought, on=["order_id", "sku"], suffixes=("", "_bought"))
    assert len(matched) == len(returns)
    assert (matched["quantity"] == -matched["quantity_bought"]).all()
    assert (matched["ordered_at"] > matched["ordered_at_bought"]).all()


def test_the_feedback_log_is_well_formed(shop, orders):
    folder = shop[1]
    log = pd.read_csv(folder / "impressions.csv", dtype={"ctx_order_id": str})
    assert len(log) > 0
    assert ((log["propensity"] > 0) & (log["propensity"] <= 1)).all()
    assert set(log["clicked"]) == {0, 1}
    assert set(log["converted"]) <= {0, 1}
    assert (log["converted"] <= log["clicked"]).all()
    positions = log.groupby("request_id")["position"].agg(list)
    assert positions.map(lambda p: p == [1, 2, 3][: len(p)]).all()
    assert not log.duplicated(["request_id", "offer_id"]).any()
    offer_ids = {o["id"] for o in json.loads((folder / "offers.json").read_text())}
    assert set(log["offer_id"]) <= offer_ids
    ordered_at = orders.groupby("order_id")["ordered_at"].min()
    assert (log["shown_at"].to_numpy() > ordered_at[log["ctx_order_id"]].to_numpy()).all()


def _enumerated_marginals(w: np.ndarray, epsilon: float) -> np.ndarray:
    """P(position, candidate) by walking every ordered choice of the first three."""
    eligible = [i for i in range(len(w)) if w[i] > 0]
    marginal = np.zeros((3, len(w)))
    for ranking in itertools.permutations(eligible, min(3, len(eligible))):
        left, probability = list(eligible), 1.0
        for item in ranking:
            weight_left = sum(w[i] for i in left)
            probability *= (1 - epsilon) * w[item] / weight_left + epsilon / len(left)
            left.remove(item)
        for position, item in enumerate(ranking):
            marginal[position, item] += probability
    return marginal


@pytest.mark.parametrize(
    ("weights", "epsilon"),
    [
        pytest.param([3.0, 1.0, 33.0, 2.5, 7.0, 0.0], 0.1, id="five-and-padding"),
        pytest.param([1.0, 1.0, 1.0, 1.0], 0.1, id="uniform"),
        pytest.param([41.0, 1.0, 1.0], 0.0, id="no-exploration"),
        pytest.param([5.0, 2.0, 0.0, 0.0], 0.5, id="two-left"),
        pytest.param([9.0, 0.0], 0.1, id="one"),
    ],
)
def test_propensities_are_the_exact_position_marginals(weights, epsilon):
    w = np.array(weights)
    computed = _position_marginals(w[None, :], epsilon)[:, 0, :]
    np.testing.assert_allclose(computed, _enumerated_marginals(w, epsilon), atol=1e-12)


def test_the_logging_policy_samples_what_its_propensities_say():
    w = np.tile([3.0, 1.0, 33.0, 2.5, 7.0, 1.5, 0.0], (100_000, 1))
    chosen = _draw_slates(np.random.default_rng(0), w, 0.1)
    observed = np.stack([np.bincount(chosen[:, p], minlength=w.shape[1]) for p in range(3)])
    expected = _position_marginals(w[:1], 0.1)[:, 0, :]
    np.testing.assert_allclose(observed / len(w), expected, atol=0.006)
