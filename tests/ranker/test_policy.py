"""SelectionPolicy: validated parameters, cap, floor, diversity, exclusions, exploration."""

import numpy as np
import pytest

from ranker.policy import Selection, SelectionPolicy


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({}, id="defaults"),
        pytest.param({"max_offers": 1}, id="one-offer"),
        pytest.param({"max_offers": 5}, id="five-offers"),
        pytest.param({"relevance_floor": 0.0, "value_weight": 1.0}, id="bounds"),
        pytest.param({"max_per_category": None, "max_partner_offers": None}, id="no-limits"),
        pytest.param({"max_partner_offers": 0}, id="no-partners"),
        pytest.param({"exploration_rate": 0.1, "random_state": 3}, id="exploring"),
    ],
)
def test_valid_params_are_stored(params: dict) -> None:
    policy = SelectionPolicy(**params)
    for name, value in params.items():
        assert getattr(policy, name) == value


@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param({"max_offers": 0}, "max_offers must be an integer [1, 5], got 0", id="zero"),
        pytest.param(
            {"max_offers": 6}, "max_offers must be an integer [1, 5], got 6", id="above-five"
        ),
        pytest.param(
            {"max_offers": 2.0}, "max_offers must be an integer [1, 5], got 2.0", id="float"
        ),
        pytest.param(
            {"max_offers": True}, "max_offers must be an integer [1, 5], got True", id="bool"
        ),
        pytest.param(
            {"relevance_floor": -0.1},
            "relevance_floor must be a number in [0, 1], got -0.1",
            id="floor",
        ),
        pytest.param(
            {"value_weight": 1.5}, "value_weight must be a number in [0, 1], got 1.5", id="weight"
        ),
        pytest.param(
            {"exploration_rate": float("nan")},
            "exploration_rate must be a number in [0, 1], got nan",
            id="nan",
        ),
        pytest.param(
            {"max_per_category": 0},
            "max_per_category must be an integer >= 1 or None, got 0",
            id="category",
        ),
        pytest.param(
            {"max_partner_offers": -1},
            "max_partner_offers must be an integer >= 0 or None, got -1",
            id="partner",
        ),
    ],
)
def test_invalid_params_raise_a_value_error_naming_the_argument(params: dict, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        SelectionPolicy(**params)
    assert str(caught.value) == message


def test_cap_keeps_the_best_offers_in_order(make_offer, make_scores) -> None:
    offers = [make_offer(f"o{i}", category=f"c{i}") for i in range(5)]
    scores = make_scores([0.1, 0.5, 0.3, 0.4, 0.2])
    chosen = SelectionPolicy(max_offers=3, value_weight=0.0).select(offers, scores)
    assert [s.index for s in chosen] == [1, 3, 2]
    assert chosen[0] == Selection(
        index=1, score=0.5, probability=0.5, propensity=1.0, reason=("reason 1", "")
    )


def test_floor_leaves_an_irrelevant_order_with_no_offers(make_offer, make_scores) -> None:
    offers = [make_offer("a"), make_offer("b", kind="partner")]
    assert SelectionPolicy(relevance_floor=0.05).select(offers, make_scores([0.01, 0.049])) == []


def test_floor_gives_fewer_offers_than_the_cap(make_offer, make_scores) -> None:
    offers = [make_offer(f"o{i}", category=f"c{i}") for i in range(4)]
    chosen = SelectionPolicy(max_offers=3, relevance_floor=0.05).select(
        offers, make_scores([0.2, 0.01, 0.06, 0.04])
    )
    assert [s.index for s in chosen] == [0, 2]


def test_expected_value_outranks_relevance_when_value_weight_is_one(
    make_offer, make_scores
) -> None:
    offers = [make_offer("cheap", category="a"), make_offer("dear", category="b")]
    scores = make_scores([0.3, 0.2], value=[1.0, 10.0])
    by_value = SelectionPolicy(value_weight=1.0).select(offers, scores)
    by_relevance = SelectionPolicy(value_weight=0.0).select(offers, scores)
    assert [s.index for s in by_value] == [1, 0]
    assert [s.index for s in by_relevance] == [0, 1]
    assert by_value[0].score == pytest.approx(0.2)
    assert by_value[1].score == pytest.approx(0.03)


def test_never_shows_a_basket_sku_or_an_excluded_offer(make_offer, make_scores) -> None:
    offers = [
        make_offer("a", sku="S1", category="x"),
        make_offer("b", sku="S2", category="y"),
        make_offer("c", sku="S3", category="z"),
    ]
    chosen = SelectionPolicy().select(
        offers, make_scores([0.9, 0.8, 0.7]), basket_skus={"S1"}, excluded_offer_ids={"b"}
    )
    assert [s.index for s in chosen] == [2]


@pytest.mark.parametrize(
    ("offers", "params", "expected"),
    [
        pytest.param(
            [("a", {"sku": "S1"}), ("b", {"sku": "S1"}), ("c", {"sku": "S2"})],
            {"max_per_category": None},
            [0, 2],
            id="one-per-sku",
        ),
        pytest.param(
            [
                ("a", {"kind": "partner", "advertiser": "A"}),
                ("b", {"kind": "partner", "advertiser": "A"}),
                ("c", {"kind": "partner", "advertiser": "B"}),
            ],
            {"max_partner_offers": None, "max_per_category": None},
            [0, 2],
            id="one-per-advertiser",
        ),
        pytest.param(
            [
                ("a", {"kind": "partner", "advertiser": "Shieldly"}),
                ("b", {"kind": "partner", "advertiser": " shieldly "}),
                ("c", {"kind": "partner", "advertiser": "B"}),
            ],
            {"max_partner_offers": None, "max_per_category": None},
            [0, 2],
            id="one-per-advertiser-however-spelt",
        ),
        pytest.param(
            [
                ("a", {"category": "shoes"}),
                ("b", {"category": "shoes"}),
                ("c", {"category": "socks"}),
            ],
            {"max_per_category": 1},
            [0, 2],
            id="one-per-category",
        ),
        pytest.param(
            [
                ("a", {"category": "shoes"}),
                ("b", {"category": "shoes"}),
                ("c", {"category": "socks"}),
            ],
            {"max_per_category": 2},
            [0, 1, 2],
            id="two-per-category",
        ),
        pytest.param(
            [("a", {"kind": "partner"}), ("b", {"kind": "partner"}), ("c", {})],
            {"max_partner_offers": 1, "max_per_category": None},
            [0, 2],
            id="one-partner",
        ),
        pytest.param(
            [("a", {"kind": "partner"}), ("b", {})],
            {"max_partner_offers": 0},
            [1],
            id="no-partner",
        ),
        pytest.param(
            [("a", {}), ("b", {}), ("c", {})],
            {"max_per_category": 1},
            [0, 1, 2],
            id="empty-category-is-not-limited",
        ),
    ],
)
def test_diversity_rules(
    offers: list, params: dict, expected: list[int], make_offer, make_scores
) -> None:
    built = [make_offer(offer_id, **fields) for offer_id, fields in offers]
    scores = make_scores([0.9 - 0.1 * i for i in range(len(built))])
    chosen = SelectionPolicy(max_offers=5, value_weight=0.0, **params).select(built, scores)
    assert [s.index for s in chosen] == expected


def test_exploration_returns_the_propensity_of_each_choice(make_offer, make_scores) -> None:
    offers = [make_offer(f"o{i}", category=f"c{i}") for i in range(4)]
    scores = make_scores([0.4, 0.3, 0.2, 0.1])
    policy = SelectionPolicy(max_offers=1, value_weight=0.0, exploration_rate=0.2, random_state=0)
    picks = [policy.select(offers, scores)[0] for _ in range(2_000)]
    share_best = np.mean([s.index == 0 for s in picks])
    assert sorted({round(s.propensity, 12) for s in picks}) == [0.05, 0.85]
    assert all(s.propensity == pytest.approx(0.85) for s in picks if s.index == 0)
    assert share_best == pytest.approx(0.85, abs=0.03)


@pytest.mark.parametrize(
    "categories",
    [
        pytest.param(["c0", "c1", "c2", "c3", "c4"], id="five-candidates"),
        pytest.param(["c0", "c1"], id="fewer-candidates-than-slots"),
        pytest.param(["shared", "shared", "c2", "c3"], id="diversity-rules"),
    ],
)
def test_propensities_are_how_often_an_offer_lands_in_its_position(
    make_offer, make_scores, categories
) -> None:
    offers = [make_offer(f"o{i}", category=c) for i, c in enumerate(categories)]
    scores = make_scores([0.5 - 0.1 * i for i in range(len(offers))])
    policy = SelectionPolicy(max_offers=3, exploration_rate=0.3, random_state=0)
    runs = 20_000
    landed: dict[tuple[int, int], int] = {}
    returned: dict[tuple[int, int], float] = {}
    for _ in range(runs):
        for position, s in enumerate(policy.select(offers, scores)):
            landed[position, s.index] = landed.get((position, s.index), 0) + 1
            returned.setdefault((position, s.index), s.propensity)
    assert returned.keys() == landed.keys()
    for key, propensity in returned.items():
        assert landed[key] / runs == pytest.approx(propensity, abs=0.015), key


def test_with_no_value_anywhere_value_weight_one_still_ranks_by_relevance(
    make_offer, make_scores
) -> None:
    offers = [make_offer("low", category="a"), make_offer("high", category="b")]
    chosen = SelectionPolicy(max_offers=1, value_weight=1.0).select(
        offers, make_scores([0.03, 0.9], value=[0.0, 0.0])
    )
    assert [s.index for s in chosen] == [1]


def test_exploration_is_reproducible_with_a_seed(make_offer, make_scores) -> None:
    offers = [make_offer(f"o{i}", category=f"c{i}") for i in range(6)]
    scores = make_scores([0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
    runs = [
        [
            s.index
            for _ in range(20)
            for s in SelectionPolicy(exploration_rate=0.5, random_state=42).select(offers, scores)
        ]
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


def test_no_offers_selects_nothing(make_scores) -> None:
    assert SelectionPolicy().select([], make_scores([])) == []


def test_a_policy_prints_as_the_call_that_makes_it():
    policy = SelectionPolicy(max_offers=2, relevance_floor=0.1, max_per_category=None)

    assert repr(policy) == (
        "SelectionPolicy(max_offers=2, relevance_floor=0.1, value_weight=0.5, "
        "max_per_category=None, max_partner_offers=1, exploration_rate=0.0, random_state=None)"
    )
    assert repr(eval(repr(policy))) == repr(policy)
